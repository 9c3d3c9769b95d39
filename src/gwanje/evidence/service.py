"""Evidence use cases: create a package, issue a link, hand the file to its recipient, custody.

Every use case opens one unit of work, appends its custody entry and its audit entry, and
commits once. A refused download is itself a custody event: it is committed, then refused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gwanje.access import service as access
from gwanje.access.choices import ProvisionStatus, VideoAction
from gwanje.access.provisions import service as provisions
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import as_utc, utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Forbidden, ValidationFailed, not_found
from gwanje.evidence import package as pkg
from gwanje.evidence import rules
from gwanje.evidence.choices import CustodyAction
from gwanje.evidence.models import CustodyEntry, DownloadLink, EvidencePackage
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.video import service as video
from gwanje.video.choices import ClipKind

log = logging.getLogger(__name__)

DEFAULT_LINK_TTL = timedelta(hours=72)
DEFAULT_PACKAGE_TTL = timedelta(days=30)
STORE_DIR = "evidence"  # packages are kept under settings.var_dir / STORE_DIR


def package_store(var_dir: Path) -> Path:
    return Path(var_dir) / STORE_DIR


# --- chain of custody ----------------------------------------------------------------------------


def append_custody(
    session: Session, package_id: int, actor: Actor, action: str, details: dict[str, Any] | None = None
) -> CustodyEntry:
    """Append one entry to the package's chain, inside the caller's transaction."""
    last = session.execute(
        select(CustodyEntry.seq, CustodyEntry.hash)
        .where(CustodyEntry.package_id == package_id)
        .order_by(CustodyEntry.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, rules.GENESIS)
    fields = {
        "package_id": package_id,
        "seq": seq,
        "at": utcnow(),
        "action": action,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "organisation": actor.organisation,
        "request_id": actor.request_id,
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True, default=str) if details else None,
    }
    entry = CustodyEntry(**fields, prev_hash=prev, hash=rules.custody_digest(fields, prev))
    session.add(entry)
    session.flush()
    return entry


def list_custody(session: Session, package_id: int) -> list[CustodyEntry]:
    get_package(session, package_id)
    return list(
        session.scalars(select(CustodyEntry).where(CustodyEntry.package_id == package_id).order_by(CustodyEntry.seq))
    )


@dataclass(frozen=True)
class CustodyCheck:
    ok: bool
    entries: int
    bad_seq: int | None = None
    problem_ko: str = ""
    problem_en: str = ""


def verify_custody(session: Session, package_id: int) -> CustodyCheck:
    prev, expected = rules.GENESIS, 1
    entries = list_custody(session, package_id)
    for e in entries:
        if e.seq != expected or e.prev_hash != prev:
            return CustodyCheck(
                False,
                len(entries),
                e.seq,
                f"{expected}번 기록이 없거나 순서가 바뀌었습니다",
                f"entry {expected} is missing or out of order",
            )
        if rules.custody_digest({k: getattr(e, k) for k in rules.CUSTODY_FIELDS}, prev) != e.hash:
            return CustodyCheck(
                False, len(entries), e.seq, f"{e.seq}번 기록이 변경되었습니다", f"entry {e.seq} was edited"
            )
        prev, expected = e.hash, expected + 1
    return CustodyCheck(True, len(entries))


# --- creating ------------------------------------------------------------------------------------


@dataclass
class Package:
    """A created package. ``password`` and ``download_token`` exist only in this object."""

    id: int
    package_uid: str
    path: Path
    sha256: str
    manifest_sha256: str
    size_bytes: int
    expires_at: datetime
    download_token: str
    download_expires_at: datetime
    password: str
    record: dict[str, Any]  # the package as EvidencePackageRead fields (``EvidencePackage.summary()``)

    def __repr__(self) -> str:  # never print the secrets by accident
        return f"Package(id={self.id}, uid={self.package_uid!r}, sha256={self.sha256[:12]}…)"


def create_evidence_package(
    db: Database,
    *,
    clips: list[pkg.ClipInput],
    request_ref: str,
    recipient_user_id: int,
    recipient_name: str | None,
    purpose: str,
    mask_faces: bool,
    watermark: bool,
    actor: Actor,
    store_dir: Path,
    secret_key: str,
    link_ttl: timedelta = DEFAULT_LINK_TTL,
    package_ttl: timedelta = DEFAULT_PACKAGE_TTL,
    detector: str = "haar",
    note: str | None = None,
    password_channel: str | None = None,
) -> Package:
    """Render, seal and record a package; issue the recipient's first download link.

    The files are built before the transaction (minutes for a long masked clip); if recording
    them fails, the package file is deleted, so no unrecorded copy of personal video remains.
    """
    request_ref = (request_ref or "").strip()
    if not request_ref or len(request_ref) > 120:
        raise ValidationFailed(
            "요청 번호가 필요합니다 (120자 이내)",
            "a request reference is required (120 chars max)",
            field="request_ref",
        )
    rules.check_link_ttl(link_ttl)
    with db.reading() as session:
        recipient = session.get(User, recipient_user_id)
        if recipient is None:
            raise not_found("수령인", "recipient", recipient_user_id, field="recipient_user_id")
        if recipient.locked:
            raise Forbidden(
                "잠긴 계정에는 제공할 수 없습니다", "the recipient's account is locked", field="recipient_user_id"
            )
        recipient_org = recipient.organisation
        name = recipient_name or recipient.display_name or recipient.username
    now = utcnow()
    spec = pkg.PackageSpec(
        package_uid=pkg.new_package_uid(now),
        request_ref=request_ref,
        purpose=purpose,
        recipient_user_id=recipient_user_id,
        recipient_name=name,
        recipient_organisation=recipient_org,
        created_by=actor.name,
        created_by_organisation=actor.organisation,
        created_at=now,
        expires_at=now + package_ttl,
        note=note,
    )
    try:
        built = pkg.build_package(
            Path(store_dir),
            spec,
            clips,
            mask_faces=mask_faces,
            watermark=watermark,
            key=pkg.signing_key(secret_key),
            detector_kind=detector,
        )
    except pkg.PackageError as exc:
        raise ValidationFailed(exc.message_ko, exc.message_en, field="clips") from None
    token, token_hash = rules.new_token()
    link_expires = now + link_ttl
    try:
        with db.uow() as uow:
            session = uow.session
            processing = built.manifest["processing"]
            row = EvidencePackage(
                package_uid=spec.package_uid,
                request_ref=request_ref,
                purpose=purpose,
                recipient_user_id=recipient_user_id,
                recipient_name=name,
                created_by_id=actor.id,
                created_by_name=actor.name,
                created_at=now,
                expires_at=spec.expires_at,
                file_name=built.path.name,
                size_bytes=built.size_bytes,
                sha256=built.sha256,
                manifest_sha256=built.manifest_sha256,
                clip_count=len(clips),
                camera_ids=",".join(built.manifest["cameras"])[:500],
                masked=mask_faces,
                watermarked=watermark,
                detector=processing["detector"],
                password_channel=password_channel,
            )
            session.add(row)
            session.flush()
            session.add(
                DownloadLink(
                    package_id=row.id,
                    token_hash=token_hash,
                    recipient_user_id=recipient_user_id,
                    created_at=now,
                    expires_at=link_expires,
                    used_count=0,
                )
            )
            summary = {
                "package_uid": spec.package_uid,
                "request_ref": request_ref,
                "recipient_user_id": recipient_user_id,
                "recipient_name": name,
                "sha256": built.sha256,
                "manifest_sha256": built.manifest_sha256,
                "files": built.manifest["files"],
                "cameras": built.manifest["cameras"],
                "masked": mask_faces,
                "watermarked": watermark,
                "detector": processing["detector"],
            }
            append_custody(session, row.id, actor, CustodyAction.created.code, summary)
            append_custody(
                session,
                row.id,
                actor,
                CustodyAction.link_issued.code,
                {
                    "recipient_user_id": recipient_user_id,
                    "expires_at": link_expires,
                    "password_channel": password_channel,
                },
            )
            AuditLog(session).append(
                actor, Change("evidence.created", "evidence_package", row.id, None, summary, purpose=purpose)
            )
            uow.commit()
            record = row.summary()
            package_id = row.id
    except Exception:
        built.path.unlink(missing_ok=True)
        raise
    return Package(
        package_id,
        spec.package_uid,
        built.path,
        built.sha256,
        built.manifest_sha256,
        built.size_bytes,
        spec.expires_at,
        token,
        link_expires,
        built.password,
        record,
    )


def get_package(session: Session, package_id: int) -> EvidencePackage:
    row = session.get(EvidencePackage, package_id)
    if row is None:
        raise not_found("증거 패키지", "evidence package", package_id, field="package_id")
    return row


def list_packages(session: Session, *, request_ref: str | None = None, limit: int = 100) -> list[EvidencePackage]:
    stmt = select(EvidencePackage).order_by(EvidencePackage.id.desc()).limit(limit)
    if request_ref:
        stmt = stmt.where(EvidencePackage.request_ref == request_ref)
    return list(session.scalars(stmt))


def read_package(db: Database, package_id: int) -> EvidencePackage:
    with db.reading() as session:
        return get_package(session, package_id)


def read_packages(db: Database, *, request_ref: str | None = None, limit: int = 100) -> list[EvidencePackage]:
    with db.reading() as session:
        return list_packages(session, request_ref=request_ref, limit=limit)


@dataclass(frozen=True)
class CustodyLog:
    package_id: int
    entries: list[CustodyEntry]
    check: CustodyCheck


def read_custody(db: Database, package_id: int) -> CustodyLog:
    """The package's chain of custody, and whether its hash chain is whole."""
    with db.reading() as session:
        return CustodyLog(package_id, list_custody(session, package_id), verify_custody(session, package_id))


