"""Situation use cases: ingest device messages, route incidents, work them to the end.

Ingest is batched: one transaction stores every message of a batch in the inbox (unique on
source and message id, so a replay is recognised and ignored), creates the incidents, and commits
before anyone acknowledges the messages. A message that cannot be used is stored with its error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.situations import rules
from gwanje.situations.messages import DeviceMessage, MessageError, parse_message
from gwanje.situations.models import Dispatch, InboxMessage, Incident, IncidentEvent

log = logging.getLogger(__name__)

# Which situation (Annex 2 row) each device message type raises.
SITUATION_OF = {
    "emergency_bell": "emergency_bell",
    "u_seoul_safety": "u_seoul_safety",
    "video_analytics": "intelligent_event",
    "plate_read": "wanted_vehicle",
    "camera_fault": "camera_fault",
    "manual_report": "manual_report",
}

# The purpose an incident's video serves, for "may this user open this camera for it".
PURPOSE_OF = {
    "emergency_bell": "crime_prevention",
    "u_seoul_safety": "crime_prevention",
    "intelligent_event": "crime_prevention",
    "wanted_vehicle": "crime_prevention",
    "camera_fault": "facility_management",
    "manual_report": "crime_prevention",
}


@dataclass(frozen=True)
class RawMessage:
    source: str
    raw: bytes
    channel: str = "mqtt"
    device_id: str | None = None


@dataclass
class IngestResult:
    status: str  # stored | duplicate | rejected
    message_id: str
    inbox_id: int | None = None
    incident_id: int | None = None
    error: str | None = None


@dataclass
class IngestBatch:
    results: list[IngestResult]
    events: list[dict[str, Any]] = field(default_factory=list)


HotListMatcher = Callable[[str], Any]  # plate text -> match (with .plate, .kind, ...) or None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def _camera_refs(messages: list[DeviceMessage]) -> set[str]:
    return {m.payload.camera for m in messages if getattr(m.payload, "camera", None)}


@dataclass
class _Planned:
    raw: RawMessage
    message_id: str
    type: str | None
    parsed: DeviceMessage | None
    error: str | None
    camera: Any = None
    match: Any = None


def _plan(session: Session, batch: list[RawMessage], hotlist: HotListMatcher | None) -> list[_Planned]:
    """Parse every message and look up what it refers to, before anything is written."""
    planned = []
    for item in batch:
        try:
            msg = parse_message(item.raw)
            planned.append(_Planned(item, msg.message_id, msg.type, msg, None))
        except MessageError as exc:
            mid = exc.message_id or "sha256:" + hashlib.sha256(item.raw).hexdigest()
            planned.append(_Planned(item, mid[:160], exc.type, None, str(exc)))
    refs = _camera_refs([p.parsed for p in planned if p.parsed])
    cameras = {}
    if refs:
        rows = session.execute(
            select(Camera.id, Camera.management_number, Camera.latitude, Camera.longitude, Camera.status,
                   Camera.primary_purpose, Camera.secondary_purposes, Camera.department)
            .where(Camera.management_number.in_(refs))
        ).all()
        cameras = {r.management_number: r for r in rows}
    for p in planned:
        if p.parsed is None:
            continue
        ref = getattr(p.parsed.payload, "camera", None)
        if ref is not None:
            p.camera = cameras.get(ref)
            if p.camera is None or p.camera.status == "retired":
                p.error = f"카메라를 찾을 수 없습니다 / unknown or retired camera: {ref}"
                continue
        if p.type == "plate_read" and hotlist is not None:
            try:
                p.match = hotlist(p.parsed.payload.plate)
            except ValueError as exc:
                p.error = f"번호판 형식 오류 / unreadable plate: {exc}"
    return planned


def _insert_inbox(session: Session, planned: list[_Planned], now: datetime) -> dict[tuple[str, str], int]:
    """Store all messages in one statement; returns the ids of those that were new."""
    rows, seen = [], set()
    for p in planned:
        key = (p.raw.source, p.message_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append({
            "source": p.raw.source, "message_id": p.message_id, "device_id": p.raw.device_id,
            "channel": p.raw.channel, "type": p.type, "received_at": now,
            "raw": p.raw.raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            "status": "rejected" if p.error else "processed", "error": p.error,
        })
    if session.get_bind().dialect.name == "postgresql":
        return _insert_inbox_pg(session, rows)
    stmt = (sqlite.insert(InboxMessage)
            .on_conflict_do_nothing(index_elements=["source", "message_id"])
            .returning(InboxMessage.id, InboxMessage.source, InboxMessage.message_id, sort_by_parameter_order=True))
    return {(r.source, r.message_id): r.id for r in session.execute(stmt, rows) if r.id is not None}


_INBOX_COLUMNS = ("source", "message_id", "device_id", "channel", "type", "received_at", "raw", "status", "error")
_INBOX_PG = (f"INSERT INTO inbox ({', '.join(_INBOX_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_INBOX_COLUMNS))}) "
             "ON CONFLICT (source, message_id) DO NOTHING RETURNING id, source, message_id")


def _insert_inbox_pg(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """psycopg's own pipelined executemany with RETURNING: one short prepared statement for all rows.

    SQLAlchemy would build multi-row VALUES pages instead, which psycopg re-parses every batch.
    """
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.executemany(_INBOX_PG, [tuple(r[c] for c in _INBOX_COLUMNS) for r in rows], returning=True)
        stored = {}
        while True:
            for row_id, source, message_id in cursor.fetchall():
                stored[(source, message_id)] = row_id
            if not cursor.nextset():
                break
        return stored
    finally:
        cursor.close()


def ingest_batch(db: Database, policy: Policy, batch: list[RawMessage], *,
                 hotlist: HotListMatcher | None = None, now: datetime | None = None) -> IngestBatch:
    """Store and process a batch in one transaction; the caller acknowledges after it returns."""
    if not batch:
        return IngestBatch([])
    now = now or utcnow()
    try:
        with db.uow() as uow:
            result = _ingest(uow.session, policy, batch, hotlist, now)
            uow.commit()
        return result
    except Exception:  # noqa: BLE001 - isolate the message that broke the batch
        if len(batch) == 1:
            return _store_failure(db, batch[0], now)
        log.exception("batch of %d failed; retrying one by one", len(batch))
        out = IngestBatch([])
        for item in batch:
            part = ingest_batch(db, policy, [item], hotlist=hotlist, now=now)
            out.results.extend(part.results)
            out.events.extend(part.events)
        return out


def _store_failure(db: Database, item: RawMessage, now: datetime) -> IngestBatch:
    """A message that made processing fail is still kept, with the error, never lost."""
    log.exception("message from %s could not be processed", item.source)
    import sys

    error = f"처리 오류 / processing error: {type(sys.exc_info()[1]).__name__}: {sys.exc_info()[1]}"
    try:
        msg_id = parse_message(item.raw).message_id
    except MessageError as exc:
        msg_id = exc.message_id or "sha256:" + hashlib.sha256(item.raw).hexdigest()
    planned = _Planned(item, msg_id[:160], None, None, error[:2000])
    with db.uow() as uow:
        stored = _insert_inbox(uow.session, [planned], now)
        uow.commit()
    inbox_id = stored.get((item.source, planned.message_id))
    status = "rejected" if inbox_id else "duplicate"
    event = {"kind": "inbox.rejected", "inbox_id": inbox_id, "source": item.source, "error": error}
    return IngestBatch([IngestResult(status, planned.message_id, inbox_id, None, error)],
                       [event] if inbox_id else [])


def _ingest(session: Session, policy: Policy, batch: list[RawMessage], hotlist: HotListMatcher | None,
            now: datetime) -> IngestBatch:
    planned = _plan(session, batch, hotlist)
    stored = _insert_inbox(session, planned, now)
    results: list[IngestResult] = []
    events: list[dict[str, Any]] = []
    claimed: set[tuple[str, str]] = set()
    new_incidents: list[tuple[IngestResult, dict[str, Any]]] = []
    for p in planned:
        key = (p.raw.source, p.message_id)
        inbox_id = stored.get(key)
        if inbox_id is None or key in claimed:
            results.append(IngestResult("duplicate", p.message_id))
            continue
        claimed.add(key)
        if p.error:
            results.append(IngestResult("rejected", p.message_id, inbox_id, error=p.error))
            events.append({"kind": "inbox.rejected", "inbox_id": inbox_id, "source": p.raw.source,
                           "type": p.type, "error": p.error})
            continue
        result = IngestResult("stored", p.message_id, inbox_id)
        results.append(result)
        row = _apply(session, policy, p, inbox_id, now, events)
        if row is not None:
            new_incidents.append((result, row))
    events = _apply_camera_statuses(session, now, events)
    if new_incidents:
        rows = [row for _, row in new_incidents]
        for row, new_id in zip(rows, _allocate_ids(session, Incident, len(rows))):
            row["id"] = new_id
        # Plain executemany with ids chosen up front: psycopg pipelines it, and no wide
        # multi-row VALUES statement has to be built and parsed per batch.
        session.execute(insert(Incident), rows)
        session.execute(insert(IncidentEvent), [
            {"incident_id": row["id"], "at": now, "actor_id": None, "actor_name": f"device:{row['source']}",
             "role": None, "action": "created", "from_status": None, "to_status": "new", "note": None,
             "data": _json({"inbox_id": row["inbox_id"], "clause": row["clause"]})}
            for row in rows
        ])
        for result, row in new_incidents:
            result.incident_id = row["id"]
            events.append(incident_event(SimpleNamespace(**row, acknowledged_at=None, closed_at=None), "created"))
    session.flush()
    return IngestBatch(results, events)


def _allocate_ids(session: Session, model, n: int) -> list[int]:  # noqa: ANN001
    """Reserve ``n`` primary keys in one round trip (the SQLite write lock is already held)."""
    table = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": n}))
    start = (session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0) + 1
    return list(range(start, start + n))


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


def _apply(session: Session, policy: Policy, p: _Planned, inbox_id: int, now: datetime,
           events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What a stored message does: an incident row to insert (or None), camera status changes."""
    msg = p.parsed
    payload = msg.payload
    occurred = msg.occurred_at or now
    if msg.type == "camera_recovery":
        _camera_status(session, p, "active", now, events)
        return None
    if msg.type == "plate_read" and p.match is None:
        return None  # an ordinary read: kept in the inbox, no incident
    situation = SITUATION_OF[msg.type]
    details: dict[str, Any] = {"message_type": msg.type, **payload.model_dump(mode="json")}
    lat = getattr(payload, "latitude", None)
    lon = getattr(payload, "longitude", None)
    camera_id = None
    if p.camera is not None:
        camera_id = p.camera.id
        details["camera_purposes"] = [p.camera.primary_purpose,
                                      *[x for x in p.camera.secondary_purposes.split(",") if x]]
        if lat is None:
            lat, lon = p.camera.latitude, p.camera.longitude
    title = _title(msg, p)
    if msg.type == "plate_read":
        m = p.match
        details["hotlist"] = {"plate": m.plate, "read": m.read, "kind": m.kind, "position": m.position,
                              "read_char": m.read_char, "list_char": m.list_char, "reason": m.reason,
                              "case_ref": m.case_ref}
    if msg.type == "camera_fault":
        _camera_status(session, p, "fault", now, events)
    return {
        "type": situation, "status": "new", "title": title, "source": p.raw.source,
        "device_id": msg.device_id or p.raw.device_id, "camera_id": camera_id, "latitude": lat, "longitude": lon,
        "escalation_level": 0, "sop_done": ",", "sop_skipped": ",", "details": _json(details),
        "occurred_at": occurred, "created_at": now, "updated_at": now, "inbox_id": inbox_id,
        **_route(policy, situation, min(occurred, now), now),
    }


