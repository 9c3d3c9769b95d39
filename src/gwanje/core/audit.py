"""The audit chain: an append-only, hash-linked, keyed log of everything that matters.

Each row carries the hash of the row before it; the database refuses UPDATE and DELETE
(triggers, created by the migrations on SQLite and PostgreSQL). A SHA-256 chain alone can be
recomputed by anyone who gets past the triggers, so each new row also carries ``mac``, an
HMAC-SHA256 of its hash with a key that is not in the database (``GWANJE_AUDIT_KEY``, or derived
from the secret key in ``var/``), and ``key_id``, which names that key. Rows written before keyed
chains (``mac`` NULL) keep verifying as they are; from the first keyed row on, every row must be
keyed. Signed checkpoints outside the database (:mod:`gwanje.core.checkpoints`) pin the row count
and head, so rows removed from the end, or a chain recomputed from scratch, show too.

``verify_chain`` walks the rows in order and names the first one that was edited, removed,
reordered or re-hashed without the key, then compares the chain with every checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from gwanje.core.checkpoints import Checkpoint, CheckpointLog, CheckpointReading
from gwanje.core.clock import utcnow
from gwanje.core.db import AUDIT_CHECKPOINTS_INFO, AUDIT_KEY_INFO, Base, UTCDateTime

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
    # HMAC-SHA256(key, hash) and the key's id; NULL on rows written before the chain was keyed.
    mac: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))


def key_id_of(key: bytes) -> str:
    """A name for an HMAC key that does not reveal it."""
    return hashlib.sha256(b"gwanje-audit-key-id:" + key).hexdigest()[:16]


def row_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, b"gwanje-audit-mac-v1:" + digest.encode("ascii"), hashlib.sha256).hexdigest()


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
    fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
    if entry.key_id is not None:
        # A keyed row's hash covers its key id: stripping the MACs means recomputing the chain.
        fields["key_id"] = entry.key_id
    return fields


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
        self.key: bytes | None = session.info.get(AUDIT_KEY_INFO)
        self.key_id = key_id_of(self.key) if self.key else None

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
            if self.key:
                fields["key_id"] = self.key_id
                digest = row_digest(fields, prev)
                entries.append(AuditEntry(**fields, prev_hash=prev, hash=digest, mac=row_mac(self.key, digest)))
            else:
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
    actor: str | None = None,
    object_type: str | None = None,
    clause: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """Newest first; ``before_seq`` pages backwards. ``actor`` matches the start of the actor's name;
    ``since`` is inclusive, ``until`` exclusive."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if actor:
        stmt = stmt.where(AuditEntry.actor_name.startswith(actor, autoescape=True))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if clause:
        stmt = stmt.where(AuditEntry.clause == clause)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    if before_seq:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify_chain`` found. ``kind`` names the problem: edited, removed, reordered, unlinked,
    resigned (hashes link but the MAC does not match), unkeyed, other_key, no_key, truncated,
    rewritten (differs from a checkpoint) or checkpoint_file (a checkpoint's signature or link)."""

    ok: bool
    rows: int
    head_hash: str
    bad_seq: int | None = None
    problem_ko: str = ""
    problem_en: str = ""
    kind: str = ""
    keyed_since: int | None = None
    checkpoint: Checkpoint | None = None
    checkpoints: int = 0


def _when(cp: Checkpoint) -> str:
    return cp.at.isoformat(timespec="seconds")


def _against_checkpoints(
    reading: CheckpointReading, rows: int, seen: dict[int, str], keyed_since: int | None
) -> tuple[str, int | None, str, str] | None:
    """The earliest way the chain disagrees with a checkpoint, or None."""
    found: list[tuple[str, int | None, str, str]] = []
    for cp in reading.checkpoints:
        if cp.rows > rows:
            found.append(
                (
                    "truncated",
                    rows + 1,
                    f"{rows + 1}…{cp.rows}번 행이 체크포인트 {cp.number} ({_when(cp)}) 이후 사라졌습니다",
                    f"rows {rows + 1}…{cp.rows} missing since checkpoint {cp.number} of {_when(cp)}"
                    f" ({cp.rows:,} rows then, {rows:,} now)",
                )
            )
        elif cp.rows > 0 and seen.get(cp.rows) != cp.head:
            found.append(
                (
                    "rewritten",
                    cp.rows,
                    f"{cp.rows}번 행이 체크포인트 {cp.number} ({_when(cp)})와 다릅니다: 체인이 다시 쓰였습니다",
                    f"row {cp.rows} differs from checkpoint {cp.number} of {_when(cp)}: the chain was rewritten",
                )
            )
        elif cp.keyed_since is not None and (keyed_since is None or keyed_since > cp.keyed_since):
            found.append(
                (
                    "unkeyed",
                    cp.keyed_since,
                    f"{cp.keyed_since}번 행에 MAC이 없습니다 (체크포인트 {cp.number}에는 키 적용으로 기록됨)",
                    f"row {cp.keyed_since} carries no MAC although checkpoint {cp.number} of {_when(cp)}"
                    " records the chain keyed since then",
                )
            )
    if not found:
        return None
    return min(found, key=lambda f: f[1] or 0)


def verify_chain(
    session: Session,
    batch: int = 5000,
    *,
    since: Checkpoint | None = None,
    public_key: Any = None,
) -> VerifyResult:
    """Walk the chain in ``seq`` order; stop at the first row that does not fit; then compare it with
    every signed checkpoint (rows missing since one, a head that differs, MACs removed).

    The HMAC key and the checkpoint log come from the session (``Database.configure_audit``).
    ``since``: start after this (trusted) checkpoint, checking only that its head is still there.
    ``public_key``: check the checkpoints' signatures against an exported key.
    """
    key: bytes | None = session.info.get(AUDIT_KEY_INFO)
    key_id = key_id_of(key) if key else None
    log: CheckpointLog | None = session.info.get(AUDIT_CHECKPOINTS_INFO)
    reading = log.read(public_key) if log is not None else CheckpointReading([], [])
    if since is not None:
        reading = CheckpointReading([since], [])
    wanted = {cp.rows for cp in reading.checkpoints if cp.rows > 0}
    seen: dict[int, str] = {}

    expected_seq = 1
    prev = GENESIS
    count = 0
    last_seq = 0
    keyed_since: int | None = None
    if since is not None and since.rows > 0:
        base = session.get(AuditEntry, since.rows)
        if base is None or base.hash != since.head:
            # The chain no longer holds the trusted head: walk all of it to say where and how.
            return verify_chain(session, batch, public_key=public_key)
        seen[since.rows] = base.hash
        expected_seq = last_seq = count = since.rows
        expected_seq += 1
        prev = since.head
        keyed_since = since.keyed_since

    def fail(kind: str, seq: int | None, ko: str, en: str) -> VerifyResult:
        return VerifyResult(
            False, count, prev, seq, ko, en, kind, keyed_since, reading.latest, len(reading.checkpoints)
        )

    while True:
        rows = (
            session.execute(select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch))
            .scalars()
            .all()
        )
        if not rows:
            break
        for entry in rows:
            seq = entry.seq
            if seq != expected_seq:
                if seq > expected_seq:
                    return fail(
                        "removed",
                        expected_seq,
                        f"{expected_seq}번 행이 삭제되었습니다",
                        f"row {expected_seq} was removed",
                    )
                return fail("reordered", seq, f"{seq}번 행 순서 오류", f"row {seq} is out of order")
            if entry.prev_hash != prev:
                return fail(
                    "unlinked",
                    seq,
                    f"{seq}번 행이 앞 행과 연결되지 않습니다 (삭제 또는 순서 변경)",
                    f"row {seq} does not link to the row before it (removed or reordered)",
                )
            if row_digest(_fields_of(entry), entry.prev_hash) != entry.hash:
                return fail("edited", seq, f"{seq}번 행이 변경되었습니다", f"row {seq} was edited")
            if entry.mac is None:
                if keyed_since is not None or entry.key_id is not None:
                    since_row = keyed_since or seq
                    return fail(
                        "unkeyed",
                        seq,
                        f"{seq}번 행에 MAC이 없습니다 ({since_row}번 행부터 키가 적용된 체인)",
                        f"row {seq} carries no MAC although the chain is keyed since row {since_row}",
                    )
            else:
                if keyed_since is None:
                    keyed_since = seq
                if key is None:
                    return fail(
                        "no_key",
                        None,
                        "감사 키가 설정되지 않아 키가 적용된 행을 검증할 수 없습니다 (GWANJE_AUDIT_KEY)",
                        "no audit key is configured: the keyed rows cannot be checked (GWANJE_AUDIT_KEY)",
                    )
                if entry.key_id != key_id:
                    return fail(
                        "other_key",
                        seq,
                        f"{seq}번 행은 다른 키({entry.key_id})로 서명되었습니다; 이 설치의 키는 {key_id}입니다",
                        f"row {seq} was keyed with key {entry.key_id}, not this installation's key {key_id}"
                        " (GWANJE_AUDIT_KEY changed?)",
                    )
                if not hmac.compare_digest(row_mac(key, entry.hash), entry.mac):
                    return fail(
                        "resigned",
                        seq,
                        f"{seq}번 행의 HMAC이 맞지 않습니다 (해시는 연결됨): 키 없이 체인을 다시 계산했습니다",
                        f"row {seq}: its HMAC does not match although the hashes link: the chain was"
                        " recomputed without the key (row edited or re-signed)",
                    )
            if seq in wanted:
                seen[seq] = entry.hash
            prev = entry.hash
            expected_seq += 1
            count += 1
            last_seq = seq
        session.expunge_all()

    if reading.problems:
        first = reading.problems[0]
        return fail("checkpoint_file", None, first.problem_ko, first.problem_en)
    found = _against_checkpoints(reading, count, seen, keyed_since)
    if found is not None:
        return fail(*found)
    return VerifyResult(True, count, prev, None, "", "", "", keyed_since, reading.latest, len(reading.checkpoints))


