"""Evidence routes: prepare a package, re-issue a link, download (recipient only), custody log."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from gwanje.core.schemas import StrictModel
from gwanje.evidence import service
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api/evidence", tags=["evidence"])

Preparer = Annotated[Principal, Depends(requires("video.provision.approve"))]
CustodyReader = Annotated[Principal, Depends(requires("video.provision.approve", "audit.read"))]
SignedIn = Annotated[Principal, Depends(requires())]


class ExportItemBody(StrictModel):
    clip_id: int | None = Field(default=None, description="An export clip already cut (video clips).")
    camera_id: int | None = Field(default=None, description="Or: the camera to cut now…")
    start: datetime | None = Field(default=None, description="…from (aware time)…")
    end: datetime | None = Field(default=None, description="…to (aware time).")


class ExportBody(StrictModel):
    request_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    recipient_user_id: int
    purpose: Annotated[str, StringConstraints(max_length=60)]
    items: list[ExportItemBody] = Field(min_length=1, max_length=50)
    provision_id: int | None = None
    incident_id: int | None = None
    mask_faces: bool = True
    watermark: bool = True
    link_hours: int = Field(default=72, ge=1, le=24 * 14)
    password_channel: Annotated[str, StringConstraints(max_length=60)] | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class LinkBody(StrictModel):
    link_hours: int = Field(default=72, ge=1, le=24 * 14)
    max_uses: int | None = Field(default=None, ge=1, le=100)


def _var_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir)


def _store(request: Request) -> Path:
    return _var_dir(request) / "evidence"


def _download_url(package_id: int, token: str) -> str:
    return f"/api/evidence/{package_id}/download?token={token}"


@router.post("", status_code=201)
async def create_package(request: Request, body: ExportBody, db: DB, policy: PolicyDep,
                         principal: Preparer) -> dict[str, Any]:
    """Prepare a package for an approved request. The password is in this answer only."""
    cmd = service.ExportRequest(
        request_ref=body.request_ref, recipient_user_id=body.recipient_user_id, purpose=body.purpose,
        items=tuple(service.ExportItem(i.camera_id, i.start, i.end, i.clip_id) for i in body.items),
        mask_faces=body.mask_faces, watermark=body.watermark, provision_id=body.provision_id,
        incident_id=body.incident_id, link_ttl=timedelta(hours=body.link_hours),
        password_channel=body.password_channel, note=body.note)
    created = await run_in_threadpool(
        service.export_for_request, db, policy, principal.user, cmd, var_dir=_var_dir(request),
        secret_key=request.app.state.secret_key, request_id=request.state.request_id)
    return {**created.record, "password": created.password,
            "download_url": _download_url(created.id, created.download_token),
            "download_expires_at": created.download_expires_at,
            "notice": {"ko": "비밀번호는 다운로드 링크와 다른 경로(전화 등)로 수령인에게 전달하십시오. 다시 볼 수 없습니다.",
                       "en": "Send the password to the recipient by another channel (e.g. phone). "
                             "It cannot be shown again."}}


@router.get("")
def list_packages(db: DB, principal: CustodyReader,
                  request_ref: Annotated[str | None, Query(max_length=120)] = None) -> list[dict[str, Any]]:
    with db.reading() as session:
        return [p.summary() for p in service.list_packages(session, request_ref=request_ref)]


@router.get("/{package_id}")
def read_package(package_id: int, db: DB, principal: CustodyReader) -> dict[str, Any]:
    with db.reading() as session:
        return service.get_package(session, package_id).summary()


@router.post("/{package_id}/links", status_code=201)
def issue_link(request: Request, package_id: int, db: DB, principal: Preparer,
               body: LinkBody | None = None) -> dict[str, Any]:
    body = body or LinkBody()
    token, expires = service.issue_link(db, package_id, principal.actor(request),
                                        ttl=timedelta(hours=body.link_hours), max_uses=body.max_uses)
    return {"download_url": _download_url(package_id, token), "expires_at": expires}


@router.post("/{package_id}/my-link", status_code=201)
def my_link(request: Request, package_id: int, db: DB, principal: SignedIn) -> dict[str, Any]:
    """The signed-in recipient's own fresh link (15 minutes, one use); anyone else is refused."""
    token, expires = service.issue_recipient_link(db, package_id, principal.user, principal.actor(request))
    return {"download_url": _download_url(package_id, token), "expires_at": expires}


@router.get("/{package_id}/download")
def download(request: Request, package_id: int, db: DB, principal: SignedIn,
             token: Annotated[str, Query(min_length=1, max_length=200)]) -> FileResponse:
    """The package file, only for the signed-in recipient with a live link (403 / 410 otherwise)."""
    got = service.open_download(db, package_id, token, principal.user, _store(request), principal.actor(request))
    return FileResponse(got.path, media_type="application/zip", filename=got.file_name,
                        headers={"x-content-sha256": got.sha256, "cache-control": "no-store"})


@router.get("/{package_id}/custody")
def custody(package_id: int, db: DB, principal: CustodyReader) -> dict[str, Any]:
    with db.reading() as session:
        entries = service.list_custody(session, package_id)
        check = service.verify_custody(session, package_id)
        return {"package_id": package_id, "entries": [e.summary() for e in entries],
                "chain": {"ok": check.ok, "entries": check.entries, "bad_seq": check.bad_seq,
                          "problem": {"ko": check.problem_ko, "en": check.problem_en} if not check.ok else None}}
