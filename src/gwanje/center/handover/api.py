"""Duty-log and handover routes: open a shift's log, write entries, sign it, prepare, offer, withdraw
and acknowledge its handover, and read them (with ``intact`` recomputed on every read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gwanje.access.deps import RequestId
from gwanje.center.handover import service
from gwanje.center.handover.schemas import (
    DutyLogCreate,
    DutyLogRead,
    EntryCreate,
    EntryRead,
    HandoverAcknowledge,
    HandoverCreate,
    HandoverRead,
)
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api/center", tags=["center"])

Writer = Annotated[Principal, Depends(requires("duty_log.write"))]
Reader = Annotated[Principal, Depends(requires("duty_log.read"))]


@router.post("/duty-logs", status_code=201)
def open_log(body: DutyLogCreate, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> DutyLogRead:
    """A shift leader opens the log of a shift of their own organisation."""
    log = service.open_log(
        db,
        policy,
        principal.user,
        team=body.team,
        period_start=body.period_start,
        period_end=body.period_end,
        members=list(body.members),
        request_id=rid,
    )
    return DutyLogRead.of(service.read_log(db, policy, principal.user, log.id))


@router.get("/duty-logs")
def list_logs(
    principal: Reader, db: DB, policy: PolicyDep, status: Annotated[str | None, Query(max_length=20)] = None
) -> list[DutyLogRead]:
    return [DutyLogRead.of(v) for v in service.read_logs(db, policy, principal.user, status=status)]


@router.get("/duty-logs/{log_id}")
def get_log(log_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> DutyLogRead:
    """The log with ``signed_hash`` and ``intact`` (its content hashed again now, against the audit chain)."""
    return DutyLogRead.of(service.read_log(db, policy, principal.user, log_id))


@router.post("/duty-logs/{log_id}/entries", status_code=201)
def add_entry(log_id: Id, body: EntryCreate, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> EntryRead:
    """409 once the log is signed; 403 for another organisation's log."""
    e = service.add_entry(
        db, policy, principal.user, log_id, text=body.text, incident_id=body.incident_id, request_id=rid
    )
    return EntryRead(id=e.id, at=e.at, author_name=e.author_name, text=e.text, incident_id=e.incident_id)


@router.post("/duty-logs/{log_id}/sign")
def sign_log(log_id: Id, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> DutyLogRead:
    service.sign_log(db, policy, principal.user, log_id, request_id=rid)
    return DutyLogRead.of(service.read_log(db, policy, principal.user, log_id))


@router.post("/duty-logs/{log_id}/handover", status_code=201)
def prepare_handover(
    log_id: Id, body: HandoverCreate, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId
) -> HandoverRead:
    """Gather the open incidents, pending deadlines and notes (before signing: the signature covers them)."""
    h = service.prepare_handover(db, policy, principal.user, log_id, notes=list(body.notes), request_id=rid)
    return HandoverRead.of(service.read_handover(db, policy, principal.user, h.id))


@router.get("/handovers/{handover_id}")
def get_handover(handover_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> HandoverRead:
    return HandoverRead.of(service.read_handover(db, policy, principal.user, handover_id))


@router.post("/handovers/{handover_id}/offer")
def offer(handover_id: Id, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> HandoverRead:
    service.offer_handover(db, policy, principal.user, handover_id, request_id=rid)
    return HandoverRead.of(service.read_handover(db, policy, principal.user, handover_id))


@router.post("/handovers/{handover_id}/withdraw")
def withdraw(handover_id: Id, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> HandoverRead:
    service.withdraw_handover(db, policy, principal.user, handover_id, request_id=rid)
    return HandoverRead.of(service.read_handover(db, policy, principal.user, handover_id))


@router.post("/handovers/{handover_id}/acknowledge")
def acknowledge(
    handover_id: Id, body: HandoverAcknowledge, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId
) -> HandoverRead:
    """The incoming shift's leader acknowledges every item (optionally a note per item)."""
    service.acknowledge_handover(
        db,
        policy,
        principal.user,
        handover_id,
        note=body.note,
        item_notes={i.position: i.note for i in body.items},
        request_id=rid,
    )
    return HandoverRead.of(service.read_handover(db, policy, principal.user, handover_id))


routers = [router]
