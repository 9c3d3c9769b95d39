"""Duty-log and handover use cases: open a shift's log, write entries, sign it (its content hash goes
into the signing's audit row), prepare the handover from what is open, offer it, and acknowledge it as
the incoming shift's leader. One user action = one unit of work = one commit, each with its audit row.

Reads recompute the signed log's hash and compare it with the one in the audit chain: an edit made in
the database after signing reads ``intact: false``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access.models import ProvisionRequest, SubjectRequest
from gwanje.access.rules import sees_all_records
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.center.handover import rules
from gwanje.center.handover.models import DutyLog, DutyLogEntry, Handover, HandoverItem
from gwanje.core.audit import AuditEntry, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.situations import service as situations
from gwanje.situations.models import Incident

MAX_LIST = 200


def _clause(policy: Policy) -> str | None:
    return policy.handover.clause if policy.handover is not None else None


# ---- scope ----------------------------------------------------------------------------------------


def _own_organisation(user: User, organisation: str) -> None:
    if user.organisation != organisation:
        raise Forbidden(
            "다른 기관의 근무일지입니다",
            "this duty log belongs to another organisation",
            field="organisation",
        )


def _must_lead(policy: Policy, user: User, organisation: str) -> None:
    _own_organisation(user, organisation)
    if not decisions.may_lead_shift(policy, user.role, organisation):
        raise Forbidden(
            "근무 책임자(조장)만 할 수 있습니다",
            "only a shift leader may do this",
            field="role",
            clause=_clause(policy),
        )


def _must_be_leader_of(policy: Policy, user: User, log: DutyLog) -> None:
    _must_lead(policy, user, log.organisation)
    if log.leader_id != user.id:
        raise Forbidden("이 근무의 책임자가 아닙니다", "you are not this shift's leader", field="leader_id")


def _sees(policy: Policy, user: User, organisation: str) -> bool:
    return user.organisation == organisation or decisions.reads_all_duty_logs(policy, user.role)


def _log(session: Session, log_id: int) -> DutyLog:
    log = session.get(DutyLog, log_id)
    if log is None:
        raise not_found("근무일지", "duty log", log_id, field="log_id")
    return log


def _handover(session: Session, handover_id: int) -> Handover:
    h = session.get(Handover, handover_id)
    if h is None:
        raise not_found("인수인계", "handover", handover_id, field="handover_id")
    return h


# ---- snapshots and the content hash ---------------------------------------------------------------


def _entries(session: Session, log_id: int) -> list[DutyLogEntry]:
    return list(session.scalars(select(DutyLogEntry).where(DutyLogEntry.log_id == log_id).order_by(DutyLogEntry.id)))


def _handover_of(session: Session, log_id: int) -> Handover | None:
    return session.scalars(select(Handover).where(Handover.log_id == log_id)).first()


def _items(session: Session, handover_id: int) -> list[HandoverItem]:
    return list(
        session.scalars(
            select(HandoverItem).where(HandoverItem.handover_id == handover_id).order_by(HandoverItem.position)
        )
    )


def members_of(log: DutyLog) -> list[str]:
    try:
        value = json.loads(log.members or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _log_fields(log: DutyLog) -> dict[str, Any]:
    return {
        "id": log.id,
        "organisation": log.organisation,
        "team": log.team,
        "period_start": log.period_start,
        "period_end": log.period_end,
        "leader_id": log.leader_id,
        "leader_name": log.leader_name,
        "members": members_of(log),
    }


def _entry_fields(e: DutyLogEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at,
        "author_id": e.author_id,
        "author_name": e.author_name,
        "text": e.text,
        "incident_id": e.incident_id,
    }


def _item_fields(i: HandoverItem) -> dict[str, Any]:
    return {
        "position": i.position,
        "kind": i.kind,
        "ref": i.ref,
        "title": i.title,
        "status": i.status,
        "due_at": i.due_at,
    }


def compute_hash(session: Session, log: DutyLog) -> str:
    """The log's content hash as it stands in the database now."""
    handover = _handover_of(session, log.id)
    items = _items(session, handover.id) if handover is not None else []
    return rules.content_hash(
        _log_fields(log), [_entry_fields(e) for e in _entries(session, log.id)], [_item_fields(i) for i in items]
    )


def _audited_hash(session: Session, log: DutyLog) -> str | None:
    if log.signed_audit_seq is None:
        return None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == log.signed_audit_seq)).first()
    if entry is None or entry.action != "duty_log.signed":
        return None
    after = entry.after
    if isinstance(after, str):
        try:
            after = json.loads(after)
        except ValueError:
            return None
    return after.get("content_hash") if isinstance(after, dict) else None


