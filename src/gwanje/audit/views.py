"""The audit-log page (감사기록): the tamper-evident chain, filtered by actor, action, object, clause and
KST time, newest first and paged, with a button that verifies the whole chain against its signed
checkpoints (the same check as ``GET /api/audit/verify`` and ``gwanje audit verify``).

Who may read it and who may verify it is the policy's ``audit.read`` and ``audit.verify``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from gwanje.audit import service
from gwanje.core.errors import DomainError
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.policy import decisions
from gwanje.ui.forms import kst_input, parse_kst
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

AuditReader = Annotated[Principal, Depends(requires("audit.read"))]
AuditVerifier = Annotated[Principal, Depends(requires("audit.verify"))]

PAGE_SIZE = 50
TEXT_FILTERS = {"actor": 200, "action": 80, "object_type": 40, "object_id": 120, "clause": 60}


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    values = {name: (q.get(name) or "").strip()[:limit] for name, limit in TEXT_FILTERS.items()}
    values["since"] = (q.get("since") or "").strip()[:25]
    values["until"] = (q.get("until") or "").strip()[:25]
    return values


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before") or ""
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def _page(
    request: Request, principal: Principal, db: Any, policy: Any, verification: Any = None, status: int = 200
) -> Response:
    tr = translator(request)
    filters = _filters(request)
    before = _before(request)
    error = None
    rows: list[Any] = []
    more = False
    may_read = decisions.role_has_permission(policy, principal.user.role, "audit.read").allowed
    if may_read:
        try:
            since = parse_kst(filters["since"] or None, "since")
            until = parse_kst(filters["until"] or None, "until")
            with db.reading() as session:
                rows = service.read_entries(
                    session,
                    before_seq=before,
                    limit=PAGE_SIZE + 1,
                    since=since,
                    until=until,
                    **{name: filters[name] or None for name in TEXT_FILTERS},
                )
        except DomainError as exc:
            error = exc.message_en if tr.lang == "en" else exc.message_ko
            status = 422
            rows = []
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
    kept = {k: v for k, v in filters.items() if v}
    next_url = "/audit?" + urlencode({**kept, "before": rows[-1].seq}) if more and rows else None
    return render(
        request,
        "audit/log.html",
        principal,
        status,
        rows=rows,
        filters=filters,
        error=error,
        next_url=next_url,
        first_url=("/audit?" + urlencode(kept)) if before else None,
        may_read=may_read,
        may_verify=decisions.role_has_permission(policy, principal.user.role, "audit.verify").allowed,
        verification=verification,
        clauses=policy.clauses,
        kst_input=kst_input,
    )


@router.get("/audit")
def audit_page(request: Request, principal: AuditReader, db: DB, policy: PolicyDep) -> Response:
    """The chain, newest first, filtered and paged."""
    return _page(request, principal, db, policy)


@router.get("/audit/verify")
def audit_verify_page(request: Request, principal: AuditVerifier, db: DB, policy: PolicyDep) -> Response:
    """Verify every row, its HMAC and every signed checkpoint; the page shows the result."""
    with db.reading() as session:
        verification = service.verify(session)
    return _page(request, principal, db, policy, verification)


routers = [router]