def issue_link(
    db: Database, package_id: int, actor: Actor, *, ttl: timedelta = DEFAULT_LINK_TTL, max_uses: int | None = None
) -> tuple[str, datetime]:
    """A fresh link for the package's recipient (the old ones stay valid until they expire)."""
    rules.check_link_ttl(ttl)
    with db.uow() as uow:
        row = get_package(uow.session, package_id)
        if row.revoked_at is not None:
            raise rules.LinkExpired("회수된 패키지입니다", "the package was revoked", field="package_id")
        token, token_hash = rules.new_token()
        expires = utcnow() + ttl
        uow.session.add(
            DownloadLink(
                package_id=row.id,
                token_hash=token_hash,
                recipient_user_id=row.recipient_user_id,
                created_at=utcnow(),
                expires_at=expires,
                max_uses=max_uses,
                used_count=0,
            )
        )
        append_custody(
            uow.session,
            row.id,
            actor,
            CustodyAction.link_issued.code,
            {"recipient_user_id": row.recipient_user_id, "expires_at": expires, "max_uses": max_uses},
        )
        AuditLog(uow.session).append(
            actor,
            Change(
                "evidence.link_issued", "evidence_package", row.id, None, {"expires_at": expires}, purpose=row.purpose
            ),
        )
        uow.commit()
    return token, expires


