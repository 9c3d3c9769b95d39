"""The situation board (상황판): live incidents, the map, and the detail panel to work them.

``/board`` is the control room's board; ``/board/112`` is the police 112 situation room's view of
the same map (Art. 9 ⑤). What each person sees is decided by the server (the live feed and the
incident API filter by role); the 112 page only narrows the list to incidents routed to the
organisations that dispatch 112 patrols and labels itself, so that a supervisor of the center can
see exactly what the 112 room sees.

The page is static HTML plus ``static/js/board.js``: the script opens ``WS /api/live`` and calls
the JSON API (``/api/incidents/...``) with the session's CSRF token for actions and SOP steps.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gwanje.access import service as access
from gwanje.core.clock import format_kst, utcnow
from gwanje.core.db import Database
from gwanje.http.deps import DB, PolicyDep, Principal
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.situations import live, rules, service, titles
from gwanje.situations.choices import IncidentAction, IncidentStatus
from gwanje.situations.deps import Reader
from gwanje.ui.i18n import Translator
from gwanje.ui.render import CSP, is_htmx_partial, render, translator

router = APIRouter(include_in_schema=False)

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

TEXT_KEYS = (
    "board.live.connecting",
    "board.live.open",
    "board.live.closed",
    "board.live.forbidden",
    "board.empty",
    "board.select_hint",
    "board.actions",
    "board.unit",
    "board.unit_required",
    "board.note",
    "board.sop",
    "board.sop.done",
    "board.sop.skipped",
    "board.sop.tick",
    "board.sop.skip",
    "board.sop.skip_reason",
    "board.sop.required",
    "board.timeline",
    "board.nearby",
    "board.nearby.none",
    "board.nearby.may_open",
    "board.nearby.may_not_open",
    "board.rejected",
    "board.alert",
    "board.error",
    "board.assigned",
    "board.occurred",
    "board.ack_due",
    "board.routing",
    "board.clause",
    "board.recognising",
    "board.responding",
    "board.dispatches",
    "board.no_location",
    "board.finished",
    "board.send",
)


def board_csp(request: Request) -> str:
    """The console's CSP with the live feed's WebSocket origin named explicitly.

    CSP Level 3 lets ``'self'`` cover ws:/wss: on the same host, but older engines do not; the
    host is checked before it goes into the header.
    """
    host = request.headers.get("host", "")
    if not _HOST.match(host):
        return CSP
    return CSP.replace("connect-src 'self'", f"connect-src 'self' ws://{host} wss://{host}")


def board_config(policy: Policy, tr: Translator, principal: Principal, view: str) -> dict[str, Any]:
    role = principal.user.role
    return {
        "view": view,
        "lang": tr.lang,
        "liveUrl": live.PATH,
        "boundaryUrl": "/api/geo/boundary",
        "csrf": principal.csrf_token or "",
        "role": role,
        "canRespond": decisions.role_has_permission(policy, role, "situations.respond").allowed,
        "open": sorted(rules.OPEN),
        # The 112 view lists incidents routed (responsible or responding) to the organisations that
        # dispatch 112 patrols (Art. 10, the policy's duty.dispatch).
        "routedTo": sorted(policy.dispatch.organisations),
        "statuses": {s.code: {"label": tr.label(s.code, IncidentStatus), "colour": s.colour} for s in IncidentStatus},
        "actions": {a.code: tr.label(a.code, IncidentAction) for a in IncidentAction},
        # Actions that finish an incident (false alarm, cancel, close) cannot be undone: the board asks.
        "confirm": {action: tr(f"board.confirm.{action}") for action in rules.FINISHING_ACTIONS},
        "events": {
            "created": tr("board.event.created"),
            "escalated": tr("board.event.escalated"),
            "sop.done": tr("board.event.sop_done"),
            "sop.skipped": tr("board.event.sop_skipped"),
            "camera.attached": tr("board.event.camera_attached"),
        },
        "types": {s.type: (s.en if tr.lang == "en" else s.ko) for s in policy.duty.situations},
        "roles": {r.code: tr.role(r.code) for r in policy.roles},
        "clauses": {c.id: tr.clause(c.id) for c in policy.clauses},
        "organisations": {o.code: tr.organisation(o.code) for o in policy.organisations},
        "text": {key: tr(key) for key in TEXT_KEYS},
    }


def _board(request: Request, principal: Principal, db: Database, policy: Policy, view: str) -> Response:
    config = board_config(policy, translator(request), principal, view)
    legend = [s for s in IncidentStatus if s.code in rules.OPEN]
    # The deadlines this person must act on (Art. 11, PIPA 35) head the incident list.
    alerts = [a.as_dict() for a in access.read_deadline_alerts(db, policy, principal.user)]
    response = render(
        request,
        "situations/board.html",
        principal,
        config=config,
        view=view,
        legend=legend,
        deadline_alerts=alerts,
    )
    response.headers["content-security-policy"] = board_csp(request)
    return response


@router.get("/board")
def situation_board(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    return _board(request, principal, db, policy, "board")


@router.get("/board/112")
def police_112_board(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    return _board(request, principal, db, policy, "112")


def _incident_title(incident: Any, lang: str) -> str:
    """The title in the reader's language, built from the stored message (the row keeps the codes)."""
    try:
        details = json.loads(incident.details or "{}")
    except ValueError:
        details = {}
    return titles.incident_title(incident.title, details if isinstance(details, dict) else {}, lang)


def _loss_count(incident: Any) -> int | None:
    try:
        return int(json.loads(incident.details or "{}").get("missing"))
    except (TypeError, ValueError):
        return None


def _consumer_status(request: Request) -> dict[str, Any] | None:
    """The MQTT consumer running inside this app process (``gwanje serve`` with a broker), if any.
    A consumer in its own process (``gwanje consume``) is not visible from here: None."""
    consumer = getattr(request.app.state, "mqtt_consumer", None)
    if consumer is None:
        return None
    stats = consumer.stats
    return {
        "connected": consumer.connected.is_set(),
        "broker": f"{consumer.config.url.split('@')[-1]}",
        "client_id": consumer.config.client_id,
        **{k: getattr(stats, k) for k in ("received", "stored", "duplicate", "rejected", "acked", "batches")},
        "connects": stats.connects,
        "store_failures": stats.store_failures,
    }


@router.get("/ingest")
def ingest_health_page(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    """Ingest health (수신 상태): what the devices' sequence numbers say never arrived, per device,
    and the message-loss incidents raised for it; the same readers as ``GET /api/ingest/health``.
    An htmx refresh gets the panel alone."""
    user = principal.user
    overview = service.ingest_overview(db, policy, user.role, user.department)
    tr = translator(request)
    context = {
        "overview": overview,
        "status": "loss" if overview.totals["missing"] > 0 else "ok",
        "consumer": _consumer_status(request),
        "kst": format_kst,
        "now": utcnow(),
        "loss_count": _loss_count,
        "status_label": lambda code: tr.label(code, IncidentStatus),
        "incident_title": lambda incident: _incident_title(incident, tr.lang),
        "finished": rules.FINISHED,
    }
    if is_htmx_partial(request):
        return render(request, "situations/_ingest_panel.html", principal, **context)
    return render(request, "situations/ingest.html", principal, **context)


routers = [router]
