"""Console page of the video ledgers (use, provision, viewing, destruction): filtered by kind and
KST days, with XLSX and PDF downloads of the same filter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from gwanje.access import pages
from gwanje.access.choices import LedgerKind
from gwanje.access.ledger import rules, service
from gwanje.access.ledger.schemas import LedgerEntryRead
from gwanje.access.models import LedgerEntry
from gwanje.access.pages import LEDGER
from gwanje.core.errors import DomainError
from gwanje.http.deps import PolicyDep, Principal, requires
from gwanje.policy.model import Policy
from gwanje.ui.forms import parse_kst_day
from gwanje.ui.i18n import Translator
from gwanje.ui.render import translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

LedgerReader = Annotated[Principal, Depends(requires(LEDGER))]

LEDGER_PAGE = 1000


REFERENCE_KEYS = ("incident", "provision", "subject_request", "recording", "export")


def _row(policy: Policy, tr: Translator, e: LedgerEntry) -> dict:
    """One row as the page shows it: the stored record, with its legal ground, organisation and
    reference in the page's language."""
    row = LedgerEntryRead.of(e).model_dump()
    row["legal_ground"] = rules.legal_ground_shown(policy, e.legal_ground, tr.lang)
    row["recipient_organisation"] = rules.organisation_shown(policy, e.recipient_organisation, tr.lang)
    ref = None
    if e.reference_type in REFERENCE_KEYS:
        ref = tr(f"video.ledger.ref.{e.reference_type}", id=e.reference_id)
    elif e.reference_type:
        ref = f"{e.reference_type} {e.reference_id or ''}".strip()
    row["reference"] = ref
    row["audit"] = tr("video.ledger.ref.audit", seq=e.audit_seq) if e.audit_seq else None
    return row


def ledger_context(
    session: Session,
    policy: Policy,
    tr: Translator,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
) -> dict:
    entries = service.list_entries(session, kind=kind, since=since, until=until, limit=LEDGER_PAGE)
    return {"rows": [_row(policy, tr, e) for e in entries]}


@router.get("/ledgers")
async def ledgers_page(request: Request, principal: LedgerReader, policy: PolicyDep) -> Response:
    """The video ledgers, filtered, with XLSX and PDF downloads."""
    q = request.query_params
    kind = q.get("kind") if q.get("kind") in LedgerKind else None
    since_text, until_text = (q.get("since") or "")[:10], (q.get("until") or "")[:10]
    error = None
    try:
        since = parse_kst_day(since_text, "since")
        until = parse_kst_day(until_text, "until", end=True)
    except DomainError as exc:
        since = until = None
        since_text = until_text = ""
        error = pages.error_view(policy, translator(request), exc)
    export = {
        k: v
        for k, v in (("kind", kind), ("since", since and since.isoformat()), ("until", until and until.isoformat()))
        if v
    }
    query = urlencode(export)
    return await pages.page(
        request,
        principal,
        "access/ledgers.html",
        "/ledgers",
        lambda session: ledger_context(session, policy, translator(request), kind, since, until),
        status_code=422 if error else 200,
        error=error,
        limit=LEDGER_PAGE,
        filters={"kind": kind or "", "since": since_text, "until": until_text},
        xlsx_url="/api/ledgers/export.xlsx" + (f"?{query}" if query else ""),
        pdf_url="/api/ledgers/export.pdf" + (f"?{query}" if query else ""),
    )