def _title(msg: DeviceMessage, p: _Planned) -> str:
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


def _camera_status(session: Session, p: _Planned, status: str, now: datetime, events: list) -> None:
    """Queue a device-reported status change; :func:`_apply_camera_statuses` writes them per batch."""
    events.append({"kind": "_camera_status", "camera_id": p.camera.id, "status": status,
                   "source": p.raw.source, "message_id": p.message_id})


def _apply_camera_statuses(session: Session, now: datetime, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One read, one audit head and one flush for all the batch's fault and recovery reports."""
    queued = [e for e in events if e["kind"] == "_camera_status"]
    kept = [e for e in events if e["kind"] != "_camera_status"]
    if not queued:
        return kept
    cameras = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_({e["camera_id"] for e in queued})))}
    audit = AuditLog(session)
    for e in queued:
        camera = cameras[e["camera_id"]]
        if camera.status == e["status"]:
            continue
        before, camera.status, camera.updated_at = camera.status, e["status"], now
        audit.append(Actor(None, f"device:{e['source']}", role="device"),
                     Change("camera.status", "camera", camera.management_number,
                            {"status": before}, {"status": e["status"], "message_id": e["message_id"]}))
        kept.append({"kind": "camera.status", "camera_id": camera.id, "status": e["status"]})
    return kept


