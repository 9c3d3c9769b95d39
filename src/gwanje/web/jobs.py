"""Background jobs of the web app: passes that run every few seconds while it serves.

Each job is a use case that opens its own unit of work; what it records is published by the unit of
work after commit, so the loop only schedules and survives transient errors.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from gwanje.access.service import flag_overdue
from gwanje.audit.service import checkpoint_if_due
from gwanje.center.presence.service import evaluate_staffing_job
from gwanje.core.db import Database
from gwanje.policy.model import Policy
from gwanje.registry import spatial
from gwanje.situations.service import escalate_overdue

log = logging.getLogger(__name__)

# Incidents nobody acknowledged in time go to the next role; overdue documents and results alert;
# the audit chain gets a signed checkpoint every GWANJE_AUDIT_CHECKPOINT_SECONDS; the staffing rules are
# evaluated against presence (a gap past its grace raises staffing_gap).
PERIODIC_JOBS = (escalate_overdue, flag_overdue, checkpoint_if_due, evaluate_staffing_job)


async def periodic_loop(app: FastAPI) -> None:
    """Run every periodic job each ``settings.escalation_seconds``: in one process at a time among all
    that share the database (several ``gwanje serve`` workers or instances), so that an incident is
    escalated once and a deadline alerted once."""
    while True:
        await asyncio.sleep(app.state.settings.escalation_seconds)
        try:
            await run_in_threadpool(run_periodic_pass, app.state.db, app.state.policy)
        except Exception:
            log.exception("background pass failed")


def run_periodic_pass(db: Database, policy: Policy) -> bool:
    """One pass of every periodic job, unless another process is running one; says whether it ran."""
    with db.exclusive("gwanje.periodic") as mine:
        if not mine:
            return False
        for job in PERIODIC_JOBS:
            try:
                job(db, policy)
            except Exception:
                log.exception("background job %s failed", job.__name__)
        return True


def start_periodic(app: FastAPI) -> asyncio.Task | None:
    if not app.state.settings.escalation_seconds:
        return None
    return asyncio.create_task(periodic_loop(app))


def _warm_spatial() -> None:
    try:
        spatial.warm_up()
    except Exception:
        log.exception("could not prepare the nearest-camera kernels")


def warm_up_in_background() -> None:
    """Compile the nearest-camera kernels off the request path (seconds on a fresh machine)."""
    threading.Thread(target=_warm_spatial, name="spatial-warmup", daemon=True).start()
