"""Audit routes: read the chain and verify it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gwanje.audit import service
from gwanje.audit.schemas import AuditEntryRead, AuditVerifyRead, PublicKeyRead
from gwanje.core.schemas import BigId, Timestamp
from gwanje.http.deps import DB, Principal, requires

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryRead])
def read_entries(
    _: Annotated[Principal, Depends(requires("audit.read"))],
    db: DB,
    action: Annotated[str | None, Query(max_length=80)] = None,
    object_id: Annotated[str | None, Query(max_length=120)] = None,
    before_seq: Annotated[BigId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    actor: Annotated[str | None, Query(max_length=200, description="start of the actor's name")] = None,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    clause: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[Timestamp | None, Query(description="inclusive; ISO 8601 with offset")] = None,
    until: Annotated[Timestamp | None, Query(description="exclusive; ISO 8601 with offset")] = None,
) -> list[AuditEntryRead]:
    """The chain, newest first, filtered the same way as the console's ``/audit`` page."""
    with db.reading() as session:
        return service.read_entries(
            session,
            action=action,
            object_id=object_id,
            before_seq=before_seq,
            limit=limit,
            actor=actor,
            object_type=object_type,
            clause=clause,
            since=since,
            until=until,
        )


@router.get("/verify", response_model=AuditVerifyRead)
def verify(_: Annotated[Principal, Depends(requires("audit.verify"))], db: DB) -> AuditVerifyRead:
    with db.reading() as session:
        return service.verify(session)


@router.get("/public-key", response_model=PublicKeyRead)
def public_key(_: Annotated[Principal, Depends(requires("audit.verify"))], db: DB) -> PublicKeyRead:
    """The Ed25519 public key that verifies the signed checkpoints of the chain."""
    with db.reading() as session:
        return service.public_key(session)


routers = [router]