# --- downloading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    path: Path
    file_name: str
    sha256: str


def open_download(db: Database, package_id: int, token: str, user: User, store_dir: Path, actor: Actor) -> Download:
    """The package file, for its recipient holding a live link; every attempt is in the custody log."""
    with db.uow() as uow:
        session = uow.session
        row = get_package(session, package_id)
        link = session.scalar(
            select(DownloadLink).where(
                DownloadLink.token_hash == rules.token_hash(token or ""), DownloadLink.package_id == row.id
            )
        )
        now = utcnow()
        path = Path(store_dir) / row.file_name
        refusal = rules.download_refusal(
            rules.LinkState(
                user_id=user.id,
                recipient_user_id=row.recipient_user_id,
                link_found=link is not None,
                link_recipient_user_id=link.recipient_user_id if link else None,
                package_revoked=row.revoked_at is not None,
                link_revoked=link is not None and link.revoked_at is not None,
                link_expires_at=link.expires_at if link else None,
                package_expires_at=row.expires_at,
                max_uses=link.max_uses if link else None,
                used_count=link.used_count if link else 0,
                file_present=path.is_file(),
            ),
            now,
        )
        if refusal is not None:
            append_custody(
                session,
                row.id,
                actor,
                CustodyAction.download_refused.code,
                {"reason": refusal.reason, "user_id": user.id, "link_id": link.id if link else None},
            )
            AuditLog(session).append(
                actor,
                Change(
                    "evidence.download_refused",
                    "evidence_package",
                    row.id,
                    None,
                    {"reason": refusal.reason},
                    purpose=row.purpose,
                ),
            )
            uow.commit()
            raise refusal.error
        assert link is not None
        link.used_count += 1
        link.last_used_at = now
        append_custody(
            session,
            row.id,
            actor,
            CustodyAction.downloaded.code,
            {"link_id": link.id, "use": link.used_count, "sha256": row.sha256},
        )
        AuditLog(session).append(
            actor,
            Change(
                "evidence.downloaded",
                "evidence_package",
                row.id,
                None,
                {"link_id": link.id, "sha256": row.sha256},
                purpose=row.purpose,
            ),
        )
        uow.commit()
        return Download(path, row.file_name, row.sha256)