def _snapshot(log: DutyLog) -> dict[str, Any]:
    return {
        **{k: (rules.instant(v) if isinstance(v, datetime) else v) for k, v in _log_fields(log).items()},
        "status": log.status,
    }


def _handover_snapshot(h: Handover, items: list[HandoverItem] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": h.id, "log_id": h.log_id, "status": h.status, "organisation": h.organisation}
    if items is not None:
        out["items"] = [
            {k: (rules.instant(v) if isinstance(v, datetime) else v) for k, v in _item_fields(i).items()} for i in items
        ]
    return out


# ---- duty log use cases ---------------------------------------------------------------------------


def open_log(
    db: Database,
    policy: Policy,
    user: User,
    *,
    team: str,
    period_start: datetime,
    period_end: datetime,
    members: list[str] | None = None,
    request_id: str | None = None,
) -> DutyLog:
    """Open the duty log of a shift of the leader's own organisation; the leader is the caller."""
    _must_lead(policy, user, user.organisation)
    team = rules.check_text(team, "team", 100)
    rules.check_shift(period_start, period_end)
    names = [rules.check_text(m, "members", 200) for m in (members or [])]
    with db.uow() as uow:
        session = uow.session
        log = DutyLog(
            organisation=user.organisation,
            team=team,
            period_start=period_start,
            period_end=period_end,
            leader_id=user.id,
            leader_name=user.username,
            members=json.dumps(names, ensure_ascii=False),
            status="open",
            created_at=utcnow(),
        )
        session.add(log)
        session.flush()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change("duty_log.opened", "duty_log", log.id, None, _snapshot(log), clause=_clause(policy)),
        )
        uow.commit()
        return log


def add_entry(
    db: Database,
    policy: Policy,
    user: User,
    log_id: int,
    *,
    text: str,
    incident_id: int | None = None,
    request_id: str | None = None,
) -> DutyLogEntry:
    """Write an entry in the caller's own organisation's log while it is not signed."""
    text = rules.check_text(text)
    with db.uow() as uow:
        session = uow.session
        log = _log(session, log_id)
        _own_organisation(user, log.organisation)
        rules.refuse_if_signed(log.status)
        if incident_id is not None and session.get(Incident, incident_id) is None:
            raise not_found("상황", "incident", incident_id, field="incident_id")
        entry = DutyLogEntry(
            log_id=log.id, at=utcnow(), author_id=user.id, author_name=user.username, text=text, incident_id=incident_id
        )
        session.add(entry)
        session.flush()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "duty_log.entry_added",
                "duty_log",
                log.id,
                None,
                {"entry_id": entry.id, "text": text, "incident_id": incident_id},
                clause=_clause(policy),
            ),
        )
        uow.commit()
        return entry


def sign_log(db: Database, policy: Policy, user: User, log_id: int, *, request_id: str | None = None) -> DutyLog:
    """The leader signs the log at the end of the shift: it is closed from then on, and the SHA-256
    of its content (log, entries, handover items) is kept in the signing's audit row."""
    with db.uow() as uow:
        session = uow.session
        log = _log(session, log_id)
        _must_be_leader_of(policy, user, log)
        rules.refuse_if_signed(log.status)
        before = _snapshot(log)
        digest = compute_hash(session, log)
        log.status, log.signed_at, log.signed_by_id, log.signed_by_name = "signed", utcnow(), user.id, user.username
        log.signed_hash = digest
        row = AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "duty_log.signed",
                "duty_log",
                log.id,
                before,
                {**_snapshot(log), "content_hash": digest},
                clause=_clause(policy),
            ),
        )
        log.signed_audit_seq = row.seq
        uow.commit()
        return log


# ---- gathering what is handed over ----------------------------------------------------------------


