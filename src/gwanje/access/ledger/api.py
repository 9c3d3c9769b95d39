"""Ledger routes: list, print (XLSX, PDF) and correct the video ledgers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gwanje.access.deps import RequestId
from gwanje.access.ledger import service
from gwanje.access.ledger.schemas import LedgerCorrectionCreate, LedgerEntryRead
from gwanje.core.clock import to_kst, utcnow
from gwanje.core.schemas import Id, Instant
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["access"])

LedgerReader = Annotated[Principal, Depends(requires("ledger.read"))]
LedgerCorrector = Annotated[Principal, Depends(requires("ledger.correct"))]

Kind = Annotated[Literal["use", "provision", "viewing", "destruction"] | None, Query()]
Since = Annotated[Instant | None, Query()]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_name(kind: str | None, ext: str) -> str:
    """The download's name, dated by the KST day it was printed (the day the operator sees)."""
    return f"video-ledger-{kind or 'all'}-{to_kst(utcnow()):%Y%m%d}.{ext}"


@router.get("/ledgers")
def list_ledger(
    principal: LedgerReader, db: DB, kind: Kind = None, since: Since = None, until: Since = None
) -> list[LedgerEntryRead]:
    return [LedgerEntryRead.of(e) for e in service.read_entries(db, kind=kind, since=since, until=until)]


@router.get(
    "/ledgers/export.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The ledger as a workbook"}},
)
def export_xlsx(
    principal: LedgerReader, db: DB, policy: PolicyDep, kind: Kind = None, since: Since = None, until: Since = None
) -> Response:
    data = service.ledger_xlsx(db, policy, kind=kind, since=since, until=until)
    return Response(
        data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{_export_name(kind, "xlsx")}"'}
    )


@router.get(
    "/ledgers/export.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The ledger, printable"}},
)
def export_pdf(
    principal: LedgerReader, db: DB, policy: PolicyDep, kind: Kind = None, since: Since = None, until: Since = None
) -> Response:
    data = service.ledger_pdf(db, policy, kind=kind, since=since, until=until)
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{_export_name(kind, "pdf")}"'},
    )


@router.post("/ledgers/{entry_id}/corrections", status_code=201)
def correct(
    entry_id: Id, body: LedgerCorrectionCreate, principal: LedgerCorrector, db: DB, policy: PolicyDep, rid: RequestId
) -> LedgerEntryRead:
    """A correction is a new row referring to the corrected one; the original stays as it was."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    row = service.correct_ledger(db, policy, principal.user, entry_id, changes, body.reason, request_id=rid)
    return LedgerEntryRead.of(row)
