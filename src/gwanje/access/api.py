"""Access routes: video access decisions, cameras attached to incidents and the closed lists; the
parts' routes (provisions, subject requests, retention holds, ledgers) are in their own ``api.py``
and registered with these through :data:`routers`. Routes parse, call one use case, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gwanje.access import service
from gwanje.access.choices import (
    IdentityMethod,
    LedgerKind,
    LedgerMethod,
    LegalGround,
    SubjectDelayReason,
    SubjectRefusalReason,
    UsageOutcome,
)
from gwanje.access.deps import RequestId
from gwanje.access.ledger import api as ledger_api
from gwanje.access.provisions import api as provisions_api
from gwanje.access.retention import api as retention_api
from gwanje.access.rules import clause_text
from gwanje.access.schemas import (
    AccessCodesRead,
    AccessGrantRead,
    AttachedCameraCreate,
    AttachedCameraRead,
    CodeRead,
    VideoAccessCreate,
)
from gwanje.access.subjects import api as subjects_api
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["access"])

SignedIn = Annotated[Principal, Depends(requires())]
Attacher = Annotated[Principal, Depends(requires("incidents.attach_camera"))]


@router.post("/access/authorize")
def authorize(
    body: VideoAccessCreate, principal: SignedIn, db: DB, policy: PolicyDep, rid: RequestId
) -> AccessGrantRead:
    """Ask to open a camera for a purpose; a refusal (403) names the clause it rests on.

    A decision only, audited either way: no video is delivered here, so nothing goes on the ledger
    (the video routes write the row when they deliver the picture)."""
    grant = service.authorize_video(
        db,
        policy,
        principal.user,
        body.camera_id,
        body.purpose,
        body.action,
        incident_id=body.incident_id,
        request_id=rid,
        provision_id=body.provision_id,
    )
    return AccessGrantRead(**grant.__dict__, clause_text=clause_text(policy, grant.clause))


# GET /api/incidents/{id}/cameras lists the nearest cameras (situations); these are the attached ones.
@router.post("/incidents/{incident_id}/attached-cameras", status_code=201)
def attach_camera(
    incident_id: Id, body: AttachedCameraCreate, principal: Attacher, db: DB, policy: PolicyDep, rid: RequestId
) -> AttachedCameraRead:
    link = service.attach_camera(db, policy, principal.user, incident_id, body.camera_id, body.reason, request_id=rid)
    return AttachedCameraRead.of(link)


@router.get("/incidents/{incident_id}/attached-cameras")
def attached_cameras(incident_id: Id, principal: Attacher, db: DB) -> list[AttachedCameraRead]:
    return [AttachedCameraRead.of(link) for link in service.read_incident_cameras(db, incident_id)]


@router.get("/access/codes")
def codes(principal: SignedIn) -> AccessCodesRead:
    """The closed lists the forms offer: legal grounds, outcomes, identity methods, reasons."""
    return AccessCodesRead(
        legal_grounds=CodeRead.all_of(LegalGround),
        usage_outcomes=CodeRead.all_of(UsageOutcome),
        identity_methods=CodeRead.all_of(IdentityMethod),
        refusal_reasons=CodeRead.all_of(SubjectRefusalReason),
        delay_reasons=CodeRead.all_of(SubjectDelayReason),
        ledger_kinds=CodeRead.all_of(LedgerKind),
        ledger_methods=CodeRead.all_of(LedgerMethod),
    )


routers = [router, provisions_api.router, subjects_api.router, retention_api.router, ledger_api.router]
