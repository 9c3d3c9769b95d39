"""Evidence routes: prepare a package, re-issue a link, download (recipient only), custody log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from gwanje.core.schemas import Id
from gwanje.evidence import service
from gwanje.evidence.deps import SecretKey, Store, VarDir
from gwanje.evidence.schemas import (
    CustodyChainRead,
    CustodyEntryRead,
    CustodyLogRead,
    DownloadLinkRead,
    EvidenceExportRead,
    EvidencePackageRead,
    ExportCreate,
    LinkCreate,
    Notice,
    download_url,
)
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api/evidence", tags=["evidence"])

Preparer = Annotated[Principal, Depends(requires("video.provision.approve"))]
CustodyReader = Annotated[Principal, Depends(requires("video.provision.approve", "audit.read"))]
SignedIn = Annotated[Principal, Depends(requires())]

PASSWORD_NOTICE = Notice(
    ko="비밀번호는 다운로드 링크와 다른 경로(전화 등)로 수령인에게 전달하십시오. 다시 볼 수 없습니다.",
    en="Send the password to the recipient by another channel (e.g. phone). It cannot be shown again.",
)


@router.post("", status_code=201, response_model=EvidenceExportRead)
async def create_package(
    request: Request,
    body: ExportCreate,
    db: DB,
    policy: PolicyDep,
    principal: Preparer,
    var_dir: VarDir,
    secret_key: SecretKey,
) -> EvidenceExportRead:
    """Prepare a package for an approved request. The password is in this answer only."""
    cmd = service.ExportRequest(
        request_ref=body.request_ref,
        recipient_user_id=body.recipient_user_id,
        purpose=body.purpose,
        items=tuple(service.ExportItem(i.camera_id, i.start, i.end, i.clip_id) for i in body.items),
        mask_faces=body.mask_faces,
        watermark=body.watermark,
        provision_id=body.provision_id,
        incident_id=body.incident_id,
        link_ttl=timedelta(hours=body.link_hours),
        password_channel=body.password_channel,
        note=body.note,
    )
    created = await run_in_threadpool(
        service.export_for_request,
        db,
        policy,
        principal.user,
        cmd,
        var_dir=var_dir,
        secret_key=secret_key,
        request_id=request.state.request_id,
    )
    return EvidenceExportRead(
        **created.record,
        password=created.password,
        download_url=download_url(created.id, created.download_token),
        download_expires_at=created.download_expires_at,
        notice=PASSWORD_NOTICE,
    )


@router.get("", response_model=list[EvidencePackageRead])
def list_packages(
    db: DB, _: CustodyReader, request_ref: Annotated[str | None, Query(max_length=120)] = None
) -> list[EvidencePackageRead]:
    return [EvidencePackageRead.of(p) for p in service.read_packages(db, request_ref=request_ref)]


@router.get("/{package_id}", response_model=EvidencePackageRead)
def read_package(package_id: Id, db: DB, _: CustodyReader) -> EvidencePackageRead:
    return EvidencePackageRead.of(service.read_package(db, package_id))


@router.post("/{package_id}/links", status_code=201, response_model=DownloadLinkRead)
def issue_link(
    request: Request, package_id: Id, db: DB, principal: Preparer, body: LinkCreate | None = None
) -> DownloadLinkRead:
    body = body or LinkCreate()
    token, expires = service.issue_link(
        db, package_id, principal.actor(request), ttl=timedelta(hours=body.link_hours), max_uses=body.max_uses
    )
    return DownloadLinkRead(download_url=download_url(package_id, token), expires_at=expires)


@router.post("/{package_id}/my-link", status_code=201, response_model=DownloadLinkRead)
def my_link(request: Request, package_id: Id, db: DB, principal: SignedIn) -> DownloadLinkRead:
    """The signed-in recipient's own fresh link (15 minutes, one use); anyone else is refused."""
    token, expires = service.issue_recipient_link(db, package_id, principal.user, principal.actor(request))
    return DownloadLinkRead(download_url=download_url(package_id, token), expires_at=expires)


@router.get("/{package_id}/download", response_class=FileResponse)
def download(
    request: Request,
    package_id: Id,
    db: DB,
    principal: SignedIn,
    store: Store,
    token: Annotated[str, Query(min_length=1, max_length=200)],
) -> FileResponse:
    """The package file, only for the signed-in recipient with a live link (403 / 410 otherwise)."""
    got = service.open_download(db, package_id, token, principal.user, store, principal.actor(request))
    return FileResponse(
        got.path,
        media_type="application/zip",
        filename=got.file_name,
        headers={"x-content-sha256": got.sha256, "cache-control": "no-store"},
    )


@router.get("/{package_id}/custody", response_model=CustodyLogRead)
def custody(package_id: Id, db: DB, _: CustodyReader) -> CustodyLogRead:
    log = service.read_custody(db, package_id)
    return CustodyLogRead(
        package_id=log.package_id,
        entries=[CustodyEntryRead.of(e) for e in log.entries],
        chain=CustodyChainRead.of(log.check),
    )


routers = [router]