# ---- working an incident ----------------------------------------------------------------------


def routed(incident: Incident) -> rules.Routed:
    return rules.Routed(
        type=incident.type, responsible_org=incident.responsible_org, recognising_org=incident.recognising_org,
        recognising_role=incident.recognising_role, responding_org=incident.responding_org,
        responding_roles=tuple(sorted(rules.split(incident.responding_roles))),
        assigned_role=incident.assigned_role, two_stage=False,
    )


def _routed_with_policy(policy: Policy, incident: Incident) -> rules.Routed:
    r = routed(incident)
    return rules.Routed(**{**r.__dict__, "two_stage": policy.situation(incident.type).two_stage})


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise not_found("상황", "incident", incident_id)
    return incident


def act(db: Database, policy: Policy, actor: Actor, incident_id: int, action: str, *,
        note: str | None = None, unit: str | None = None, now: datetime | None = None) -> tuple[Incident, dict]:
    """Move an incident along the state machine; refuses any other move with a clear error."""
    now = now or utcnow()
    if action not in rules.ACTIONS:
        raise ValidationFailed(f"알 수 없는 조치: {action}", f"unknown action: {action}", field="action")
    with db.uow() as uow:
        session = uow.session
        incident = get_incident(session, incident_id)
        if session.get_bind().dialect.name == "postgresql":
            session.refresh(incident, with_for_update=True)
        target = rules.next_status(incident.status, action)
        rules.check_actor(policy, _routed_with_policy(policy, incident), actor.role or "", action)
        data: dict[str, Any] = {}
        if action == "resolve":
            missing = rules.missing_required_steps(policy, incident.type, rules.split(incident.sop_done),
                                                   rules.split(incident.sop_skipped))
            if missing:
                labels = [s.ko for s in policy.situation(incident.type).sop if s.code in missing]
                raise ValidationFailed(
                    "필수 처리 단계가 남았습니다: " + ", ".join(labels),
                    "required SOP steps are not done: " + ", ".join(missing),
                    field="sop", details={"missing": missing},
                )
        if action == "dispatch":
            if not unit or not unit.strip():
                raise ValidationFailed("출동 순찰차(호출부호)를 입력하세요", "name the patrol unit dispatched",
                                       field="unit")
            session.add(Dispatch(incident_id=incident.id, unit=unit.strip()[:60], dispatched_at=now,
                                 dispatched_by=actor.name, note=note))
            data["unit"] = unit.strip()[:60]
        if action == "hand_over":
            incident.assigned_role = sorted(rules.split(incident.responding_roles))[0]
            data["to"] = incident.assigned_role
        before = incident.status
        incident.status = target
        incident.updated_at = now
        if action == "acknowledge":
            incident.acknowledged_at = now
            incident.ack_due_at = None
        if target in rules.FINISHED:
            incident.closed_at = now
            incident.ack_due_at = None
        session.add(IncidentEvent(incident_id=incident.id, at=now, actor_id=actor.id, actor_name=actor.name,
                                  role=actor.role, action=action, from_status=before, to_status=target,
                                  note=note, data=_json(data) if data else None))
        uow.commit()
        return incident, incident_event(incident, action)


