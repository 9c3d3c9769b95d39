"""Registry use cases: create, read, update, retire and search cameras; the Annex 1 report.

A use case that changes something is one unit of work: it appends its audit entry, records its
event and commits (a caller that commits again commits nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from gwanje.korean import with_particle
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.crypto import SealError, SecretBox
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.revisions import RevisionCache
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.model import Policy, UnknownCode
from gwanje.registry import rules
from gwanje.registry.events import CameraRegistered, CameraRetired, CameraUpdated
from gwanje.registry.models import Camera, Site
from gwanje.registry.rules import StreamCredentials
from gwanje.registry.schemas import (
    Annex1Read,
    Annex1RowRead,
    CameraCreate,
    CameraPage,
    CameraQuery,
    CameraRead,
    CameraUpdate,
)

# The registry's other public parts, reached through this module like its use cases: the demo seed and
# the nearest-camera index (its pure geometry is in rules.py).
from gwanje.registry.seed import seed_seongdong as seed_seongdong
from gwanje.registry.spatial import CameraIndex as CameraIndex

AUDITED_FIELDS = (
    "name",
    "department",
    "owner_organisation",
    "primary_purpose",
    "secondary_purposes",
    "camera_group",
    "storage_mode",
    "latitude",
    "longitude",
    "direction",
    "direction_deg",
    "resolution_mp",
    "retention_days",
    "installed_month",
    "status",
    "stream_url",
    "retired_at",
)


@dataclass(frozen=True)
class Scope:
    """What an actor may change: everything, or one department's cameras (department officers)."""

    department: str | None = None

    def check(self, department: str | None) -> None:
        if self.department is not None and department != self.department:
            raise Forbidden(
                "자기 부서의 카메라만 수정할 수 있습니다",
                "you may change only your own department's cameras",
                field="department",
                clause="policy-rbac",
            )


# Old name, for callers that serialise a camera they loaded themselves (prefer read_camera).
camera_read = CameraRead.from_camera


def _snapshot(camera: Camera) -> dict[str, Any]:
    data = {name: getattr(camera, name) for name in AUDITED_FIELDS}
    data["secondary_purposes"] = camera.secondary_purpose_list
    # Whether credentials are stored, never what they are (the audit chain is read by auditors).
    data["stream_credentials"] = "set" if camera.stream_credentials else None
    return data


# ---- stream credentials: sealed apart from the address, opened only by the video service -----------


class CredentialsUnreadable(Conflict):
    """Stored credentials that no longer open: the key changed; they must be entered again."""

    code = "stream_credentials_unreadable"


def _credentials_aad(management_number: str) -> bytes:
    return b"gwanje camera stream credentials:" + management_number.encode("utf-8")


def seal_stream_credentials(box: SecretBox, management_number: str, credentials: StreamCredentials) -> str:
    """The stored form of a camera's credentials: AES-GCM, bound to the camera's management number."""
    payload = json.dumps({"u": credentials.username, "p": credentials.password}, ensure_ascii=False)
    return box.seal(payload.encode("utf-8"), _credentials_aad(management_number))


def open_stream_credentials(box: SecretBox | None, camera: Camera) -> StreamCredentials | None:
    """The camera's credentials in clear, for the video service when it opens the stream; else None."""
    if camera.stream_credentials is None:
        return None
    if box is None:
        raise RuntimeError("camera credentials are stored but no credentials key was wired")
    try:
        data = json.loads(box.open(camera.stream_credentials, _credentials_aad(camera.management_number)))
    except (SealError, ValueError):
        raise CredentialsUnreadable(
            "카메라 접속 정보를 풀 수 없습니다 (GWANJE_CREDENTIALS_KEY 또는 비밀키가 바뀌었으면 다시 입력하세요)",
            "the camera's stream credentials cannot be decrypted (if GWANJE_CREDENTIALS_KEY or the secret key "
            "changed, enter them again)",
            field="stream_credentials",
        ) from None
    return StreamCredentials(data["u"], data.get("p"))


