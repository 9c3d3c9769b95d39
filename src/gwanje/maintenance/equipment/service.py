"""Equipment register use cases (Art. 2 ④, 5, 6): add, edit (on the version it was read at), change status,
dispose; the sync that files every registry camera as an item, owned per Art. 5; listing with filters;
the import of a district's sheet, bad rows reported by line and good rows kept.

Every change writes one history row (append-only, database triggers) and one audit-chain entry in the same
transaction. Serials are unique per make; a camera has one item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gwanje.accounts.models import User
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, not_found
from gwanje.maintenance.equipment import rules
from gwanje.maintenance.equipment.models import EquipmentHistory, EquipmentItem
from gwanje.policy import decisions
from gwanje.policy.model import Maintenance, Policy
from gwanje.registry.models import Camera

MAX_PAGE = 200


def settings(policy: Policy) -> Maintenance:
    if policy.maintenance is None:
        raise NotFound(
            "이 지구의 정책에는 장비 관리(maintenance)가 없습니다",
            "this district's policy keeps no equipment register (maintenance)",
        )
    return policy.maintenance


def may(policy: Policy, user: User, permission: str) -> bool:
    return decisions.role_has_permission(policy, user.role, permission).allowed


def _actor(user: User, request_id: str | None) -> Actor:
    return Actor(id=user.id, name=user.username, organisation=user.organisation, role=user.role, request_id=request_id)


def _invalid(exc: rules.Invalid, clause: str | None = None) -> ValidationFailed:
    r = exc.refusal
    return ValidationFailed(r.ko, r.en, field=r.field, clause=clause)


# ---- checking an item's fields ----------------------------------------------------------------


def clean(policy: Policy, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The item fields of ``data``, checked against the policy (class, owner, room) and the rules. A class
    or owner may be given by code or label. ``partial``: only the fields given (an edit)."""
    rules_ = settings(policy)
    out: dict[str, Any] = {}
    try:
        for key in rules.EDITABLE:
            if partial and key not in data:
                continue
            value = data.get(key)
            if key == "item_class":
                out[key] = rules.choice_code(value, rules_.classes, key)
            elif key == "owner_organisation":
                out[key] = None if value in (None, "") else rules.choice_code(value, policy.organisations, key)
            elif key in ("acquired_on", "warranty_until"):
                out[key] = rules.parse_date(value, key)
            elif key == "cost_krw":
                out[key] = rules.parse_cost(value)
            else:
                out[key] = rules.clean_text(value, key)
        if "status" in data and not partial:
            out["status"] = (
                rules_.default_status
                if data["status"] in (None, "")
                else rules.choice_code(data["status"], rules_.statuses, "status")
            )
    except rules.Invalid as exc:
        raise _invalid(exc, rules_.clause) from None
    if (not partial or "name" in out) and not out.get("name"):
        raise ValidationFailed("필수 입력 항목입니다: name", "required: name", field="name", clause=rules_.clause)
    room = out.get("room")
    if room is not None and all(r.code != room for r in policy.duty.rooms):
        by_label = next((r.code for r in policy.duty.rooms if room in (r.ko, r.en)), None)
        if by_label is None:
            known = ", ".join(r.code for r in policy.duty.rooms) or "-"
            raise ValidationFailed(
                f"알 수 없는 실 '{room}' (정의된 실: {known})",
                f"unknown room '{room}' (defined: {known})",
                field="room",
            )
        out["room"] = by_label
    return out


def _owner(policy: Policy, given: str | None) -> str:
    """Art. 5: an item is the district's unless given to the organisation that installed it and keeps it."""
    if given is None:
        return policy.ownership.default_owner
    return decisions.owner_organisation(policy, given)


def _snapshot(item: EquipmentItem) -> dict[str, Any]:
    def plain(v: object) -> object:
        return v.isoformat() if isinstance(v, date) else v

    keys = (*rules.EDITABLE, "status", "camera_id")
    return {k: plain(getattr(item, k)) for k in keys}


