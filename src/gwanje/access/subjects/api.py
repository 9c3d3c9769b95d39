"""Data-subject request routes (PIPA Art. 35)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gwanje.access.deps import RequestId
from gwanje.access.subjects import service
from gwanje.access.subjects.schemas import SubjectRequestCreate, SubjectRequestDecision, SubjectRequestRead
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["access"])

SubjectHandler = Annotated[Principal, Depends(requires("video.subject_request.handle"))]


@router.post("/access/subject-requests", status_code=201)
def take_subject_request(
    body: SubjectRequestCreate, principal: SubjectHandler, db: DB, policy: PolicyDep, rid: RequestId
) -> SubjectRequestRead:
    s = service.take_subject_request(
        db,
        policy,
        principal.user,
        service.TakeSubjectRequest(
            requester_name=body.requester_name,
            requester_contact=body.requester_contact,
            identity_method=body.identity_method,
            camera_ids=tuple(body.camera_ids),
            period_start=body.period_start,
            period_end=body.period_end,
            description=body.description,
            received_at=body.received_at,
        ),
        request_id=rid,
    )
    return SubjectRequestRead.of(s)


@router.get("/access/subject-requests")
def list_subject_requests(
    principal: SubjectHandler, db: DB, status: Annotated[str | None, Query(max_length=20)] = None
) -> list[SubjectRequestRead]:
    return [SubjectRequestRead.of(s) for s in service.read_subject_requests(db, status=status)]


@router.get("/access/subject-requests/{subject_id}")
def get_subject_request(subject_id: Id, principal: SubjectHandler, db: DB) -> SubjectRequestRead:
    return SubjectRequestRead.of(service.read_subject_request(db, subject_id))


@router.post("/access/subject-requests/{subject_id}/decision")
def decide_subject_request(
    subject_id: Id, body: SubjectRequestDecision, principal: SubjectHandler, db: DB, policy: PolicyDep, rid: RequestId
) -> SubjectRequestRead:
    s = service.decide_subject_request(
        db,
        policy,
        principal.user,
        subject_id,
        outcome=body.outcome,
        reason=body.reason,
        note=body.note,
        method=body.method,
        request_id=rid,
    )
    return SubjectRequestRead.of(s)
