"""Presence routes: check in and out, who is on duty, training and pledges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gwanje.access.deps import RequestId
from gwanje.center.presence import service
from gwanje.center.presence.schemas import (
    CheckOut,
    OnDutyRead,
    PledgeCreate,
    PledgeRead,
    PresenceRead,
    TrainingCreate,
    TrainingRead,
    TrainingsRead,
    on_duty_read,
)
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.policy import decisions

router = APIRouter(prefix="/api/center", tags=["center"])

Recorder = Annotated[Principal, Depends(requires("center.presence.record", "center.presence.manage"))]
Reader = Annotated[Principal, Depends(requires("center.on_duty.read"))]
TrainingManager = Annotated[Principal, Depends(requires("training.manage"))]


@router.post("/presence/check-in", status_code=201)
def check_in(principal: Recorder, db: DB, policy: PolicyDep, rid: RequestId) -> PresenceRead:
    return PresenceRead.of(service.check_in_self(db, policy, principal.user, request_id=rid))


@router.post("/presence/check-out")
def check_out(body: CheckOut, principal: Recorder, db: DB, policy: PolicyDep, rid: RequestId) -> PresenceRead:
    may_manage = decisions.role_has_permission(policy, principal.user.role, "center.presence.manage").allowed
    return PresenceRead.of(
        service.check_out_account(db, policy, principal.user, body.account_id, may_manage=may_manage, request_id=rid)
    )


@router.get("/on-duty")
def on_duty(principal: Reader, db: DB, policy: PolicyDep) -> OnDutyRead:
    return on_duty_read(policy, service.on_duty(db, policy))


@router.post("/trainings", status_code=201)
def record_training(
    body: TrainingCreate, principal: TrainingManager, db: DB, policy: PolicyDep, rid: RequestId
) -> TrainingRead:
    t = service.record_training(
        db, policy, principal.user, body.account_id, body.course, body.completed_on, body.evidence, request_id=rid
    )
    return TrainingRead.model_validate(t, from_attributes=True)


@router.post("/pledges", status_code=201)
def record_pledge(
    body: PledgeCreate, principal: TrainingManager, db: DB, policy: PolicyDep, rid: RequestId
) -> PledgeRead:
    p = service.record_pledge(db, policy, principal.user, body.account_id, body.signed_on, body.witness, request_id=rid)
    return PledgeRead.model_validate(p, from_attributes=True)


@router.get("/trainings")
def list_trainings(
    principal: TrainingManager, db: DB, account_id: Annotated[Id | None, Query()] = None
) -> TrainingsRead:
    trainings, pledges = service.read_trainings(db, account_id)
    return TrainingsRead(
        trainings=[TrainingRead.model_validate(t, from_attributes=True) for t in trainings],
        pledges=[PledgeRead.model_validate(p, from_attributes=True) for p in pledges],
    )


routers = [router]