def _record(
    session: Session,
    policy: Policy,
    user: User,
    item: EquipmentItem,
    action: str,
    before: dict | None,
    after: dict,
    request_id: str | None,
    *,
    clause: str | None = None,
) -> None:
    session.flush()
    now = utcnow()
    session.add(
        EquipmentHistory(
            item_id=item.id,
            version=item.version,
            action=action,
            at=now,
            actor=user.username,
            organisation=user.organisation,
            request_id=request_id,
            before=None if before is None else json.dumps(before, ensure_ascii=False),
            after=json.dumps(after, ensure_ascii=False),
        )
    )
    AuditLog(session).append(
        _actor(user, request_id),
        Change(
            f"equipment.{action}",
            "equipment_item",
            item.id,
            before,
            after,
            clause=clause or settings(policy).clause,
        ),
    )


def _serial_taken(
    session: Session, make: str | None, serial: str | None, but: int | None = None
) -> EquipmentItem | None:
    if not serial:
        return None
    q = select(EquipmentItem).where(EquipmentItem.make_key == rules.make_key(make), EquipmentItem.serial == serial)
    if but is not None:
        q = q.where(EquipmentItem.id != but)
    return session.scalars(q).first()


def _serial_conflict(make: str | None, serial: str, holder: int) -> Conflict:
    shown = make or "-"
    return Conflict(
        f"제조사 {shown}의 일련번호 {serial}는 이미 등록되어 있습니다 (품목 {holder}번)",
        f"serial {serial} of make {shown} is already on file (item {holder})",
        field="serial",
    )


def _flush(session: Session, item: EquipmentItem) -> None:
    try:
        session.flush()
    except IntegrityError:
        # Two keepers filing one serial at the same moment: the unique index decides, the loser is told.
        session.rollback()
        raise Conflict(
            "같은 일련번호나 카메라가 방금 등록되었습니다. 다시 확인하세요",
            "the same serial or camera was just filed by someone else; check and try again",
            field="serial",
        ) from None


# ---- use cases ---------------------------------------------------------------------------------


def add(
    db: Database, policy: Policy, user: User, data: Mapping[str, Any], *, request_id: str | None = None
) -> EquipmentItem:
    rules_ = settings(policy)
    values = clean(policy, {**data, "status": data.get("status")})
    refusal = rules.dates_refusal(values.get("acquired_on"), values.get("warranty_until"))
    if refusal is not None:
        raise ValidationFailed(refusal.ko, refusal.en, field=refusal.field, clause=rules_.clause)
    if values["status"] == rules_.disposed_status:
        raise ValidationFailed(
            "불용 상태로 새 품목을 등록할 수 없습니다", "a new item cannot be filed as disposed", field="status"
        )
    values["owner_organisation"] = _owner(policy, values.get("owner_organisation"))
    now = utcnow()
    with db.uow() as uow:
        session = uow.session
        held = _serial_taken(session, values.get("make"), values.get("serial"))
        if held is not None:
            raise _serial_conflict(values.get("make"), values["serial"], held.id)
        item = EquipmentItem(
            **values,
            make_key=rules.make_key(values.get("make")),
            version=1,
            created_at=now,
            created_by=user.username,
            updated_at=now,
            updated_by=user.username,
        )
        session.add(item)
        _flush(session, item)
        _record(session, policy, user, item, "created", None, _snapshot(item), request_id)
        uow.commit()
        return item


def _locked(session: Session, policy: Policy, item_id: int, version: int) -> EquipmentItem:
    rules_ = settings(policy)
    item = session.get(EquipmentItem, item_id, with_for_update=True)
    if item is None:
        raise not_found("품목", "item", item_id)
    if item.status == rules_.disposed_status:
        raise Conflict(
            "불용 처리된 품목은 변경할 수 없습니다",
            "a disposed item cannot be changed",
            field="status",
            clause=rules_.clause,
        )
    if item.version != version:
        raise Conflict(
            f"다른 사용자가 먼저 수정했습니다 (현재 판 {item.version}, 보낸 판 {version}). 새로 읽고 다시 하세요",
            f"someone changed the item first (now version {item.version}, yours {version}); reload and try again",
            field="version",
            details={"current_version": item.version},
        )
    return item