def stream_address(box: SecretBox | None, camera: Camera) -> str | None:
    """The address to open, credentials put back in: for the video service and nothing else."""
    if not camera.stream_url:
        return None
    return rules.join_stream_url(camera.stream_url, open_stream_credentials(box, camera))


_KEEP = object()  # an update that leaves the stored credentials as they are
_CLEAR = object()


def _given_credentials(username: str | None, password: Any) -> StreamCredentials | None:
    if password is not None and username is None:
        raise ValidationFailed(
            "비밀번호에는 사용자 이름이 필요합니다",
            "a stream password needs a stream user name",
            field="stream_username",
        )
    if username is None:
        return None
    return StreamCredentials(username, password.get_secret_value() if password is not None else None)


def _split_address(url: str | None, separate: StreamCredentials | None) -> tuple[str | None, StreamCredentials | None]:
    if url is None:
        return None, None
    bare, embedded = rules.split_stream_url(url)
    if embedded is not None and separate is not None:
        raise ValidationFailed(
            "접속 정보를 주소와 별도 항목에 함께 줄 수 없습니다",
            "give the stream credentials either in stream_url or as stream_username/stream_password, not both",
            field="stream_url",
        )
    return bare, embedded


def _no_credentials_without_address(address: str | None, credentials: object) -> None:
    if isinstance(credentials, StreamCredentials) and not address:
        raise ValidationFailed(
            "영상 주소 없이 접속 정보를 저장할 수 없습니다",
            "stream credentials need a stream address",
            field="stream_url",
        )


def _box(box: SecretBox | None) -> SecretBox:
    if box is None:
        raise RuntimeError("camera credentials given but no credentials key was wired")
    return box


def _validate_purposes(policy: Policy, department: str | None, primary: str | None, secondary: list[str]) -> None:
    if not primary:
        raise ValidationFailed("주목적이 없습니다", "primary purpose is required", field="primary_purpose")
    for name, code in [("primary_purpose", primary), *(("secondary_purposes", s) for s in secondary)]:
        if not policy.has_purpose(code):
            raise ValidationFailed(f"알 수 없는 목적: {code}", f"unknown purpose: {code}", field=name)
    if len(set(secondary)) != len(secondary):
        raise ValidationFailed(
            "주목적 외 용도가 중복되었습니다", "secondary purposes repeat", field="secondary_purposes"
        )
    if department is None:
        if secondary:
            raise ValidationFailed(
                "주목적 외 용도는 부서가 정해진 카메라에만 승인됩니다",
                "secondary purposes are approved per department: set the department",
                field="department",
                clause="annex-1",
            )
        return
    for code in secondary:
        decision = decisions.secondary_purpose_allowed(policy, department, primary, code)
        if not decision.allowed:
            raise ValidationFailed(
                decision.reason_ko, decision.reason_en, field="secondary_purposes", clause=decision.clause
            )


def _validate_department(policy: Policy, department: str | None) -> None:
    if department is None:
        return
    try:
        policy.department(department)
    except UnknownCode:
        raise ValidationFailed(
            f"알 수 없는 부서: {department}", f"unknown department: {department}", field="department"
        ) from None


def _validate_position(latitude: float, longitude: float) -> None:
    if not rules.inside_korea(latitude, longitude):
        raise ValidationFailed(
            f"위치가 대한민국 밖입니다: {latitude}, {longitude}",
            f"position is outside Korea: {latitude}, {longitude}",
            field="latitude",
        )


def _validate_group(policy: Policy, department: str | None, primary: str, group: str | None) -> None:
    if group is None:
        return
    if not any(
        r.camera_group == group and r.department == department and r.primary_purpose == primary for r in policy.annex1
    ):
        raise ValidationFailed(
            f"별표1에 없는 카메라 그룹: {group}",
            f"camera group not in Annex 1 for this department: {group}",
            field="camera_group",
            clause="annex-1",
        )