def sop_step(db: Database, policy: Policy, actor: Actor, incident_id: int, code: str, *,
             skip_reason: str | None = None, now: datetime | None = None) -> tuple[Incident, list[dict]]:
    """Tick a checklist step, or skip it with a reason (which alerts the supervisor)."""
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        incident = get_incident(session, incident_id)
        steps = {s.code: s for s in policy.situation(incident.type).sop}
        if code not in steps:
            raise ValidationFailed(f"이 상황 유형에 없는 단계: {code}", f"no such SOP step for this incident: {code}",
                                   field="code")
        if incident.status in rules.FINISHED or incident.status == "resolved":
            raise ValidationFailed("끝난 상황입니다", "the incident is already finished", field="status")
        if actor.role not in rules.SUPERVISORS and not rules.may_see(
                policy, actor.role or "", None, _routed_with_policy(policy, incident)):
            raise Forbidden("이 상황을 처리할 수 없습니다", "you may not work this incident", clause="annex-2")
        done, skipped = rules.split(incident.sop_done), rules.split(incident.sop_skipped)
        events = []
        if skip_reason is not None:
            if not skip_reason.strip():
                raise ValidationFailed("건너뛴 사유를 입력하세요", "give a reason for skipping", field="reason")
            skipped.add(code)
            done.discard(code)
            action = "sop.skipped"
            events.append({"kind": "alert", "to_roles": sorted(rules.SUPERVISORS), "incident_id": incident.id,
                           "message": {"ko": f"필수 단계 생략: {steps[code].ko} — {skip_reason}",
                                       "en": f"SOP step skipped: {steps[code].en} — {skip_reason}"}})
        else:
            done.add(code)
            skipped.discard(code)
            action = "sop.done"
        incident.sop_done, incident.sop_skipped = rules.join(done), rules.join(skipped)
        incident.updated_at = now
        session.add(IncidentEvent(incident_id=incident.id, at=now, actor_id=actor.id, actor_name=actor.name,
                                  role=actor.role, action=action, note=skip_reason, data=_json({"step": code})))
        uow.commit()
        events.insert(0, incident_event(incident, action))
        return incident, events


