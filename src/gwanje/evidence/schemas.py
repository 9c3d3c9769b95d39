"""Request and response models of the evidence API (and of other capabilities that show a package)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from gwanje.core.schemas import Id, StrictModel
from gwanje.video.schemas import Timestamp


def download_url(package_id: int, token: str) -> str:
    """Where the recipient downloads a package with a link's token (``GET /api/evidence/{id}/download``)."""
    return f"/api/evidence/{package_id}/download?token={token}"


# ---- requests ------------------------------------------------------------------------------------


class ExportItemCreate(StrictModel):
    clip_id: Id | None = Field(default=None, description="An export clip already cut (video clips).")
    camera_id: Id | None = Field(default=None, description="Or: the camera to cut now…")
    start: datetime | None = Field(default=None, description="…from (aware time)…")
    end: datetime | None = Field(default=None, description="…to (aware time).")


class ExportCreate(StrictModel):
    request_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    recipient_user_id: Id
    purpose: Annotated[str, StringConstraints(max_length=60)]
    items: list[ExportItemCreate] = Field(min_length=1, max_length=50)
    provision_id: Id | None = None
    incident_id: Id | None = None
    mask_faces: bool = True
    watermark: bool = True
    link_hours: int = Field(default=72, ge=1, le=24 * 14)
    password_channel: Annotated[str, StringConstraints(max_length=60)] | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class LinkCreate(StrictModel):
    link_hours: int = Field(default=72, ge=1, le=24 * 14)
    max_uses: int | None = Field(default=None, ge=1, le=100)


# ---- responses -----------------------------------------------------------------------------------


class Notice(BaseModel):
    """A message to the operator in Korean and English."""

    ko: str
    en: str


class EvidencePackageRead(BaseModel):
    """A sealed package as recorded: never its password, never a download token."""

    id: int
    package_uid: str
    request_ref: str
    purpose: str
    recipient_user_id: int
    recipient_name: str
    created_by: str
    created_at: Timestamp
    expires_at: Timestamp
    file_name: str
    size_bytes: int
    sha256: str
    manifest_sha256: str
    clip_count: int
    camera_ids: list[str]
    masked: bool
    watermarked: bool
    detector: str | None
    password_channel: str | None
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, row: Any) -> EvidencePackageRead:  # an evidence.models.EvidencePackage (models import schemas)
        return cls(
            id=row.id,
            package_uid=row.package_uid,
            request_ref=row.request_ref,
            purpose=row.purpose,
            recipient_user_id=row.recipient_user_id,
            recipient_name=row.recipient_name,
            created_by=row.created_by_name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            file_name=row.file_name,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            manifest_sha256=row.manifest_sha256,
            clip_count=row.clip_count,
            camera_ids=[c for c in row.camera_ids.split(",") if c],
            masked=row.masked,
            watermarked=row.watermarked,
            detector=row.detector,
            password_channel=row.password_channel,
            revoked_at=row.revoked_at,
        )


class EvidenceExportRead(EvidencePackageRead):
    """A package just prepared: the password is in this answer only, and cannot be shown again."""

    password: str
    download_url: str
    download_expires_at: Timestamp
    notice: Notice


class DownloadLinkRead(BaseModel):
    download_url: str
    expires_at: Timestamp


class CustodyEntryRead(BaseModel):
    seq: int
    at: Timestamp
    action: str = Field(description="A CustodyAction code (evidence/choices.py)")
    actor_id: int | None
    actor_name: str
    organisation: str | None
    request_id: str | None
    details: dict[str, Any] | None
    hash: str

    @classmethod
    def of(cls, e: Any) -> CustodyEntryRead:  # an evidence.models.CustodyEntry
        return cls(
            seq=e.seq,
            at=e.at,
            action=e.action,
            actor_id=e.actor_id,
            actor_name=e.actor_name,
            organisation=e.organisation,
            request_id=e.request_id,
            details=json.loads(e.details) if e.details else None,
            hash=e.hash,
        )


class CustodyChainRead(BaseModel):
    """Whether the package's hash chain of custody is whole."""

    ok: bool
    entries: int
    bad_seq: int | None
    problem: Notice | None

    @classmethod
    def of(cls, check: Any) -> CustodyChainRead:  # an evidence.service.CustodyCheck (schemas do not import services)
        return cls(
            ok=check.ok,
            entries=check.entries,
            bad_seq=check.bad_seq,
            problem=None if check.ok else Notice(ko=check.problem_ko, en=check.problem_en),
        )


class CustodyLogRead(BaseModel):
    package_id: int
    entries: list[CustodyEntryRead]
    chain: CustodyChainRead
