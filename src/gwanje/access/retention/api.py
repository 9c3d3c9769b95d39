"""Retention hold routes: place, list and release holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gwanje.access.deps import RequestId
from gwanje.access.retention import service
from gwanje.access.retention.schemas import HoldCreate, HoldRead, HoldRelease
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["access"])

HoldKeeper = Annotated[Principal, Depends(requires("retention.hold"))]


@router.post("/access/holds", status_code=201)
def place_hold(body: HoldCreate, principal: HoldKeeper, db: DB, policy: PolicyDep, rid: RequestId) -> HoldRead:
    hold = service.place_hold(
        db,
        policy,
        principal.user,
        object_type=body.object_type,
        object_id=body.object_id,
        legal_basis=body.legal_basis,
        request_number=body.request_number,
        request_id=rid,
    )
    return HoldRead.of(hold)


@router.get("/access/holds")
def list_holds(principal: HoldKeeper, db: DB, active_only: bool = True) -> list[HoldRead]:
    return [HoldRead.of(h) for h in service.read_holds(db, active_only=active_only)]


@router.post("/access/holds/{hold_id}/release")
def release_hold(
    hold_id: Id, body: HoldRelease, principal: HoldKeeper, db: DB, policy: PolicyDep, rid: RequestId
) -> HoldRead:
    hold = service.release_hold(db, policy, principal.user, hold_id, reason=body.reason, request_id=rid)
    return HoldRead.of(hold)