def create_camera(
    uow: UnitOfWork,
    actor: Actor,
    policy: Policy,
    data: CameraCreate,
    scope: Scope = Scope(),
    *,
    credentials: SecretBox | None = None,
) -> Camera:
    """Register a camera; user name and password in its stream address are sealed apart (``credentials``)."""
    session = uow.session
    scope.check(data.department)
    separate = _given_credentials(data.stream_username, data.stream_password)
    address, embedded = _split_address(data.stream_url, separate)
    stream_credentials = embedded or separate
    _no_credentials_without_address(address, stream_credentials)
    _validate_department(policy, data.department)
    _validate_purposes(policy, data.department, data.primary_purpose, data.secondary_purposes)
    _validate_group(policy, data.department, data.primary_purpose, data.camera_group)
    _validate_position(data.latitude, data.longitude)
    installed_by = data.installed_by or policy.ownership.default_owner
    try:
        policy.organisation(installed_by)
    except UnknownCode:
        raise ValidationFailed(
            f"알 수 없는 기관: {installed_by}", f"unknown organisation: {installed_by}", field="installed_by"
        ) from None
    if session.scalar(select(Camera.id).where(Camera.management_number == data.management_number)):
        raise Conflict(
            f"이미 등록된 관리번호: {data.management_number}",
            f"management number already registered: {data.management_number}",
            field="management_number",
        )
    now = utcnow()
    site = _site_for(session, policy, data, installed_by, now)
    owner = decisions.owner_organisation(policy, installed_by)
    camera = Camera(
        management_number=data.management_number,
        name=data.name,
        site=site,
        department=data.department,
        owner_organisation=owner,
        primary_purpose=data.primary_purpose,
        secondary_purposes=rules.join_purposes(data.secondary_purposes),
        camera_group=data.camera_group,
        storage_mode=data.storage_mode.value,
        latitude=data.latitude,
        longitude=data.longitude,
        direction=data.direction,
        direction_deg=data.direction_deg,
        resolution_mp=data.resolution_mp,
        retention_days=decisions.retention_days(policy, data.retention_days),
        installed_month=data.installed_month,
        status=data.status.value,
        stream_url=address,
        stream_credentials=(
            seal_stream_credentials(_box(credentials), data.management_number, stream_credentials)
            if stream_credentials
            else None
        ),
        created_at=now,
        updated_at=now,
    )
    camera.search_text = _haystack(camera, site)
    session.add(camera)
    session.flush()
    AuditLog(session).append(
        actor, Change("camera.create", "camera", camera.management_number, None, _snapshot(camera), clause="annex-1")
    )
    uow.record(CameraRegistered(camera.id, camera.management_number))
    uow.commit()
    return camera


def _haystack(camera: Camera, site: Site) -> str:
    return rules.search_text(
        camera.management_number,
        camera.name,
        site.road_address,
        site.lot_address,
        site.managing_agency,
        camera.direction,
    )


def _site_for(session: Session, policy: Policy, data: CameraCreate, installed_by: str, now) -> Site:  # noqa: ANN001
    ref = data.site
    if ref is not None and ref.site_key:
        site = session.scalar(select(Site).where(Site.site_key == ref.site_key))
        if site is not None:
            return site
    agency = policy.organisation(installed_by).name_ko
    site = Site(
        site_key=(ref.site_key if ref and ref.site_key else f"CAM-{data.management_number}"),
        managing_agency=agency,
        road_address=ref.road_address if ref else None,
        lot_address=ref.lot_address if ref else None,
        latitude=data.latitude,
        longitude=data.longitude,
        created_at=now,
        updated_at=now,
    )
    session.add(site)
    return site


def get_camera(session: Session, camera_id: int) -> Camera:
    camera = session.scalar(select(Camera).options(joinedload(Camera.site)).where(Camera.id == camera_id))
    if camera is None:
        raise not_found("카메라", "camera", camera_id)
    return camera


def read_camera(session: Session, camera_id: int) -> CameraRead:
    return CameraRead.from_camera(get_camera(session, camera_id))