def _pending_deadlines(session: Session, policy: Policy, user: User) -> list[dict[str, Any]]:
    """Access deadlines not yet met, of the caller's organisation (the operator's staff: all):
    emergency documents due, usage results due, subject requests not yet decided."""
    everyone = sees_all_records(policy, user.organisation)
    found: list[dict[str, Any]] = []
    docs = select(ProvisionRequest).where(
        ProvisionRequest.document_due_at.is_not(None), ProvisionRequest.document_received_at.is_(None)
    )
    results = select(ProvisionRequest).where(
        ProvisionRequest.usage_result_due_at.is_not(None), ProvisionRequest.usage_result_entered_at.is_(None)
    )
    if not everyone:
        docs = docs.where(ProvisionRequest.organisation == user.organisation)
        results = results.where(ProvisionRequest.organisation == user.organisation)
    for p in session.scalars(docs.order_by(ProvisionRequest.document_due_at).limit(MAX_LIST)):
        found.append(
            {
                "kind": "document",
                "ref": f"provision:{p.id}",
                "title": f"긴급 열람 {p.id}: 공문 제출 기한 / emergency access {p.id}: official document due",
                "status": p.status,
                "due_at": p.document_due_at,
            }
        )
    for p in session.scalars(results.order_by(ProvisionRequest.usage_result_due_at).limit(MAX_LIST)):
        found.append(
            {
                "kind": "usage_result",
                "ref": f"provision:{p.id}",
                "title": f"제공 {p.id}: CCTV 활용결과 입력 기한 / provision {p.id}: usage result due",
                "status": p.status,
                "due_at": p.usage_result_due_at,
            }
        )
    if everyone:
        subjects = select(SubjectRequest).where(SubjectRequest.status == "received").order_by(SubjectRequest.due_at)
        for s in session.scalars(subjects.limit(MAX_LIST)):
            found.append(
                {
                    "kind": "subject_request",
                    "ref": f"subject_request:{s.id}",
                    "title": f"개인영상정보 열람 청구 {s.id} / subject request {s.id}",
                    "status": s.status,
                    "due_at": s.due_at,
                }
            )
    return found


def prepare_handover(
    db: Database,
    policy: Policy,
    user: User,
    log_id: int,
    *,
    notes: list[str] | None = None,
    request_id: str | None = None,
) -> Handover:
    """The outgoing leader prepares the handover from the (not yet signed) log: the open incidents the
    organisation sees, the pending access deadlines and their own notes, as a snapshot. Preparing it
    again while it is a draft gathers afresh; signing the log freezes it."""
    notes = [rules.check_text(n, "notes", 1000) for n in (notes or [])]
    if len(notes) > rules.MAX_NOTES:
        raise ValidationFailed(f"메모는 {rules.MAX_NOTES}개 이내", f"at most {rules.MAX_NOTES} notes", field="notes")
    with db.reading() as session:
        _must_be_leader_of(policy, user, _log(session, log_id))
    incidents = situations.visible_incidents(db, policy, user.role, user.department, open_only=True, limit=MAX_LIST)
    with db.uow() as uow:
        session = uow.session
        log = _log(session, log_id)
        _must_be_leader_of(policy, user, log)
        rules.refuse_if_signed(log.status)
        handover = _handover_of(session, log.id)
        if handover is None:
            handover = Handover(
                log_id=log.id,
                organisation=log.organisation,
                status="draft",
                created_at=utcnow(),
                created_by_id=user.id,
                created_by_name=user.username,
            )
            session.add(handover)
            session.flush()
        elif handover.status != "draft":
            rules.next_status(handover.status, "offer")  # raises: no longer a draft
        else:
            for old in _items(session, handover.id):
                session.delete(old)
            session.flush()
        gathered: list[dict[str, Any]] = [
            {
                "kind": "incident",
                "ref": f"incident:{i.id}",
                "title": i.title,
                "status": i.status,
                "due_at": i.ack_due_at,
            }
            for i in incidents
        ]
        gathered += _pending_deadlines(session, policy, user)
        gathered += [{"kind": "note", "ref": None, "title": n, "status": None, "due_at": None} for n in notes]
        items = []
        for position, g in enumerate(gathered, start=1):
            item = HandoverItem(handover_id=handover.id, position=position, **g)
            session.add(item)
            items.append(item)
        session.flush()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "handover.prepared",
                "handover",
                handover.id,
                None,
                _handover_snapshot(handover, items),
                clause=_clause(policy),
            ),
        )
        uow.commit()
        return handover


def _transition(
    db: Database, policy: Policy, user: User, handover_id: int, action: str, request_id: str | None
) -> Handover:
    with db.uow() as uow:
        session = uow.session
        h = _handover(session, handover_id)
        log = _log(session, h.log_id)
        _must_be_leader_of(policy, user, log)
        if action == "offer" and log.status != "signed":
            raise Conflict(
                "근무일지에 서명한 뒤 인계하세요", "sign the duty log before offering the handover", field="status"
            )
        before = _handover_snapshot(h)
        h.status = rules.next_status(h.status, action)
        if action == "offer":
            h.offered_at = utcnow()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(f"handover.{h.status}", "handover", h.id, before, _handover_snapshot(h), clause=_clause(policy)),
        )
        uow.commit()
        return h