# --- verifying a stored package ------------------------------------------------------------------


def verify_stored(
    db: Database, package_id: int, password: str, store_dir: Path, secret_key: str, actor: Actor
) -> pkg.VerifyReport:
    """Verify the center's copy and note the result in the custody log."""
    with db.reading() as session:
        row = get_package(session, package_id)
        file_name, recorded_sha, recorded_manifest = row.file_name, row.sha256, row.manifest_sha256
    report = pkg.verify_package(Path(store_dir) / file_name, password, key=pkg.signing_key(secret_key))
    if report.package_sha256 and report.package_sha256 != recorded_sha:
        report.problems.append(
            pkg.Problem(
                file_name,
                "sha256_mismatch",
                "패키지 SHA-256이 반출 기록과 다릅니다",
                "package SHA-256 differs from the custody record",
            )
        )
    if report.manifest_sha256 and report.manifest_sha256 != recorded_manifest:
        report.problems.append(
            pkg.Problem(
                pkg.MANIFEST,
                "sha256_mismatch",
                "manifest SHA-256이 반출 기록과 다릅니다",
                "manifest SHA-256 differs from the custody record",
            )
        )
    with db.uow() as uow:
        append_custody(
            uow.session,
            package_id,
            actor,
            CustodyAction.verified.code,
            {"ok": report.ok, "failed_files": report.failed_files, "signature": report.signature},
        )
        uow.commit()
    return report


def custody_count(session: Session, package_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(CustodyEntry).where(CustodyEntry.package_id == package_id)) or 0
    )


# --- integration: provision requests and recorded clips (thin glue) ------------------------------


@dataclass(frozen=True)
class ExportItem:
    """One clip to include: an existing export clip, or a camera and range to cut now."""

    camera_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    clip_id: int | None = None


@dataclass(frozen=True)
class ExportRequest:
    request_ref: str
    recipient_user_id: int
    purpose: str
    items: tuple[ExportItem, ...]
    mask_faces: bool = True
    watermark: bool = True
    provision_id: int | None = None
    incident_id: int | None = None
    link_ttl: timedelta = DEFAULT_LINK_TTL
    password_channel: str | None = None
    note: str | None = None


def export_for_request(
    db: Database,
    policy: Policy,
    user: User,
    cmd: ExportRequest,
    *,
    var_dir: Path,
    secret_key: str,
    request_id: str | None = None,
) -> Package:
    """Authorize each camera for the recipient, cut the clips, build the package, mark the provision.

    Glue over ``gwanje.access.service`` (purpose-bound authorization), ``gwanje.access.provisions.service``
    (provision state) and ``gwanje.video.service`` (cutting recorded segments by stream copy).
    """
    if not cmd.items:
        raise ValidationFailed("내보낼 영상이 없습니다", "no clips to export", field="items")
    actor = actor_of(user, request_id)
    with db.reading() as session:
        recipient = session.get(User, cmd.recipient_user_id)
        if recipient is None:
            raise not_found("수령인", "recipient", cmd.recipient_user_id, field="recipient_user_id")
    clips: list[pkg.ClipInput] = []
    for item in cmd.items:
        if item.clip_id is not None:
            clip, path = video.clip_file(db, var_dir, item.clip_id)
            camera_id, start, end = clip.camera_id, clip.start_at, clip.end_at
        else:
            if item.camera_id is None or item.start is None or item.end is None:
                raise ValidationFailed(
                    "카메라와 시간 범위가 필요합니다", "camera and time range are required", field="items"
                )
            camera_id, start, end = item.camera_id, item.start, item.end
            path = None
        # The recipient must be entitled to this camera for this purpose (approved provision, Art. 11).
        access.authorize_video(
            db,
            policy,
            recipient,
            camera_id,
            cmd.purpose,
            VideoAction.export.code,
            incident_id=cmd.incident_id,
            request_id=request_id,
            provision_id=cmd.provision_id,
        )
        if path is None:
            cut = video.MakeClip(camera_id, start, end, cmd.purpose, ClipKind.export.code, cmd.incident_id)
            clip = video.make_clip(db, var_dir, user, cut, request_id=request_id)
            path = Path(var_dir) / clip.path
            start, end = clip.start_at, clip.end_at
        with db.reading() as session:
            camera = session.get(Camera, camera_id)
            ref = camera.management_number if camera else str(camera_id)
            name = camera.name if camera else None
        clips.append(pkg.ClipInput(path, ref, as_utc(start), as_utc(end), camera_name=name))
    created = create_evidence_package(
        db,
        clips=clips,
        request_ref=cmd.request_ref,
        recipient_user_id=cmd.recipient_user_id,
        recipient_name=None,
        purpose=cmd.purpose,
        mask_faces=cmd.mask_faces,
        watermark=cmd.watermark,
        actor=actor,
        store_dir=package_store(var_dir),
        secret_key=secret_key,
        link_ttl=cmd.link_ttl,
        password_channel=cmd.password_channel,
        note=cmd.note,
    )
    if cmd.provision_id is not None:
        provisions.mark_exported(db, policy, actor, cmd.provision_id, export_ref=created.package_uid)
    return created