def edit(
    db: Database,
    policy: Policy,
    user: User,
    item_id: int,
    version: int,
    changes: Mapping[str, Any],
    *,
    request_id: str | None = None,
) -> EquipmentItem:
    """Change the given fields of an item read at ``version``; 409 when it changed since or is disposed."""
    rules_ = settings(policy)
    values = clean(policy, changes, partial=True)
    if "item_class" in values and values["item_class"] is None:
        raise ValidationFailed("필수 입력 항목입니다: item_class", "required: item_class", field="item_class")
    if "owner_organisation" in values:
        values["owner_organisation"] = _owner(policy, values["owner_organisation"])
    now = utcnow()
    with db.uow() as uow:
        session = uow.session
        item = _locked(session, policy, item_id, version)
        owner = values.get("owner_organisation", item.owner_organisation)
        if item.camera_id is not None and owner != item.owner_organisation:
            raise Conflict(
                "카메라 품목의 소유기관은 CCTV 등록부를 따릅니다 (제5조)",
                "a camera's owner follows the camera registry (Art. 5)",
                field="owner_organisation",
                clause=rules_.ownership_clause,
            )
        before_all = _snapshot(item)
        merged = {**before_all, **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}}
        refusal = rules.dates_refusal(
            values.get("acquired_on", item.acquired_on), values.get("warranty_until", item.warranty_until)
        )
        if refusal is not None:
            raise ValidationFailed(refusal.ko, refusal.en, field=refusal.field, clause=rules_.clause)
        before, after = rules.changed(before_all, merged)
        if not after:
            return item
        make = values.get("make", item.make)
        serial = values.get("serial", item.serial)
        held = _serial_taken(session, make, serial, but=item.id)
        if held is not None:
            raise _serial_conflict(make, serial or "", held.id)
        for key, value in values.items():
            setattr(item, key, value)
        item.make_key = rules.make_key(item.make)
        item.version += 1
        item.updated_at, item.updated_by = now, user.username
        _flush(session, item)
        _record(session, policy, user, item, "edited", before, after, request_id)
        uow.commit()
        return item


def change_status(
    db: Database,
    policy: Policy,
    user: User,
    item_id: int,
    version: int,
    status: str,
    note: str | None = None,
    *,
    request_id: str | None = None,
) -> EquipmentItem:
    """Move an item to another status; to the disposed status only with a reason (:func:`dispose`)."""
    rules_ = settings(policy)
    try:
        wanted = rules.choice_code(status, rules_.statuses, "status")
        note = rules.clean_text(note, "note")
    except rules.Invalid as exc:
        raise _invalid(exc, rules_.clause) from None
    if wanted == rules_.disposed_status and not note:
        raise ValidationFailed("불용 사유를 입력하세요", "give the reason for disposal", field="note")
    now = utcnow()
    with db.uow() as uow:
        session = uow.session
        item = _locked(session, policy, item_id, version)
        refusal = rules.status_change_refusal(item.status, wanted, rules_.disposed_status)
        if refusal is not None:
            raise Conflict(refusal.ko, refusal.en, field=refusal.field, clause=rules_.clause)
        before = {"status": item.status}
        item.status = wanted
        item.version += 1
        item.updated_at, item.updated_by = now, user.username
        after: dict[str, Any] = {"status": wanted}
        if note:
            after["reason"] = note
        action = "disposed" if wanted == rules_.disposed_status else "status"
        _record(session, policy, user, item, action, before, after, request_id)
        uow.commit()
        return item


def dispose(
    db: Database, policy: Policy, user: User, item_id: int, version: int, reason: str, *, request_id: str | None = None
) -> EquipmentItem:
    return change_status(
        db, policy, user, item_id, version, settings(policy).disposed_status, reason, request_id=request_id
    )