def offer_handover(
    db: Database, policy: Policy, user: User, handover_id: int, *, request_id: str | None = None
) -> Handover:
    """The outgoing leader offers the handover of a signed log to the incoming shift."""
    return _transition(db, policy, user, handover_id, "offer", request_id)


def withdraw_handover(
    db: Database, policy: Policy, user: User, handover_id: int, *, request_id: str | None = None
) -> Handover:
    """Back to draft before it is acknowledged (its items stay as they were signed)."""
    return _transition(db, policy, user, handover_id, "withdraw", request_id)


def acknowledge_handover(
    db: Database,
    policy: Policy,
    user: User,
    handover_id: int,
    *,
    note: str | None = None,
    item_notes: dict[int, str] | None = None,
    request_id: str | None = None,
) -> Handover:
    """The incoming shift's leader (a leader of the same organisation, not the outgoing one)
    acknowledges every item, optionally with a note per item; time-stamped and audited."""
    with db.uow() as uow:
        session = uow.session
        h = _handover(session, handover_id)
        log = _log(session, h.log_id)
        _must_lead(policy, user, h.organisation)
        if user.id in (log.leader_id, h.created_by_id):
            raise Forbidden(
                "자기 인계는 인수 확인할 수 없습니다 — 다음 근무 책임자가 확인합니다",
                "the outgoing leader cannot acknowledge their own handover — the incoming leader does",
                field="user",
            )
        before = _handover_snapshot(h)
        h.status = rules.next_status(h.status, "acknowledge")
        h.acknowledged_at, h.acknowledged_by_id, h.acknowledged_by_name = utcnow(), user.id, user.username
        h.acknowledgement_note = (note or "").strip()[:4000] or None
        items = _items(session, h.id)
        by_position = {i.position: i for i in items}
        for position, text in (item_notes or {}).items():
            item = by_position.get(position)
            if item is None:
                raise not_found("인계 항목", "handover item", position, field="item_notes")
            item.ack_note = (text or "").strip()[:1000] or None
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "handover.acknowledged",
                "handover",
                h.id,
                before,
                {
                    **_handover_snapshot(h),
                    "acknowledged_at": rules.instant(h.acknowledged_at),
                    "note": h.acknowledgement_note,
                    "item_notes": {str(i.position): i.ack_note for i in items if i.ack_note},
                },
                clause=_clause(policy),
            ),
        )
        uow.commit()
        return h


# ---- reads ----------------------------------------------------------------------------------------


@dataclass
class LogView:
    log: DutyLog
    entries: list[DutyLogEntry]
    handover: Handover | None
    items: list[HandoverItem] = field(default_factory=list)
    intact: bool | None = None  # None while unsigned

    @property
    def members(self) -> list[str]:
        return members_of(self.log)


def _view(session: Session, log: DutyLog) -> LogView:
    handover = _handover_of(session, log.id)
    items = _items(session, handover.id) if handover is not None else []
    intact: bool | None = None
    if log.status == "signed":
        audited = _audited_hash(session, log)
        intact = audited is not None and audited == log.signed_hash == compute_hash(session, log)
    return LogView(log, _entries(session, log.id), handover, items, intact)


def read_log(db: Database, policy: Policy, user: User, log_id: int) -> LogView:
    with db.reading() as session:
        log = _log(session, log_id)
        if not _sees(policy, user, log.organisation):
            raise not_found("근무일지", "duty log", log_id, field="log_id")
        return _view(session, log)


def read_logs(db: Database, policy: Policy, user: User, *, status: str | None = None) -> list[LogView]:
    """The logs the caller may read, newest first: their own organisation's (``handover.read_all``: all)."""
    with db.reading() as session:
        stmt = select(DutyLog).order_by(DutyLog.id.desc()).limit(MAX_LIST)
        if not decisions.reads_all_duty_logs(policy, user.role):
            stmt = stmt.where(DutyLog.organisation == user.organisation)
        if status:
            stmt = stmt.where(DutyLog.status == status)
        return [_view(session, log) for log in session.scalars(stmt)]


def read_handover(db: Database, policy: Policy, user: User, handover_id: int) -> LogView:
    with db.reading() as session:
        h = _handover(session, handover_id)
        if not _sees(policy, user, h.organisation):
            raise not_found("인수인계", "handover", handover_id, field="handover_id")
        return _view(session, _log(session, h.log_id))
