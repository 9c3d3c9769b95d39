"""The police hot list (수배·도난 차량) use cases: replaced as a whole by an upload, matched from memory
on every plate read (:class:`HotListCache`), listed plates for the simulator.
"""

from __future__ import annotations

import csv
import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import ValidationFailed
from gwanje.situations.hotlist.rules import HotList, normalize_plate, parse_hotlist_csv
from gwanje.situations.models import HotListEntry


@dataclass(frozen=True)
class HotListStatus:
    version: int
    count: int
    uploaded_at: datetime | None


def replace_hotlist_csv(db: Database, actor: Actor, data: bytes) -> HotListStatus:
    """Replace the whole list with a CSV; any bad line refuses the upload, so nothing half-applies."""
    if not data.strip():
        raise ValidationFailed(
            "수배차량 목록 파일이 비어 있습니다 (머리글: 차량번호,구분,사건번호,비고)",
            "the hot-list file is empty (header: 차량번호,구분,사건번호,비고 or plate,reason,case_ref,note)",
            field="file",
        )
    if b"\x00" in data:
        raise ValidationFailed(
            "수배차량 목록 파일에 NUL 문자가 있습니다 (CSV 파일이 아닙니다)",
            "the hot-list file contains NUL bytes (not a CSV file)",
            field="file",
        )
    try:
        entries, errors = parse_hotlist_csv(data)
    except (ValueError, csv.Error) as exc:  # undecodable, no header or no plate/reason column, a huge field
        ko, _, en = str(exc).partition(" / ")
        raise ValidationFailed(
            f"수배차량 목록을 읽을 수 없습니다 (목록은 바뀌지 않았습니다): {ko}",
            f"the hot list cannot be read (the list was not changed): {en or ko}",
            field="file",
        ) from None
    if errors:
        raise ValidationFailed(
            f"수배차량 목록에 잘못된 행이 {len(errors)}개 있습니다 (목록은 바뀌지 않았습니다)",
            f"the hot list has {len(errors)} bad lines (the list was not changed)",
            field="file",
            details={"errors": [_error_dict(e) for e in errors[:200]]},
        )
    return replace_hotlist(db, actor, entries, hashlib.sha256(data).hexdigest())


def _error_dict(error) -> dict:  # noqa: ANN001
    if isinstance(error, dict):
        return error
    if isinstance(error, tuple):
        return {"line": error[0], "reason": str(error[1:])}
    return {k: getattr(error, k) for k in ("line", "ko", "en") if hasattr(error, k)} or {"reason": str(error)}


def replace_hotlist(db: Database, actor: Actor, entries, digest: str | None = None) -> HotListStatus:  # noqa: ANN001
    now = utcnow()
    rows = []
    for e in entries:
        plate, reason, case_ref, note = (tuple(e) + (None, None))[:4]
        rows.append({"plate": normalize_plate(plate), "reason": reason, "case_ref": case_ref, "note": note})
    with db.uow() as uow:
        session = uow.session
        version = (session.scalar(select(func.max(HotListEntry.version))) or 0) + 1
        before = session.scalar(select(func.count()).select_from(HotListEntry)) or 0
        session.execute(delete(HotListEntry))
        if rows:
            session.execute(insert(HotListEntry), [{**r, "version": version, "uploaded_at": now} for r in rows])
        AuditLog(session).append(
            actor,
            Change(
                "hotlist.replace",
                "hotlist",
                f"v{version}",
                {"count": before},
                {"count": len(rows), "sha256": digest},
                clause="annex-2",
            ),
        )
        uow.commit()
    return HotListStatus(version, len(rows), now)


def hotlist_status(db: Database) -> HotListStatus:
    with db.reading() as session:
        version, count, at = session.execute(
            select(func.max(HotListEntry.version), func.count(), func.max(HotListEntry.uploaded_at))
        ).one()
    return HotListStatus(version or 0, count or 0, at)


def hot_plates(db: Database, limit: int = 5000) -> list[str]:
    """Listed plates, for the simulator to read now and then; none when there is no list (yet)."""
    with db.reading() as session:
        return list(session.scalars(select(HotListEntry.plate).order_by(HotListEntry.id).limit(limit)))


class HotListCache:
    """The list in memory; it re-reads the database when another instance uploads a new version."""

    CHECK_SECONDS = 5.0

    def __init__(self, db: Database):
        self.db = db
        self._lock = threading.Lock()
        self._version = -1
        self._list: HotList | None = None
        self._checked = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._checked = 0.0

    def _current(self) -> HotList:
        now = time.monotonic()
        if self._list is not None and now - self._checked < self.CHECK_SECONDS:
            return self._list
        with self._lock:
            if self._list is not None and now - self._checked < self.CHECK_SECONDS:
                return self._list
            with self.db.reading() as session:
                version = session.scalar(select(func.max(HotListEntry.version))) or 0
                if version != self._version or self._list is None:
                    rows = session.execute(
                        select(HotListEntry.plate, HotListEntry.reason, HotListEntry.case_ref, HotListEntry.note)
                    ).all()
                    self._list = HotList.build([tuple(r) for r in rows])
                    self._version = version
            self._checked = now
            return self._list

    def match(self, plate_text: str):  # noqa: ANN201
        return self._current().match(plate_text)