def update_camera(
    uow: UnitOfWork,
    actor: Actor,
    policy: Policy,
    camera_id: int,
    data: CameraUpdate,
    scope: Scope = Scope(),
    *,
    credentials: SecretBox | None = None,
) -> Camera:
    """Change a camera; new credentials (in the address or apart) are sealed, never stored in clear."""
    session = uow.session
    camera = get_camera(session, camera_id)
    scope.check(camera.department)
    if camera.status == "retired":
        raise Conflict("철거된 카메라는 수정할 수 없습니다", "a retired camera cannot be changed", field="status")
    changes = data.model_dump(exclude_unset=True)
    address, new_credentials = _stream_changes(camera, changes)
    for key in ("primary_purpose", "storage_mode", "status"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(
                f"{with_particle(key, '은/는')} 비울 수 없습니다", f"{key} cannot be empty", field=key
            )
    if changes.get("status") == "retired":
        raise ValidationFailed(
            "철거는 retire 요청으로 하세요", "use the retire action to retire a camera", field="status"
        )
    department = changes.get("department", camera.department)
    scope.check(department)
    primary = changes.get("primary_purpose", camera.primary_purpose)
    secondary = changes.get("secondary_purposes")
    if secondary is None:
        secondary = camera.secondary_purpose_list
    _validate_department(policy, department)
    _validate_purposes(policy, department, primary, secondary)
    _validate_group(policy, department, primary, changes.get("camera_group", camera.camera_group))
    lat = changes.get("latitude", camera.latitude)
    lon = changes.get("longitude", camera.longitude)
    if lat is None or lon is None:
        raise ValidationFailed("위치는 비울 수 없습니다", "position cannot be empty", field="latitude")
    _validate_position(lat, lon)
    before = _snapshot(camera)
    camera.stream_url = address
    if new_credentials is _CLEAR:
        camera.stream_credentials = None
    elif isinstance(new_credentials, StreamCredentials):
        camera.stream_credentials = seal_stream_credentials(
            _box(credentials), camera.management_number, new_credentials
        )
    for key, value in changes.items():
        if key == "secondary_purposes":
            camera.secondary_purposes = rules.join_purposes(secondary)
        elif key in ("storage_mode", "status") and value is not None:
            setattr(camera, key, getattr(value, "value", value))
        elif key == "retention_days":
            camera.retention_days = decisions.retention_days(policy, value)
        else:
            setattr(camera, key, value)
    after = _snapshot(camera)
    diff_before = {k: v for k, v in before.items() if after[k] != v}
    if isinstance(new_credentials, StreamCredentials):
        # New credentials are a change even when the old ones were set too (and may have been the same).
        diff_before["stream_credentials"] = before["stream_credentials"]
        after["stream_credentials"] = "replaced" if before["stream_credentials"] else "set"
    if not diff_before:
        return camera
    camera.updated_at = utcnow()
    camera.search_text = _haystack(camera, camera.site)
    session.flush()
    AuditLog(session).append(
        actor,
        Change(
            "camera.update",
            "camera",
            camera.management_number,
            diff_before,
            {k: after[k] for k in diff_before},
            clause="annex-1",
        ),
    )
    uow.record(CameraUpdated(camera.id, camera.management_number, tuple(diff_before)))
    uow.commit()
    return camera


def _stream_changes(camera: Camera, changes: dict[str, Any]) -> tuple[str | None, object]:
    """Take the stream fields out of an update: the new address and what becomes of the credentials."""
    has_address = "stream_url" in changes
    username_given = "stream_username" in changes
    separate = _given_credentials(changes.pop("stream_username", None), changes.pop("stream_password", None))
    url = changes.pop("stream_url", None)
    credentials: object = _KEEP
    address = camera.stream_url
    if has_address:
        address, embedded = _split_address(url, separate)
        if address is None:
            credentials = _CLEAR
        elif embedded is not None:
            credentials = embedded
    if separate is not None:
        credentials = separate
    elif username_given and credentials is _KEEP:
        credentials = _CLEAR  # "stream_username": null
    _no_credentials_without_address(address, credentials)
    return address, credentials


def retire_camera(uow: UnitOfWork, actor: Actor, camera_id: int, reason: str, scope: Scope = Scope()) -> Camera:
    session = uow.session
    camera = get_camera(session, camera_id)
    scope.check(camera.department)
    if camera.status == "retired":
        raise Conflict("이미 철거된 카메라입니다", "camera is already retired", field="status")
    before = _snapshot(camera)
    now = utcnow()
    camera.status = "retired"
    camera.retired_at = now
    camera.updated_at = now
    session.flush()
    AuditLog(session).append(
        actor,
        Change(
            "camera.retire",
            "camera",
            camera.management_number,
            {"status": before["status"]},
            {"status": "retired", "retired_at": now, "reason": reason},
        ),
    )
    uow.record(CameraRetired(camera.id, camera.management_number))
    uow.commit()
    return camera


@dataclass
class SearchResult:
    items: list[Camera]
    total: int
    distances: dict[int, float] | None = None


def _filters(query: CameraQuery) -> list:
    conds = []
    if not query.include_retired and query.status != "retired":
        conds.append(Camera.status != "retired")
    if query.q:
        needle = query.q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(Camera.search_text.like(f"%{needle}%", escape="\\"))
    if query.department:
        conds.append(Camera.department == query.department)
    if query.purpose:
        conds.append(
            or_(Camera.primary_purpose == query.purpose, Camera.secondary_purposes.like(f"%,{query.purpose},%"))
        )
    if query.status:
        conds.append(Camera.status == query.status)
    box = query.bbox
    if query.near:
        box = rules.radius_bbox(*query.near)
    if box:
        south, west, north, east = box
        conds.append(and_(Camera.latitude.between(south, north), Camera.longitude.between(west, east)))
    return conds


def search_cameras(session: Session, query: CameraQuery) -> SearchResult:
    conds = _filters(query)
    if query.near:
        lat, lon, radius = query.near
        rows = session.scalars(select(Camera).options(joinedload(Camera.site)).where(*conds)).all()
        dist = {c.id: rules.haversine_m(lat, lon, c.latitude, c.longitude) for c in rows}
        inside = sorted((c for c in rows if dist[c.id] <= radius), key=lambda c: (dist[c.id], c.id))
        page = inside[query.offset : query.offset + query.limit]
        return SearchResult(page, len(inside), {c.id: round(dist[c.id], 1) for c in page})
    # One scan gives the page and the total (a window count), instead of a count and a page query.
    rows = session.execute(
        select(Camera, func.count().over().label("total"))
        .options(joinedload(Camera.site))
        .where(*conds)
        .order_by(Camera.management_number)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    if rows:
        return SearchResult([r[0] for r in rows], rows[0][1])
    total = 0
    if query.offset:
        total = session.scalar(select(func.count()).select_from(Camera).where(*conds)) or 0
    return SearchResult([], total)


def search_page(session: Session, query: CameraQuery) -> CameraPage:
    """One page of matching cameras, as the API and the console list show it."""
    result = search_cameras(session, query)
    return CameraPage(
        total=result.total,
        limit=query.limit,
        offset=query.offset,
        items=[CameraRead.from_camera(c) for c in result.items],
    )


def search_page_json(db: Database, cache: RevisionCache, revision: int | None, query: CameraQuery) -> bytes:
    """:func:`search_page` as the API's JSON bytes, answered from ``cache`` while the registry's revision
    counter stands still (any change to cameras or sites, by anyone, moves it; None: build afresh)."""

    def build() -> bytes:
        with db.reading() as session:
            return search_page(session, query).model_dump_json().encode()

    return cache.get(("search", query), revision, build)


def feature_collection_json(db: Database, cache: RevisionCache, revision: int | None, query: CameraQuery) -> bytes:
    """:func:`cameras_feature_collection` as GeoJSON bytes, cached like :func:`search_page_json`."""

    def build() -> bytes:
        with db.reading() as session:
            collection = cameras_feature_collection(session, query)
        return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()

    return cache.get(("geojson", query), revision, build)


def annex1_report(session: Session, policy: Policy) -> Annex1Read:
    """Annex 1 computed from the registry: sites and cameras per department and camera group."""
    rows = session.execute(
        select(
            Camera.department,
            Camera.primary_purpose,
            Camera.camera_group,
            func.count(func.distinct(Camera.site_id)),
            func.count(Camera.id),
        )
        .where(Camera.status != "retired")
        .group_by(Camera.department, Camera.primary_purpose, Camera.camera_group)
    ).all()
    counts = {(d, p, g): (s, c) for d, p, g, s, c in rows}
    out: list[Annex1RowRead] = []
    for row in policy.annex1:
        sites, cams = counts.pop((row.department, row.primary_purpose, row.camera_group), (0, 0))
        out.append(
            _annex_row(
                policy,
                row.department,
                row.primary_purpose,
                row.camera_group,
                row.label_ko,
                list(row.secondary_purposes),
                row.remarks_ko or "",
                sites,
                cams,
            )
        )
    for (dept, primary, group), (sites, cams) in sorted(counts.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        label = policy.purpose(primary).ko if policy.has_purpose(primary) else primary
        out.append(_annex_row(policy, dept, primary, group, label, [], "별표1 외 / not in Annex 1", sites, cams))
    # A site can hold cameras of several rows, so the total counts distinct sites.
    total_sites = (
        session.scalar(select(func.count(func.distinct(Camera.site_id))).where(Camera.status != "retired")) or 0
    )
    operator = policy.operator_organisation
    return Annex1Read(
        title_ko=f"[별표 1] {operator.name_ko} 다목적 CCTV 운영 현황",
        title_en=f"Annex 1 — multi-purpose CCTV, {operator.name_en}",
        agreement_ko=policy.agreement.title_ko,
        agreement_en=policy.agreement.title_en,
        rows=out,
        total_sites=total_sites,
        total_cameras=sum(r.cameras for r in out),
    )


def _annex_row(
    policy: Policy,
    dept: str | None,
    primary: str,
    group: str | None,
    label: str,
    secondary: list[str],
    remarks: str,
    sites: int,
    cams: int,
) -> Annex1RowRead:
    try:
        dept_ko = policy.department(dept).ko if dept else "(미지정)"
    except UnknownCode:
        dept_ko = dept or "(미지정)"
    return Annex1RowRead(
        department=dept or "",
        department_ko=dept_ko,
        primary_purpose=primary,
        label_ko=label,
        camera_group=group,
        sites=sites,
        cameras=cams,
        secondary_purposes=secondary,
        secondary_purposes_ko=[policy.purpose(p).ko for p in secondary if policy.has_purpose(p)],
        remarks_ko=remarks,
    )


def cameras_feature_collection(session: Session, query: CameraQuery) -> dict[str, Any]:
    """A light FeatureCollection for the map: one Point per camera, no ORM objects."""
    conds = _filters(query)
    rows = session.execute(
        select(
            Camera.id,
            Camera.management_number,
            Camera.latitude,
            Camera.longitude,
            Camera.primary_purpose,
            Camera.secondary_purposes,
            Camera.status,
            Camera.department,
            Camera.storage_mode,
            Site.site_key,
            Site.road_address,
        )
        .join(Site, Site.id == Camera.site_id)
        .where(*conds)
        .order_by(Camera.id)
    ).all()
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": {"type": "Point", "coordinates": [round(r.longitude, 7), round(r.latitude, 7)]},
            "properties": {
                "id": r.id,
                "management_number": r.management_number,
                "primary_purpose": r.primary_purpose,
                "secondary_purposes": [p for p in r.secondary_purposes.split(",") if p],
                "status": r.status,
                "department": r.department,
                "storage_mode": r.storage_mode,
                "site_key": r.site_key,
                "address": r.road_address,
            },
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": features}