@dataclass
class SyncReport:
    cameras: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def sync_cameras(db: Database, policy: Policy, user: User, *, request_id: str | None = None) -> SyncReport:
    """File every registry camera in service as an item of ``camera_class``, owned per Art. 5 by the camera's
    installing organisation's rule; run again, it changes only what the registry changed (owner, name, site)."""
    rules_ = settings(policy)
    report = SyncReport()
    now = utcnow()
    with db.uow() as uow:
        session = uow.session
        cameras = session.scalars(select(Camera).where(Camera.retired_at.is_(None)).order_by(Camera.id)).all()
        items = {
            i.camera_id: i for i in session.scalars(select(EquipmentItem).where(EquipmentItem.camera_id.is_not(None)))
        }
        for camera in cameras:
            report.cameras += 1
            wanted = {
                "name": (camera.name or camera.management_number)[:200],
                "owner_organisation": _owner(policy, camera.owner_organisation),
                "site": (camera.site.road_address or camera.site.lot_address or camera.site.site_key or "")[:200]
                or None,
            }
            item = items.get(camera.id)
            if item is None:
                item = EquipmentItem(
                    item_class=rules_.camera_class,
                    camera_id=camera.id,
                    make_key="",
                    status=rules_.default_status,
                    version=1,
                    created_at=now,
                    created_by=user.username,
                    updated_at=now,
                    updated_by=user.username,
                    **wanted,
                )
                session.add(item)
                session.flush()
                _record(
                    session,
                    policy,
                    user,
                    item,
                    "synced",
                    None,
                    _snapshot(item),
                    request_id,
                    clause=rules_.ownership_clause,
                )
                report.created += 1
                continue
            current = {k: getattr(item, k) for k in wanted}
            before, after = rules.changed(current, wanted)
            if not after or item.status == rules_.disposed_status:
                report.unchanged += 1
                continue
            for key, value in after.items():
                setattr(item, key, value)
            item.version += 1
            item.updated_at, item.updated_by = now, user.username
            _record(session, policy, user, item, "synced", before, after, request_id, clause=rules_.ownership_clause)
            report.updated += 1
        uow.commit()
    return report


# ---- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    item_class: str | None = None
    status: str | None = None
    owner: str | None = None
    room: str | None = None
    site: str | None = None
    q: str | None = None


def items(
    db: Database, policy: Policy, filters: Filters, *, page: int = 1, per_page: int = 50
) -> tuple[list[EquipmentItem], int]:
    """One page of the register, the item filed last first, and how many match in all."""
    settings(policy)
    per_page = max(1, min(per_page, MAX_PAGE))
    page = max(1, page)
    with db.reading() as session:
        q = select(EquipmentItem)
        if filters.item_class:
            q = q.where(EquipmentItem.item_class == filters.item_class)
        if filters.status:
            q = q.where(EquipmentItem.status == filters.status)
        if filters.owner:
            q = q.where(EquipmentItem.owner_organisation == filters.owner)
        if filters.room:
            q = q.where(EquipmentItem.room == filters.room)
        if filters.site:
            q = q.where(EquipmentItem.site.contains(filters.site, autoescape=True))
        if filters.q:
            like = f"%{filters.q.casefold()}%"
            cols = (
                EquipmentItem.name,
                EquipmentItem.make,
                EquipmentItem.model,
                EquipmentItem.serial,
                EquipmentItem.note,
            )
            q = q.where(or_(*(func.lower(c).like(like) for c in cols)))
        total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = list(session.scalars(q.order_by(EquipmentItem.id.desc()).offset((page - 1) * per_page).limit(per_page)))
        return rows, total


def all_items(db: Database, policy: Policy, filters: Filters) -> list[EquipmentItem]:
    found, total = items(db, policy, filters, per_page=MAX_PAGE)
    page = 2
    while len(found) < total:
        more, _ = items(db, policy, filters, page=page, per_page=MAX_PAGE)
        if not more:
            break
        found.extend(more)
        page += 1
    return sorted(found, key=lambda i: i.id)


def item(db: Database, policy: Policy, item_id: int) -> EquipmentItem:
    settings(policy)
    with db.reading() as session:
        found = session.get(EquipmentItem, item_id)
        if found is None:
            raise not_found("품목", "item", item_id)
        return found