def checkpoint_chain(session: Session, *, only_if_due: bool = False) -> tuple[VerifyResult | None, Checkpoint | None]:
    """Verify the chain and append a signed checkpoint of its row count and head.

    The chain is checked from the latest checkpoint on (all of it when there is none, or when the
    checkpoint file has a problem); a broken chain is never checkpointed. ``only_if_due``: do nothing
    before the log's interval has passed since the latest checkpoint, or when the head has not moved.
    """
    log: CheckpointLog | None = session.info.get(AUDIT_CHECKPOINTS_INFO)
    if log is None:
        return None, None
    reading = log.read()
    latest = reading.latest
    if only_if_due and latest is not None and (utcnow() - latest.at).total_seconds() < log.interval_seconds:
        return None, None
    result = verify_chain(session, since=latest if latest is not None and not reading.problems else None)
    if not result.ok:
        return result, None
    if only_if_due and latest is not None and (latest.rows, latest.head) == (result.rows, result.head_hash):
        return result, None
    key: bytes | None = session.info.get(AUDIT_KEY_INFO)
    checkpoint = log.append(
        at=utcnow(),
        rows=result.rows,
        head=result.head_hash,
        keyed_since=result.keyed_since,
        key_id=key_id_of(key) if key else None,
    )
    return result, checkpoint


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
