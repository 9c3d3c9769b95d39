"""The audit chain: an append-only, hash-linked log of everything that matters.

Each row carries the hash of the row before it; the database refuses UPDATE and DELETE
(triggers, created by the migrations on SQLite and PostgreSQL). ``verify_chain`` walks the
rows in order and names the first one that was edited, removed or reordered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from gwanje.core.clock import utcnow
from gwanje.core.db import Base, UTCDateTime

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 4_712_001  # serialises appends on PostgreSQL


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person, a device or the system itself."""

    id: int | None
    name: str
    organisation: str | None = None
    role: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, name: str = "system", request_id: str | None = None) -> "Actor":
        return cls(id=None, name=name, organisation=None, role="system", request_id=request_id)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    organisation: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(120), index=True)
    purpose: Mapped[str | None] = mapped_column(String(60))
    clause: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def row_digest(fields: dict[str, Any], prev_hash: str) -> str:
    payload = dict(fields)
    at = payload["at"]
    payload["at"] = at.isoformat(timespec="microseconds") if isinstance(at, datetime) else at
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "organisation",
    "role",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "clause",
    "before",
    "after",
    "request_id",
)


def _fields_of(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


@dataclass(frozen=True)
class Change:
    action: str
    object_type: str | None = None
    object_id: Any = None
    before: Any = None
    after: Any = None
    purpose: str | None = None
    clause: str | None = None


class AuditLog:
    """Appends to the chain inside the caller's transaction (the use case commits)."""

    def __init__(self, session: Session):
        self.session = session
        self._head: tuple[int, str] | None = None

    def _load_head(self) -> tuple[int, str]:
        if self._head is None:
            if self.session.get_bind().dialect.name == "postgresql":
                self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            row = self.session.execute(
                select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
            ).first()
            self._head = (row[0], row[1]) if row else (0, GENESIS)
        return self._head

    def append(self, actor: Actor, change: Change) -> AuditEntry:
        return self.append_many(actor, [change])[-1]

    def append_many(self, actor: Actor, changes: Iterable[Change]) -> list[AuditEntry]:
        seq, prev = self._load_head()
        at = utcnow()
        entries = []
        for change in changes:
            seq += 1
            fields = {
                "seq": seq,
                "at": at,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "organisation": actor.organisation,
                "role": actor.role,
                "action": change.action,
                "object_type": change.object_type,
                "object_id": None if change.object_id is None else str(change.object_id),
                "purpose": change.purpose,
                "clause": change.clause,
                "before": _dump(change.before),
                "after": _dump(change.after),
                "request_id": actor.request_id,
            }
            digest = row_digest(fields, prev)
            entries.append(AuditEntry(**fields, prev_hash=prev, hash=digest))
            prev = digest
        self.session.add_all(entries)
        self.session.flush()
        self._head = (seq, prev)
        return entries


def list_entries(
    session: Session,
    *,
    action: str | None = None,
    object_id: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; ``before_seq`` pages backwards."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if before_seq:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    head_hash: str
    bad_seq: int | None = None
    problem_ko: str = ""
    problem_en: str = ""


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in ``seq`` order; stop at the first row that does not fit."""
    expected_seq = 1
    prev = GENESIS
    count = 0
    last_seq = 0
    while True:
        rows = (
            session.execute(select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch))
            .scalars()
            .all()
        )
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                if entry.seq > expected_seq:
                    return VerifyResult(
                        False,
                        count,
                        prev,
                        expected_seq,
                        f"{expected_seq}번 행이 삭제되었습니다",
                        f"row {expected_seq} was removed",
                    )
                return VerifyResult(
                    False, count, prev, entry.seq, f"{entry.seq}번 행 순서 오류", f"row {entry.seq} is out of order"
                )
            if entry.prev_hash != prev:
                return VerifyResult(
                    False,
                    count,
                    prev,
                    entry.seq,
                    f"{entry.seq}번 행이 앞 행과 연결되지 않습니다 (삭제 또는 순서 변경)",
                    f"row {entry.seq} does not link to the row before it (removed or reordered)",
                )
            if row_digest(_fields_of(entry), entry.prev_hash) != entry.hash:
                return VerifyResult(
                    False, count, prev, entry.seq, f"{entry.seq}번 행이 변경되었습니다", f"row {entry.seq} was edited"
                )
            prev = entry.hash
            expected_seq += 1
            count += 1
            last_seq = entry.seq
        session.expunge_all()
    return VerifyResult(True, count, prev)


def record_policy_in_force(session: Session, source: str, digest: str) -> bool:
    """Append ``policy.load`` when the policy in force differs from the last one recorded.

    The policy is a file, not a table: this is how a change to it reaches the audit chain.
    """
    last = session.execute(
        select(AuditEntry.after).where(AuditEntry.action == "policy.load").order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar()
    before = json.loads(last) if last else None
    if before and before.get("sha256") == digest:
        return False
    AuditLog(session).append(
        Actor.system("policy"), Change("policy.load", "policy", source, before, {"source": source, "sha256": digest})
    )
    return True