@dataclass
class ProvisionExport:
    """The package prepared for an approved provision, and the cameras with nothing recorded then."""

    package: Package
    cameras_without_recordings: tuple[str, ...] = ()


def prepare_provision_export(
    db: Database,
    policy: Policy,
    approver_user: User,
    provision_id: int,
    *,
    mask_faces: bool,
    var_dir: Path,
    secret_key: str,
    request_id: str | None = None,
) -> ProvisionExport:
    """Approval prepares the export: every requested camera over the requested period, for the requester.

    Thin glue over :func:`export_for_request` (watermarked; masking as the approver chose). Run after
    the approval has committed: a failure here leaves the approval standing, and it can be retried.
    """
    with db.reading() as session:
        p = provisions.get_provision(session, provision_id)
        if p.status != ProvisionStatus.approved.code:
            raise ValidationFailed(
                f"승인된 제공 요청만 반출을 준비할 수 있습니다 (현재: {p.status})",
                f"only an approved provision request can be exported (status: {p.status})",
                field="provision_id",
            )
        numbers = dict(
            session.execute(select(Camera.id, Camera.management_number).where(Camera.id.in_(p.camera_id_list))).all()
        )
    items: list[ExportItem] = []
    missing: list[str] = []
    for camera_id in p.camera_id_list:
        windows = video.recorded_windows(db, var_dir, camera_id, p.period_start, p.period_end)
        if not windows:
            missing.append(numbers.get(camera_id, f"#{camera_id}"))
        items.extend(ExportItem(camera_id=camera_id, start=a, end=b) for a, b in windows)
    cmd = ExportRequest(
        request_ref=(p.document_number or f"provision-{p.id}")[:120],
        recipient_user_id=p.requester_id,
        purpose=p.purpose,
        items=tuple(items),
        mask_faces=mask_faces,
        watermark=True,
        provision_id=p.id,
        incident_id=p.incident_id,
        note=f"provision {p.id}",
    )
    if not items:
        raise ValidationFailed(
            "요청 기간에 녹화된 영상이 없습니다: " + ", ".join(missing),
            "nothing was recorded in the requested period: " + ", ".join(missing),
            field="period",
        )
    created = export_for_request(
        db, policy, approver_user, cmd, var_dir=var_dir, secret_key=secret_key, request_id=request_id
    )
    return ProvisionExport(created, tuple(missing))


def issue_recipient_link(
    db: Database, package_id: int, user: User, actor: Actor, *, ttl: timedelta = timedelta(minutes=15)
) -> tuple[str, datetime]:
    """A fresh, short, single-use link for the signed-in recipient themself (nobody else)."""
    with db.reading() as session:
        row = get_package(session, package_id)
        recipient_id, expires_at = row.recipient_user_id, row.expires_at
    if user.id != recipient_id:
        raise Forbidden(
            "이 패키지의 수령인만 다운로드 링크를 받을 수 있습니다",
            "only the package's recipient may get a download link",
            field="package_id",
        )
    if as_utc(expires_at) <= utcnow():
        raise rules.LinkExpired("패키지 보관 기간이 지났습니다", "the package has expired", field="package_id")
    return issue_link(db, package_id, actor, ttl=ttl, max_uses=1)


def package_by_uid(session: Session, package_uid: str | None) -> EvidencePackage | None:
    if not package_uid:
        return None
    return session.scalar(select(EvidencePackage).where(EvidencePackage.package_uid == package_uid))
