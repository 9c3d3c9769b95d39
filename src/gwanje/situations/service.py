"""Situation use cases: ingest device messages, route incidents, work them to the end.

Ingest is batched: one transaction stores every message of a batch in the inbox (unique on
source and message id, so a replay is recognised and ignored), creates the incidents, and commits
before anyone acknowledges the messages. A message that cannot be used is stored with its error.

Every use case records what happened as typed events (:mod:`gwanje.situations.events`) on its
unit of work, which publishes them once the transaction has committed: no caller publishes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from gwanje.korean import with_particle
from gwanje.access.service import attached_camera_ids, incident_facts
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed, not_found
from gwanje.core.events import DomainEvent
from gwanje.policy import decisions
from gwanje.policy.model import Policy, UnknownCode
from gwanje.registry.models import Camera
from gwanje.registry.rules import bearing_deg, compass_ko_en
from gwanje.registry.service import CameraIndex
from gwanje.situations import events, inbox, rules, sequences
from gwanje.situations.inbox import RawMessage
from gwanje.situations.messages import DeviceMessage, MessageError, parse_message
from gwanje.situations.models import Dispatch, InboxMessage, Incident, IncidentEvent
from gwanje.situations.schemas import incident_view

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    status: str  # stored | duplicate | rejected
    message_id: str
    inbox_id: int | None = None
    incident_id: int | None = None
    error: str | None = None
    note: str | None = None  # why a stored message raised no incident, where that is not plain


@dataclass
class IngestBatch:
    """What became of each message; ``published``: the events its units of work published (for counts)."""

    results: list[IngestResult]
    published: list[DomainEvent] = field(default_factory=list)


# ---- message types another capability handles (the composition root registers them) ---------------


@dataclass(frozen=True)
class Handled:
    """A stored message handed to the capability that handles its type, in the batch's transaction;
    the handler sets ``result.incident_id`` and ``result.note`` where it raises or decides something."""

    inbox_id: int
    source: str
    message: DeviceMessage
    result: IngestResult


class MessageHandler(Protocol):
    def check(self, policy: Policy, message: DeviceMessage) -> str | None:
        """Why the message cannot be used (kept in the inbox with this error), or None."""

    def apply(self, uow: UnitOfWork, policy: Policy, items: list[Handled], now: datetime) -> None:
        """What the stored messages do; recorded on ``uow``, never committed."""


# Types parsed here but handled elsewhere: ``room_access`` by the center's rooms (gwanje.center.rooms).
# A process that stores one with no handler registered keeps it with a processing error, never silently.
DELEGATED_TYPES: tuple[str, ...] = ("room_access",)
_HANDLERS: dict[str, MessageHandler] = {}


def register_message_handler(message_type: str, handler: MessageHandler) -> None:
    """Hand every stored message of ``message_type`` to ``handler`` (called once by the composition root)."""
    if message_type not in DELEGATED_TYPES:
        raise ValueError(f"not a delegated message type: {message_type}")
    _HANDLERS[message_type] = handler


def _handler(message_type: str) -> MessageHandler:
    handler = _HANDLERS.get(message_type)
    if handler is None:
        raise RuntimeError(f"no handler for {message_type} messages is registered in this process")
    return handler


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class _CameraReport:
    """A device says a camera is faulty or working again; applied once per batch."""

    camera_id: int
    status: str  # fault | active
    source: str
    message_id: str


@dataclass
class _Batch:
    """What one ingest transaction does, gathered before it is written."""

    results: list[IngestResult] = field(default_factory=list)
    new_incidents: list[tuple[IngestResult, dict[str, Any]]] = field(default_factory=list)
    camera_reports: list[_CameraReport] = field(default_factory=list)
    sequences: sequences.Tracked | None = None
    handled: dict[str, list[Handled]] = field(default_factory=dict)  # delegated types, by type
    review_required: bool = False  # the incidents it raises await the operator's review (Art. 9 ⑤)


def ingest_batch(
    db: Database,
    policy: Policy,
    batch: list[RawMessage],
    *,
    hotlist: inbox.HotListMatcher | None = None,
    now: datetime | None = None,
    review_required: bool = False,
) -> IngestBatch:
    """Store and process a batch in one transaction; the caller acknowledges after it returns.

    ``review_required``: the incidents raised are a hand-made report of an incident-only role and
    ground no view until the operator has reviewed them."""
    if not batch:
        return IngestBatch([])
    now = now or utcnow()
    heads = sequences.heads_of(db.engine)
    try:
        try:
            return _ingest_once(db, policy, batch, hotlist, now, review_required, heads)
        except sequences.StaleHeads as stale:
            # Another writer advanced a device meanwhile: forget what we held, read the rows locked.
            log.info("device sequence rows changed under the cache (%s); the batch is done again", stale)
            if heads is not None:
                heads.forget()
            return _ingest_once(db, policy, batch, hotlist, now, review_required, None)
    except Exception:  # isolate the message that broke the batch
        if len(batch) == 1:
            return _store_failure(db, batch[0], now)
        log.exception("batch of %d failed; retrying one by one", len(batch))
        out = IngestBatch([])
        for item in batch:
            part = ingest_batch(db, policy, [item], hotlist=hotlist, now=now, review_required=review_required)
            out.results.extend(part.results)
            out.published.extend(part.published)
        return out


def _ingest_once(
    db: Database,
    policy: Policy,
    batch: list[RawMessage],
    hotlist: inbox.HotListMatcher | None,
    now: datetime,
    review_required: bool,
    heads: sequences.Heads | None,
) -> IngestBatch:
    with db.uow() as uow:
        work = _ingest(uow, policy, batch, hotlist, now, review_required, heads)
        uow.commit()
        if heads is not None and work.sequences is not None:
            heads.remember(work.sequences)
        return IngestBatch(work.results, list(uow.published))


def _rejected(uow: UnitOfWork, p: inbox.Planned, inbox_id: int) -> IngestResult:
    rule = _rule_of(p.type, _loose_json(p.raw.raw)) if p.type == "video_analytics" else None
    uow.record(
        events.MessageRejected(inbox_id=inbox_id, source=p.raw.source, type=p.type, error=p.error or "", rule=rule)
    )
    return IngestResult("rejected", p.message_id, inbox_id, error=p.error)


def _store_failure(db: Database, item: RawMessage, now: datetime) -> IngestBatch:
    """A message that made processing fail is still kept, with the error, never lost."""
    log.exception("message from %s could not be processed", item.source)
    exc = sys.exc_info()[1]
    error = f"처리 오류 / processing error: {type(exc).__name__}: {exc}"
    try:
        msg_id = parse_message(item.raw).message_id
    except MessageError as bad:
        msg_id = bad.message_id or "sha256:" + hashlib.sha256(item.raw).hexdigest()
    planned = inbox.Planned(item, msg_id[:160], None, None, error[:2000])
    with db.uow() as uow:
        inbox_id = inbox.store(uow.session, [planned], now).get((item.source, planned.message_id))
        result = _rejected(uow, planned, inbox_id) if inbox_id else IngestResult("duplicate", planned.message_id)
        uow.commit()
        return IngestBatch([result], list(uow.published))


def reject_unroutable(db: Database, items: list[tuple[RawMessage, str]], now: datetime | None = None) -> IngestBatch:
    """Keep messages refused before parsing (a malformed MQTT topic) in the inbox, with their error.

    The message id is a digest of topic and bytes, so a replay of the same message on the same
    bad topic is recognised, and two different topics never shadow each other.
    """
    now = now or utcnow()
    planned = []
    for raw, error in items:
        digest = hashlib.sha256((raw.device_id or "").encode() + b"\x00" + raw.raw).hexdigest()
        planned.append(inbox.Planned(raw, "topic-sha256:" + digest, None, None, error[:2000]))
    with db.uow() as uow:
        stored = inbox.store(uow.session, planned, now)
        results = []
        for p in planned:
            inbox_id = stored.pop((p.raw.source, p.message_id), None)
            results.append(
                _rejected(uow, p, inbox_id) if inbox_id is not None else IngestResult("duplicate", p.message_id)
            )
        uow.commit()
        return IngestBatch(results, list(uow.published))


def _ingest(
    uow: UnitOfWork,
    policy: Policy,
    batch: list[RawMessage],
    hotlist: inbox.HotListMatcher | None,
    now: datetime,
    review_required: bool = False,
    heads: sequences.Heads | None = None,
) -> _Batch:
    session = uow.session
    planned = inbox.plan(session, batch, hotlist)
    for p in planned:
        if p.error is None and p.type in DELEGATED_TYPES:
            p.error = _handler(p.type).check(policy, p.parsed)
    stored = inbox.store(session, planned, now)
    work = _Batch(review_required=review_required)
    claimed: set[tuple[str, str]] = set()
    for p in planned:
        key = (p.raw.source, p.message_id)
        inbox_id = stored.get(key)
        if inbox_id is None or key in claimed:
            work.results.append(IngestResult("duplicate", p.message_id))
            continue
        claimed.add(key)
        if p.error:
            work.results.append(_rejected(uow, p, inbox_id))
            continue
        result = IngestResult("stored", p.message_id, inbox_id)
        work.results.append(result)
        _apply(policy, p, inbox_id, now, work, result)
    _apply_camera_reports(uow, policy, now, work.camera_reports)
    for message_type, items in work.handled.items():
        _handler(message_type).apply(uow, policy, items, now)
    loss_incidents = _track_sequences(session, policy, planned, stored, now, work, heads)
    if work.new_incidents:
        rows = [row for _, row in work.new_incidents]
        for row, new_id in zip(rows, inbox.allocate_ids(session, Incident, len(rows))):
            row["id"] = new_id
        # Plain executemany with ids chosen up front: psycopg pipelines it, and no wide
        # multi-row VALUES statement has to be built and parsed per batch.
        inbox.insert_rows(session, Incident, rows)
        inbox.insert_rows(
            session,
            IncidentEvent,
            [
                {
                    "incident_id": row["id"],
                    "at": now,
                    "actor_id": None,
                    "actor_name": f"device:{row['source']}",
                    "role": None,
                    "action": "created",
                    "from_status": None,
                    "to_status": "new",
                    "note": None,
                    "data": _json({"inbox_id": row["inbox_id"], "clause": row["clause"]}),
                }
                for row in rows
            ],
        )
        for state, row in loss_incidents:
            state.incident_id = row["id"]
        for result, row in work.new_incidents:
            result.incident_id = row["id"]
            uow.record(
                events.IncidentRaised(incident_view(SimpleNamespace(**row, acknowledged_at=None, closed_at=None)))
            )
    if work.sequences is not None:
        sequences.save(session, work.sequences)
    session.flush()
    return work


def _track_sequences(
    session: Session,
    policy: Policy,
    planned: list[inbox.Planned],
    stored: dict[tuple[str, str], int],
    now: datetime,
    work: _Batch,
    heads: sequences.Heads | None = None,
) -> list[tuple[Any, dict[str, Any]]]:
    """Advance every device's sequence by its new messages; gaps are raised as the policy's
    ``message_loss`` situation, one per sending system, or added to its timeline while it is open."""
    sequenced, seen = [], set()
    for p in planned:
        key = (p.raw.source, p.message_id)
        if p.parsed is None or p.parsed.seq is None or key not in stored or key in seen:
            continue
        seen.add(key)
        device = p.parsed.device_id or p.raw.device_id or "-"
        sequenced.append((p.raw.source, device, p.parsed.seq, p.parsed.seq_reset))
    tracked = sequences.track(session, sequenced, now, heads)
    work.sequences = tracked
    losses = tracked.losses
    if not losses:
        return []
    for loss in losses:
        log.warning(
            "%d message(s) of %s/%s never arrived (sequence gaps %s)",
            loss.missing,
            loss.row.source,
            loss.row.device_id,
            loss.gaps,
        )
    situation = policy.situation_for_system("message_loss")
    if situation is None:
        return []  # counted and on the health page; this policy raises no incident for it
    by_source: dict[str, list[sequences.Loss]] = {}
    for loss in losses:
        by_source.setdefault(loss.row.source, []).append(loss)
    raised: list[tuple[Any, dict[str, Any]]] = []
    timeline = []
    for source, found in sorted(by_source.items()):
        # One open incident per sending system: a broker that drops, drops for many devices at once.
        open_id = session.scalar(
            select(Incident.id)
            .where(Incident.type == situation.type, Incident.source == source, Incident.status.not_in(rules.FINISHED))
            .order_by(Incident.id.desc())
            .limit(1)
        )
        missing = sum(loss.missing for loss in found)
        facts = {
            "system": "message_loss",
            "source": source,
            "missing": missing,
            "devices": {
                loss.row.device_id: {"missing": loss.missing, "gaps": [list(g) for g in loss.gaps]}
                for loss in found[: sequences.MAX_DEVICES_NAMED]
            },
            "device_count": len(found),
        }
        if open_id is not None:
            for loss in found:
                loss.row.incident_id = open_id
            timeline.append(
                {
                    "incident_id": open_id,
                    "at": now,
                    "actor_id": None,
                    "actor_name": "system:sequence",
                    "role": None,
                    "action": "messages_lost",
                    "from_status": None,
                    "to_status": None,
                    "note": f"장치 {len(found)}대 {missing}건 추가 유실 / "
                    f"{missing} more lost from {len(found)} device(s)",
                    "data": _json(facts),
                }
            )
            continue
        incident = {
            "type": situation.type,
            "status": "new",
            "title": f"메시지 유실 {source}: 장치 {len(found)}대 {missing}건",
            "source": source,
            "device_id": found[0].row.device_id if len(found) == 1 else None,
            "camera_id": None,
            "latitude": None,
            "longitude": None,
            "escalation_level": 0,
            "sop_done": ",",
            "sop_skipped": ",",
            "details": _json(facts),
            "occurred_at": now,
            "created_at": now,
            "updated_at": now,
            "inbox_id": None,
            **_route(policy, situation.type, now, now),
        }
        work.new_incidents.append((IngestResult("stored", f"message_loss:{source}"), incident))
        raised.extend((loss.row, incident) for loss in found)
    if timeline:
        session.execute(insert(IncidentEvent), timeline)
    return raised


# ---- situations the system itself raises (policy ``raised_by: [{system: …}]``) -------------------


def _lock_system_key(session: Session, trigger: str, key: str) -> None:
    """Serialise raising and closing one system situation among processes (PostgreSQL; SQLite
    writes one transaction at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        digest = int.from_bytes(hashlib.sha256(f"system:{trigger}:{key}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})


def open_system_incident(session: Session, policy: Policy, trigger: str, key: str) -> Incident | None:
    """The open incident the system raised for ``trigger`` and ``key`` (e.g. a staffing rule), if any."""
    situation = policy.situation_for_system(trigger)
    if situation is None:
        return None
    return session.scalar(
        select(Incident)
        .where(
            Incident.type == situation.type,
            Incident.source == f"system:{trigger}"[:40],
            Incident.device_id == key[:120],
            Incident.status.not_in(rules.FINISHED),
        )
        .order_by(Incident.id.desc())
        .limit(1)
    )


def raise_system_incident(
    uow: UnitOfWork,
    policy: Policy,
    trigger: str,
    key: str,
    *,
    titles: dict[str, str],
    facts: dict[str, Any],
    now: datetime,
    camera_id: int | None = None,
    note: tuple[str, str] | None = None,
) -> tuple[Incident | None, bool]:
    """Raise the policy's situation for a condition the system noticed (``trigger``, one of
    :data:`gwanje.policy.model.SYSTEM_TRIGGERS`), one open incident per ``key``: while one is open the
    condition is added to its timeline instead. Returns the incident (None where this policy raises
    no situation for the trigger) and whether it is new. Recorded on ``uow``; the caller commits."""
    situation = policy.situation_for_system(trigger)
    if situation is None:
        return None, False
    session = uow.session
    _lock_system_key(session, trigger, key)
    details = {"system": trigger, "key": key, "titles": titles, **facts}
    current = open_system_incident(session, policy, trigger, key)
    if current is not None:
        session.add(
            IncidentEvent(
                incident_id=current.id,
                at=now,
                actor_id=None,
                actor_name=f"system:{trigger}",
                role=None,
                action="system_noticed",
                note=" / ".join(note) if note else None,
                data=_json(facts),
            )
        )
        return current, False
    incident = Incident(
        type=situation.type,
        status="new",
        title=titles.get("ko", trigger)[:300],
        source=f"system:{trigger}"[:40],
        device_id=key[:120],
        camera_id=camera_id,
        escalation_level=0,
        sop_done=",",
        sop_skipped=",",
        details=_json(details),
        occurred_at=now,
        created_at=now,
        updated_at=now,
        **_route(policy, situation.type, now, now),
    )
    session.add(incident)
    session.flush()
    session.add(
        IncidentEvent(
            incident_id=incident.id,
            at=now,
            actor_id=None,
            actor_name=f"system:{trigger}",
            role=None,
            action="created",
            to_status="new",
            note=" / ".join(note) if note else None,
            data=_json({"clause": incident.clause, **facts}),
        )
    )
    uow.record(events.IncidentRaised(incident_view(incident)))
    return incident, True


def close_system_incident(
    uow: UnitOfWork, policy: Policy, trigger: str, key: str, *, note: tuple[str, str], now: datetime
) -> Incident | None:
    """The condition the system raised is over (e.g. an officer checked in): its open incident is
    closed by the system, with ``note`` (Korean, English) on the timeline. None if none was open."""
    session = uow.session
    _lock_system_key(session, trigger, key)
    incident = open_system_incident(session, policy, trigger, key)
    if incident is None:
        return None
    before = incident.status
    incident.status, incident.closed_at, incident.updated_at, incident.ack_due_at = "closed", now, now, None
    session.add(
        IncidentEvent(
            incident_id=incident.id,
            at=now,
            actor_id=None,
            actor_name=f"system:{trigger}",
            role=None,
            action="system_closed",
            from_status=before,
            to_status="closed",
            note=" / ".join(note),
        )
    )
    uow.record(events.IncidentClosed(incident_view(incident)))
    return incident


def _route(policy: Policy, situation: str, at: datetime, now: datetime) -> dict[str, Any]:
    """Day or night by when it happened; the acknowledgement clock starts when it reached us."""
    routing = decisions.route_situation(policy, situation, at)
    escalation = policy.situation(situation).escalation
    return {
        "responsible_org": routing.responsible_organisation,
        "recognising_org": routing.recognising_organisation,
        "recognising_role": routing.recognising_role,
        "responding_org": routing.responding_organisation,
        "responding_roles": rules.join(routing.responding_roles),
        "assigned_role": routing.handler_role,
        "period": routing.day_or_night,
        "clause": routing.clause,
        "ack_due_at": now + timedelta(minutes=escalation.ack_minutes) if escalation else None,
    }


def _apply(policy: Policy, p: inbox.Planned, inbox_id: int, now: datetime, work: _Batch, result: IngestResult) -> None:
    """What a stored message does: a camera status report, an incident row to insert, or nothing."""
    msg = p.parsed
    if msg.type in DELEGATED_TYPES:
        work.handled.setdefault(msg.type, []).append(Handled(inbox_id, p.raw.source, msg, result))
        return
    payload = msg.payload
    occurred = msg.occurred_at or now
    if msg.type in ("camera_fault", "camera_recovery"):
        work.camera_reports.append(
            _CameraReport(p.camera.id, "fault" if msg.type == "camera_fault" else "active", p.raw.source, p.message_id)
        )
    if msg.type == "camera_recovery":
        return
    if msg.type == "plate_read" and p.match is None:
        return  # an ordinary read: kept in the inbox, no incident
    # Which situation (Annex 2 row) the message raises is the policy's (duty.situations[].raised_by).
    rule = getattr(payload, "rule", None) if msg.type == "video_analytics" else None
    raised = policy.situation_for_message(msg.type, rule)
    if raised is None:
        what = f"{msg.type}/{rule}" if rule else msg.type
        result.note = (
            f"보관만 함: 정책에 이 메시지({what})로 발생하는 상황이 없습니다 / "
            f"kept only: the policy raises no situation for {what}"
        )
        return
    situation = raised.type
    details: dict[str, Any] = {"message_type": msg.type, **payload.model_dump(mode="json")}
    lat = getattr(payload, "latitude", None)
    lon = getattr(payload, "longitude", None)
    camera_id = None
    if p.camera is not None:
        camera_id = p.camera.id
        details["camera_purposes"] = [
            p.camera.primary_purpose,
            *[x for x in p.camera.secondary_purposes.split(",") if x],
        ]
        if lat is None:
            lat, lon = p.camera.latitude, p.camera.longitude
    if msg.type == "plate_read":
        m = p.match
        details["hotlist"] = {
            "plate": m.plate,
            "read": m.read,
            "kind": m.kind,
            "position": m.position,
            "read_char": m.read_char,
            "list_char": m.list_char,
            "reason": m.reason,
            "case_ref": m.case_ref,
        }
    work.new_incidents.append(
        (
            result,
            {
                "type": situation,
                "status": "new",
                "title": _title(msg, p),
                "source": p.raw.source,
                "device_id": msg.device_id or p.raw.device_id,
                "camera_id": camera_id,
                "latitude": lat,
                "longitude": lon,
                "escalation_level": 0,
                "sop_done": ",",
                "sop_skipped": ",",
                "details": _json(details),
                "occurred_at": occurred,
                "created_at": now,
                "updated_at": now,
                "inbox_id": inbox_id,
                "review_required": work.review_required,
                **_route(policy, situation, min(occurred, now), now),
            },
        )
    )


def _title(msg: DeviceMessage, p: inbox.Planned) -> str:
    payload = msg.payload
    cam = f" @ {p.camera.management_number}" if p.camera is not None else ""
    if msg.type == "emergency_bell":
        return f"비상벨 {payload.bell_id}{cam}"
    if msg.type == "u_seoul_safety":
        return f"u-서울 안전서비스 {payload.person_id} (±{payload.accuracy_m:.0f}m)"
    if msg.type == "video_analytics":
        return f"지능형 이벤트 {payload.rule}/{payload.object_class}{cam}"
    if msg.type == "plate_read":
        kind = "일치" if p.match.kind == "exact" else "유사"
        return f"수배차량 {p.match.plate} ({kind}: {payload.plate}){cam}"
    if msg.type == "camera_fault":
        return f"카메라 고장 {payload.fault}{cam}"
    return payload.title


def _device_role(policy: Policy) -> str | None:
    """The role devices send events as (``events.ingest``), for the audit of what a device reported."""
    try:
        return next(iter(policy.roles_with("events.ingest")), None)
    except UnknownCode:
        return None


def _apply_camera_reports(uow: UnitOfWork, policy: Policy, now: datetime, reports: list[_CameraReport]) -> None:
    """One read, one audit head and one flush for all the batch's fault and recovery reports."""
    if not reports:
        return
    session = uow.session
    role = _device_role(policy)
    table = Camera.__table__
    # Only the columns this needs (no entity loads); written back below in id order, as a flush did.
    found = session.execute(
        select(table.c.id, table.c.management_number, table.c.status).where(
            table.c.id.in_(sorted({r.camera_id for r in reports}))
        )
    )
    cameras = {row.id: SimpleNamespace(**row._mapping, touched=False) for row in found}
    # Audit rows in report order; one append (one flush) per run of reports from the same source.
    runs: list[tuple[str, list[Change]]] = []
    for r in reports:
        camera = cameras[r.camera_id]
        if camera.status == r.status:
            continue
        before, camera.status, camera.touched = camera.status, r.status, True
        change = Change(
            "camera.status",
            "camera",
            camera.management_number,
            {"status": before},
            {"status": r.status, "message_id": r.message_id},
        )
        if runs and runs[-1][0] == r.source:
            runs[-1][1].append(change)
        else:
            runs.append((r.source, [change]))
        event = events.CameraFaulted if r.status == "fault" else events.CameraRecovered
        uow.record(event(camera_id=camera.id, management_number=camera.management_number))
    changed = [{"_id": c.id, "_status": c.status, "_at": now} for _, c in sorted(cameras.items()) if c.touched]
    if changed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(status=bindparam("_status"), updated_at=bindparam("_at")),
            changed,
        )
    audit = AuditLog(session)
    for source, changes in runs:
        audit.append_many(Actor(None, f"device:{source}", role=role), changes)


# ---- who may see and work an incident ----------------------------------------------------------


def routed(policy: Policy, incident: Incident) -> rules.Routed:
    """What the incident row says about who is responsible (frozen at creation)."""
    return rules.Routed(
        type=incident.type,
        responsible_org=incident.responsible_org,
        recognising_org=incident.recognising_org,
        recognising_role=incident.recognising_role,
        responding_org=incident.responding_org,
        responding_roles=tuple(sorted(rules.split(incident.responding_roles))),
        assigned_role=incident.assigned_role,
        two_stage=policy.situation(incident.type).two_stage,
    )


def camera_purposes(incident: Incident) -> tuple[str, ...]:
    """The purposes of the incident's camera when it was raised (for department officers' view)."""
    return tuple(json.loads(incident.details or "{}").get("camera_purposes", ()))


def may_see(policy: Policy, role: str, department: str | None, incident: Incident) -> bool:
    return rules.may_see(policy, role, department, routed(policy, incident), camera_purposes(incident))


def _get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise not_found("상황", "incident", incident_id)
    return incident


def visible_incident(db: Database, policy: Policy, role: str, department: str | None, incident_id: int) -> Incident:
    """The incident, if this person may see it on the board; otherwise a refusal citing Art. 9 ⑤ (the
    policy's ``access.incident_only_clause``: the board is the same GIS the 112 room sees)."""
    with db.reading() as session:
        incident = _get_incident(session, incident_id)
    if not may_see(policy, role, department, incident):
        raise Forbidden(
            "이 상황을 볼 수 없습니다", "you may not see this incident", clause=policy.access.incident_only_clause
        )
    return incident


# ---- working an incident ----------------------------------------------------------------------


def act(
    db: Database,
    policy: Policy,
    actor: Actor,
    incident_id: int,
    action: str,
    *,
    note: str | None = None,
    unit: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Move an incident along the state machine; refuses any other move with a clear error."""
    now = now or utcnow()
    if action not in rules.ACTIONS:
        raise ValidationFailed(f"알 수 없는 조치: {action}", f"unknown action: {action}", field="action")
    with db.uow() as uow:
        session = uow.session
        incident = _get_incident(session, incident_id)
        if session.get_bind().dialect.name == "postgresql":
            session.refresh(incident, with_for_update=True)
        target = rules.next_status(incident.status, action)
        rules.check_actor(policy, routed(policy, incident), actor.role or "", action)
        data: dict[str, Any] = {}
        if action == "resolve":
            missing = rules.missing_required_steps(
                policy, incident.type, rules.split(incident.sop_done), rules.split(incident.sop_skipped)
            )
            if missing:
                labels = [s.ko for s in policy.situation(incident.type).sop if s.code in missing]
                raise ValidationFailed(
                    "필수 처리 단계가 남았습니다: " + ", ".join(labels),
                    "required SOP steps are not done: " + ", ".join(missing),
                    field="sop",
                    details={"missing": missing},
                )
        if action == "dispatch":
            if not unit or not unit.strip():
                raise ValidationFailed(
                    "출동 순찰차(호출부호)를 입력하세요", "name the patrol unit dispatched", field="unit"
                )
            session.add(
                Dispatch(
                    incident_id=incident.id,
                    unit=unit.strip()[:60],
                    dispatched_at=now,
                    dispatched_by=actor.name,
                    note=note,
                )
            )
            data["unit"] = unit.strip()[:60]
        if action == "hand_over":
            incident.assigned_role = sorted(rules.split(incident.responding_roles))[0]
            data["to"] = incident.assigned_role
        responder = (actor.role or "") in rules.split(incident.responding_roles)
        if action == "take" or (action == "acknowledge" and responder):
            _take(incident, actor, now)
            data["taken_by"] = actor.name
        if action == "review":
            _review(incident, actor, now)
        before = incident.status
        incident.status = target
        incident.updated_at = now
        if action == "acknowledge":
            incident.acknowledged_at = now
            incident.ack_due_at = None
        if target in rules.FINISHED:
            incident.closed_at = now
            incident.ack_due_at = None
        session.add(
            IncidentEvent(
                incident_id=incident.id,
                at=now,
                actor_id=actor.id,
                actor_name=actor.name,
                role=actor.role,
                action=action,
                from_status=before,
                to_status=target,
                note=note,
                data=_json(data) if data else None,
            )
        )
        uow.record(events.ACTION_EVENTS[action](incident_view(incident)))
        uow.commit()
        return incident


def _take(incident: Incident, actor: Actor, now: datetime) -> None:
    """The responder takes the incident; one who has taken it keeps it (Art. 9 ⑤: an officer may
    not use another officer's incident)."""
    if incident.taken_by_id is not None and incident.taken_by_id != actor.id:
        raise Conflict(
            f"이미 {with_particle(incident.taken_by_name, '이/가')} 담당한 상황입니다",
            f"the incident has already been taken by {incident.taken_by_name}",
            field="action",
        )
    incident.taken_by_id, incident.taken_by_name, incident.taken_at = actor.id, actor.name, now


def _review(incident: Incident, actor: Actor, now: datetime) -> None:
    """The operator has reviewed a situation an incident-only organisation reported by hand."""
    if not incident.review_required or incident.reviewed_at is not None:
        raise Conflict("검토할 필요가 없는 상황입니다", "the incident awaits no review", field="action")
    incident.reviewed_by_name, incident.reviewed_at = actor.name, now


def sop_step(
    db: Database,
    policy: Policy,
    actor: Actor,
    incident_id: int,
    code: str,
    *,
    skip_reason: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Tick a checklist step, or skip it with a reason (which alerts the supervisor)."""
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        incident = _get_incident(session, incident_id)
        steps = {s.code: s for s in policy.situation(incident.type).sop}
        if code not in steps:
            raise ValidationFailed(
                f"이 상황 유형에 없는 단계: {code}", f"no such SOP step for this incident: {code}", field="code"
            )
        if incident.status in rules.FINISHED or incident.status == "resolved":
            raise ValidationFailed("끝난 상황입니다", "the incident is already finished", field="status")
        if actor.role not in policy.supervisors and not rules.may_see(
            policy, actor.role or "", None, routed(policy, incident)
        ):
            raise Forbidden("이 상황을 처리할 수 없습니다", "you may not work this incident", clause="annex-2")
        done, skipped = rules.split(incident.sop_done), rules.split(incident.sop_skipped)
        alert = None
        if skip_reason is not None:
            if not skip_reason.strip():
                raise ValidationFailed("건너뛴 사유를 입력하세요", "give a reason for skipping", field="reason")
            skipped.add(code)
            done.discard(code)
            action, happened = "sop.skipped", events.SopStepSkipped
            alert = events.SupervisorAlerted(
                to_roles=tuple(sorted(policy.supervisors)),
                incident_id=incident.id,
                message={
                    "ko": f"필수 단계 생략: {steps[code].ko} — {skip_reason}",
                    "en": f"SOP step skipped: {steps[code].en} — {skip_reason}",
                },
            )
        else:
            done.add(code)
            skipped.discard(code)
            action, happened = "sop.done", events.SopStepDone
        incident.sop_done, incident.sop_skipped = rules.join(done), rules.join(skipped)
        incident.updated_at = now
        session.add(
            IncidentEvent(
                incident_id=incident.id,
                at=now,
                actor_id=actor.id,
                actor_name=actor.name,
                role=actor.role,
                action=action,
                note=skip_reason,
                data=_json({"step": code}),
            )
        )
        uow.record(happened(incident_view(incident), step=code))
        if alert is not None:
            uow.record(alert)
        uow.commit()
        return incident


def escalate_overdue(db: Database, policy: Policy, now: datetime | None = None) -> list[events.IncidentEscalated]:
    """Incidents nobody acknowledged in time go to the next role of the policy's escalation chain.

    A background job: its unit of work publishes the escalations; they are returned for the caller to count.
    """
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        due = session.scalars(
            select(Incident).where(
                Incident.status == "new", Incident.ack_due_at.is_not(None), Incident.ack_due_at <= now
            )
        ).all()
        escalated = []
        for incident in due:
            escalation = policy.situation(incident.type).escalation
            if escalation is None or incident.escalation_level >= len(escalation.to):
                incident.ack_due_at = None
                continue
            before = incident.assigned_role
            incident.assigned_role = escalation.to[incident.escalation_level]
            incident.escalation_level += 1
            incident.ack_due_at = now + timedelta(minutes=escalation.ack_minutes)
            incident.updated_at = now
            session.add(
                IncidentEvent(
                    incident_id=incident.id,
                    at=now,
                    actor_id=None,
                    actor_name="system:escalation",
                    role="system",
                    action="escalated",
                    from_status="new",
                    to_status="new",
                    note=None,
                    data=_json({"from": before, "to": incident.assigned_role, "level": incident.escalation_level}),
                )
            )
            escalated.append(events.IncidentEscalated(incident_view(incident)))
        uow.record(*escalated)
        uow.commit()
    return escalated


def report_incident(
    db: Database, policy: Policy, reporter: str, payload: dict[str, Any], *, role: str | None = None
) -> Incident:
    """An operator's own report goes through the inbox like any device message (kept, then routed).
    Reported by an incident-only role (``role``), it awaits the operator's review before it grants
    any view (Art. 9 ⑤)."""
    raw = json.dumps(
        {
            "message_id": f"manual-{uuid.uuid4().hex}",
            "type": "manual_report",
            "payload": {k: v for k, v in payload.items() if v is not None},
        },
        ensure_ascii=False,
    ).encode("utf-8")
    review = role is not None and decisions.report_needs_review(policy, role)
    result = ingest_batch(
        db, policy, [RawMessage(f"operator:{reporter}", raw, channel="http")], review_required=review
    ).results[0]
    if result.status != "stored" or result.incident_id is None:
        problem = result.error or result.note or ""
        raise ValidationFailed(
            "보고를 처리할 수 없습니다: " + problem, "the report cannot be used: " + problem, field="payload"
        )
    with db.reading() as session:
        return _get_incident(session, result.incident_id)


# ---- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentDetail:
    incident: Incident
    sop: list[dict[str, Any]]
    timeline: list[IncidentEvent]
    dispatches: list[Dispatch]


def incident_detail(db: Database, policy: Policy, incident: Incident) -> IncidentDetail:
    """An incident with its checklist, timeline and the patrols sent."""
    with db.reading() as session:
        timeline = list(
            session.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident.id)
                .order_by(IncidentEvent.at, IncidentEvent.id)
            )
        )
        sent = list(session.scalars(select(Dispatch).where(Dispatch.incident_id == incident.id).order_by(Dispatch.id)))
    sop = rules.sop_status(policy, incident.type, rules.split(incident.sop_done), rules.split(incident.sop_skipped))
    return IncidentDetail(incident, sop, timeline, sent)


def _list_incidents(session: Session, *, open_only: bool = False, limit: int = 200) -> list[Incident]:
    stmt = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(Incident.status.in_(rules.OPEN))
    return list(session.scalars(stmt))


def open_incidents(db: Database, limit: int = 200) -> list[Incident]:
    """The latest open incidents, newest first, whoever may see them (the live feed filters per viewer)."""
    with db.reading() as session:
        return _list_incidents(session, open_only=True, limit=limit)


def visible_incidents(
    db: Database, policy: Policy, role: str, department: str | None, *, open_only: bool = False, limit: int = 200
) -> list[Incident]:
    """The latest incidents (newest first) this person may see on the board."""
    with db.reading() as session:
        rows = _list_incidents(session, open_only=open_only, limit=limit)
    return [i for i in rows if may_see(policy, role, department, i)]


SHELF_SCAN = 1000  # rejected messages looked at, newest first, to fill one reader's shelf


@dataclass(frozen=True)
class ShelfItem:
    """A rejected message as one reader may see it: its parsed JSON (if any) and whether it is masked."""

    message: InboxMessage
    data: Any  # the message's JSON when it parses, with personal fields masked where ``masked``
    masked: bool


def _loose_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _rule_of(message_type: str | None, data: Any) -> str | None:
    if message_type != "video_analytics" or not isinstance(data, dict):
        return None
    payload = data.get("payload")
    rule = payload.get("rule") if isinstance(payload, dict) else None
    return rule if isinstance(rule, str) else None


def rejected_messages(
    db: Database, policy: Policy, role: str, department: str | None, limit: int = 100
) -> list[ShelfItem]:
    """The newest rejected messages this person may see, scoped like the incidents they would raise
    (:func:`rules.may_see_rejected`), with personal fields masked unless the role handles situations."""
    masked = not rules.may_see_personal(policy, role)
    out: list[ShelfItem] = []
    with db.reading() as session:
        rows = session.scalars(
            select(InboxMessage)
            .where(InboxMessage.status == "rejected")
            .order_by(InboxMessage.id.desc())
            .limit(SHELF_SCAN)
        )
        for message in rows:
            data = _loose_json(message.raw)
            if not rules.may_see_rejected(policy, role, department, message.type, _rule_of(message.type, data)):
                continue
            out.append(ShelfItem(message, rules.mask_personal(data) if masked else data, masked))
            if len(out) >= limit:
                break
    return out


@dataclass
class IngestHealth:
    """What the devices' sequence numbers say: totals, and the devices that lost messages."""

    totals: dict[str, int]
    devices: list[Any]


def ingest_health(db: Database, limit: int = 200) -> IngestHealth:
    with db.reading() as session:
        totals, lossy = sequences.device_counts(session, limit)
        return IngestHealth(totals, lossy)


@dataclass
class IngestOverview:
    """The console's ingest page: the totals, every device heard from, and the message-loss
    incidents the reader may see (newest first)."""

    totals: dict[str, int]
    devices: list[Any]
    incidents: list[Incident]
    loss_situation: str | None  # the policy's situation type for message loss, if it raises one


def ingest_overview(
    db: Database, policy: Policy, role: str, department: str | None, limit: int = 200, incidents: int = 50
) -> IngestOverview:
    situation = policy.situation_for_system("message_loss")
    with db.reading() as session:
        totals, _ = sequences.device_counts(session, 0)
        rows = sequences.devices(session, limit)
        found: list[Incident] = []
        if situation is not None:
            candidates = session.scalars(
                select(Incident).where(Incident.type == situation.type).order_by(Incident.id.desc()).limit(incidents)
            )
            found = [i for i in candidates if may_see(policy, role, department, i)]
        return IngestOverview(totals, rows, found, situation.type if situation else None)


# ---- cameras near an incident or a point -----------------------------------------------------


@dataclass(frozen=True)
class NearCamera:
    """A camera and where it is from the point asked about."""

    camera: Any  # a row of the columns in _cameras
    distance_m: float
    bearing_deg: float
    compass: dict[str, str]

    @property
    def purposes(self) -> list[str]:
        c = self.camera
        return [c.primary_purpose, *[p for p in (c.secondary_purposes or "").split(",") if p]]


@dataclass(frozen=True)
class NearbyCamera(NearCamera):
    """A camera near an incident, and what the access rule says about opening it for the incident."""

    may_open: bool = False
    clause: str = ""
    purpose: str = ""
    attached: bool = False
    reason: dict[str, str] = field(default_factory=dict)


def _cameras(session: Session, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            Camera.id,
            Camera.management_number,
            Camera.name,
            Camera.latitude,
            Camera.longitude,
            Camera.status,
            Camera.primary_purpose,
            Camera.secondary_purposes,
            Camera.department,
            Camera.direction_deg,
        ).where(Camera.id.in_(ids))
    ).all()
    return {r.id: r for r in rows}


def _near(camera: Any, metres: float, lat: float, lon: float) -> NearCamera:
    bearing = bearing_deg(lat, lon, camera.latitude, camera.longitude)
    ko, en = compass_ko_en(bearing)
    return NearCamera(camera, round(metres, 1), round(bearing, 1), {"ko": ko, "en": en})


def nearby_cameras(
    db: Database,
    policy: Policy,
    role: str,
    department: str | None,
    incident: Incident,
    index: CameraIndex,
    k: int,
    *,
    user_id: int | None = None,
) -> list[NearbyCamera]:
    """The k cameras nearest an incident the caller (``user_id``) may see, each with whether they may
    open its video."""
    if incident.latitude is None or incident.longitude is None:
        return []
    near = index.nearest(incident.latitude, incident.longitude, k)
    with db.reading() as session:
        cameras = _cameras(session, [cid for cid, _ in near])
        attached = attached_camera_ids(session, incident.id)
    if incident.camera_id:
        attached.add(incident.camera_id)
    purpose = policy.purpose_of_situation(incident.type)
    facts = incident_facts(incident)
    out = []
    for cid, metres in near:
        camera = cameras.get(cid)
        if camera is None:  # retired or removed since the index was built
            continue
        row = _near(camera, metres, incident.latitude, incident.longitude)
        decision = _may_open(policy, role, department, purpose, row, facts, attached, user_id)
        out.append(
            NearbyCamera(
                row.camera,
                row.distance_m,
                row.bearing_deg,
                row.compass,
                may_open=decision.allowed,
                clause=decision.clause,
                purpose=purpose,
                attached=cid in attached,
                reason={"ko": decision.reason_ko, "en": decision.reason_en},
            )
        )
    return out


def _may_open(
    policy: Policy,
    role: str,
    department: str | None,
    purpose: str,
    near: NearCamera,
    facts: decisions.IncidentFacts,
    attached: set[int],
    user_id: int | None = None,
) -> decisions.Decision:
    """What opening the camera's video for this incident would be told: the same two decisions, in
    the same order and words, as the access check itself (``access.service.authorize_video``)."""
    camera = near.camera
    grants = decisions.incident_grants_view(policy, role, facts, camera.id, attached, user_id=user_id)
    decision = decisions.may_view_video(
        policy,
        role=role,
        user_department=department,
        purpose=purpose,
        camera_purposes=near.purposes,
        camera_department=camera.department,
        responding_incident_camera=grants.allowed,
    )
    if not decision.allowed and not grants.allowed and decision.clause == policy.access.incident_only_clause:
        return decisions.Decision(
            False,
            decision.clause,
            f"{decision.reason_ko}: {grants.reason_ko}",
            f"{decision.reason_en}: {grants.reason_en}",
        )
    return decision


def _cameras_at(db: Database, pairs: list[tuple[int, float]], lat: float, lon: float) -> list[NearCamera]:
    """``(camera id, metres)`` pairs from the index, as cameras with distance and bearing."""
    with db.reading() as session:
        cameras = _cameras(session, [cid for cid, _ in pairs])
    return [_near(cameras[cid], m, lat, lon) for cid, m in pairs if cid in cameras]


def cameras_nearest(db: Database, index: CameraIndex, lat: float, lon: float, k: int) -> list[NearCamera]:
    """The k cameras nearest a point, nearest first."""
    return _cameras_at(db, index.nearest(lat, lon, k), lat, lon)


def cameras_within(
    db: Database, index: CameraIndex, lat: float, lon: float, radius_m: float, limit: int
) -> list[NearCamera]:
    """Cameras within a radius of a point, nearest first, at most ``limit``."""
    return _cameras_at(db, index.within(lat, lon, radius_m)[:limit], lat, lon)