def escalate_overdue(db: Database, policy: Policy, now: datetime | None = None) -> list[dict]:
    """Incidents nobody acknowledged in time go to the next role of the policy's escalation chain."""
    now = now or utcnow()
    events = []
    with db.uow() as uow:
        session = uow.session
        due = session.scalars(select(Incident).where(Incident.status == "new", Incident.ack_due_at.is_not(None),
                                                     Incident.ack_due_at <= now)).all()
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
            session.add(IncidentEvent(incident_id=incident.id, at=now, actor_id=None, actor_name="system:escalation",
                                      role="system", action="escalated", from_status="new", to_status="new",
                                      note=None, data=_json({"from": before, "to": incident.assigned_role,
                                                             "level": incident.escalation_level})))
            events.append(incident_event(incident, "escalated"))
        uow.commit()
    return events


def timeline(session: Session, incident_id: int) -> list[IncidentEvent]:
    return list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                .order_by(IncidentEvent.at, IncidentEvent.id)))


def dispatches(session: Session, incident_id: int) -> list[Dispatch]:
    return list(session.scalars(select(Dispatch).where(Dispatch.incident_id == incident_id).order_by(Dispatch.id)))


def list_incidents(session: Session, *, open_only: bool = False, limit: int = 200,
                   types: set[str] | None = None) -> list[Incident]:
    stmt = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(Incident.status.in_(rules.OPEN))
    if types:
        stmt = stmt.where(Incident.type.in_(types))
    return list(session.scalars(stmt))


def rejected_messages(session: Session, limit: int = 100) -> list[InboxMessage]:
    return list(session.scalars(select(InboxMessage).where(InboxMessage.status == "rejected")
                                .order_by(InboxMessage.id.desc()).limit(limit)))


def incident_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id, "type": incident.type, "status": incident.status, "title": incident.title,
        "source": incident.source, "device_id": incident.device_id, "camera_id": incident.camera_id,
        "latitude": incident.latitude, "longitude": incident.longitude,
        "responsible_org": incident.responsible_org, "recognising_org": incident.recognising_org,
        "recognising_role": incident.recognising_role, "responding_org": incident.responding_org,
        "responding_roles": sorted(rules.split(incident.responding_roles)),
        "assigned_role": incident.assigned_role, "period": incident.period, "clause": incident.clause,
        "escalation_level": incident.escalation_level, "ack_due_at": incident.ack_due_at,
        "sop_done": sorted(rules.split(incident.sop_done)), "sop_skipped": sorted(rules.split(incident.sop_skipped)),
        "details": json.loads(incident.details or "{}"),
        "occurred_at": incident.occurred_at, "created_at": incident.created_at, "updated_at": incident.updated_at,
        "acknowledged_at": incident.acknowledged_at, "closed_at": incident.closed_at,
        "allowed_actions": rules.allowed_actions(incident.status),
    }


def incident_event(incident: Incident, change: str) -> dict[str, Any]:
    """A bus event: plain JSON values only (times as ISO 8601), ready for NATS and WebSockets."""
    data = incident_dict(incident)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return {"kind": "incident", "change": change, "incident": data}