def history(db: Database, policy: Policy, item_id: int) -> list[EquipmentHistory]:
    item(db, policy, item_id)
    with db.reading() as session:
        return list(
            session.scalars(
                select(EquipmentHistory).where(EquipmentHistory.item_id == item_id).order_by(EquipmentHistory.id)
            )
        )


def require(policy: Policy, user: User, permission: str) -> None:
    if not may(policy, user, permission):
        raise Forbidden("권한이 없습니다", f"you lack {permission}")


# ---- import --------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    filename: str
    rows_read: int = 0
    created: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, ko, en)
    ignored_headers: list[str] = field(default_factory=list)


def import_items(
    db: Database, policy: Policy, user: User, data: bytes, *, filename: str, request_id: str | None = None
) -> ImportReport:
    """Import a sheet (XLSX, or CSV in UTF-8 or CP949): each good row becomes an item, whole; each bad one
    is reported by its line with the reason — a repeated serial within the file or against the register
    too — and the good rows are kept, in one transaction."""
    from gwanje.maintenance.equipment import report as sheets

    rules_ = settings(policy)
    filename = (filename or "upload").strip()[-120:] or "upload"
    try:
        sheet = rules.read_sheet(sheets.read_cells(data))
    except rules.Invalid as exc:
        raise _invalid(exc) from None
    result = ImportReport(filename=filename, rows_read=len(sheet.rows), ignored_headers=sheet.ignored_headers)
    if len(sheet.rows) > rules.MAX_IMPORT_ROWS:
        raise ValidationFailed(
            f"한 번에 {rules.MAX_IMPORT_ROWS}행까지 가져올 수 있습니다",
            f"at most {rules.MAX_IMPORT_ROWS} rows at a time",
            field="file",
        )
    now = utcnow()
    seen: dict[tuple[str, str], int] = {}
    seen_rows: dict[tuple, int] = {}
    with db.uow() as uow:
        session = uow.session
        for line, cells in sheet.rows:
            try:
                values = clean(policy, {**cells, "status": cells.get("status")})
            except ValidationFailed as exc:
                result.errors.append((line, exc.message_ko, exc.message_en))
                continue
            refusal = rules.dates_refusal(values.get("acquired_on"), values.get("warranty_until"))
            if refusal is None and values["status"] == rules_.disposed_status:
                refusal = rules.Refusal(
                    "불용 상태로 등록할 수 없습니다", "an item cannot be filed as disposed", "status"
                )
            if refusal is not None:
                result.errors.append((line, refusal.ko, refusal.en))
                continue
            values["owner_organisation"] = _owner(policy, values.get("owner_organisation"))
            whole = tuple(sorted((k, str(v)) for k, v in values.items()))
            if whole in seen_rows:
                result.errors.append(
                    (line, f"{seen_rows[whole]}행과 같은 행입니다", f"the same row as line {seen_rows[whole]}")
                )
                continue
            serial = values.get("serial")
            if serial:
                key = (rules.make_key(values.get("make")), serial)
                if key in seen:
                    result.errors.append(
                        (
                            line,
                            f"일련번호 {serial}가 {seen[key]}행에도 있습니다",
                            f"serial {serial} is also on line {seen[key]}",
                        )
                    )
                    continue
                held = _serial_taken(session, values.get("make"), serial)
                if held is not None:
                    c = _serial_conflict(values.get("make"), serial, held.id)
                    result.errors.append((line, c.message_ko, c.message_en))
                    continue
                seen[key] = line
            seen_rows[whole] = line
            item = EquipmentItem(
                **values,
                make_key=rules.make_key(values.get("make")),
                version=1,
                created_at=now,
                created_by=user.username,
                updated_at=now,
                updated_by=user.username,
            )
            session.add(item)
            session.flush()
            snap = _snapshot(item)
            _record(session, policy, user, item, "imported", None, {**snap, "file": filename, "line": line}, request_id)
            result.created += 1
        uow.commit()
    return result


def export_rows(db: Database, policy: Policy, filters: Filters) -> Sequence[EquipmentItem]:
    return all_items(db, policy, filters)
