"""Access use cases: purpose-bound video access, provision to the police, data-subject requests,
retention holds and destruction records.

Each use case opens one unit of work, appends its audit entry (with purpose and clause) and its
ledger row in the same transaction, and commits once. A denied video access is committed too:
refusals are evidence.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access import ledger, rules
from gwanje.access.models import IncidentCamera, LedgerEntry, ProvisionRequest, RetentionHold, SubjectRequest
from gwanje.access.retention import due_for_destruction  # noqa: F401 - re-exported for the video side
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import KST, utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.decisions import Decision
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.situations.models import Incident

log = logging.getLogger(__name__)

PIPA_18_2 = "pipa-18-2"
PIPA_35 = "pipa-35"
RETENTION_CLAUSE = "policy-retention"
DISTRICT_APPROVERS = ("district_it_officer", "district_manager")


# ---- purpose-bound video access (the interface the video and evidence sides call) -------------


@dataclass(frozen=True)
class AccessGrant:
    user_id: int
    username: str
    role: str
    camera_id: int
    purpose: str
    action: str  # "live" | "playback" | "snapshot" | "export"
    incident_id: int | None
    clause: str
    audit_seq: int
    provision_id: int | None = None


def _clause_text(policy: Policy, clause: str) -> dict[str, str]:
    try:
        c = policy.clause(clause)
        return {"ko": c.ko, "en": c.en}
    except LookupError:
        return {"ko": clause, "en": clause}


def _is_incident_only(policy: Policy, role: str) -> bool:
    return policy.role(role).organisation in policy.access.incident_only_organisations


def attached_camera_ids(session: Session, incident_id: int) -> set[int]:
    """Cameras attached to an incident by an operator (besides the incident's own camera)."""
    return set(session.scalars(select(IncidentCamera.camera_id).where(IncidentCamera.incident_id == incident_id)))


_attached_cameras = attached_camera_ids


def _incident_view(incident: Incident | None) -> rules.IncidentView | None:
    if incident is None:
        return None
    return rules.IncidentView(incident.id, incident.status, incident.responsible_org, incident.responding_org,
                              incident.camera_id)


def _decide(session: Session, policy: Policy, user: User, camera: Camera, purpose: str, action: str,
            incident_id: int | None, provision_id: int | None) -> Decision:
    """The whole rule, read-only: Annex 1 purpose, role purposes, then Art. 9 ⑤ or the provision."""

    def base(responding: bool) -> Decision:
        return decisions.may_view_video(
            policy, role=user.role, user_department=user.department, purpose=purpose,
            camera_purposes=camera.purposes, camera_department=camera.department,
            responding_incident_camera=responding)

    if provision_id is not None:
        p = session.get(ProvisionRequest, provision_id)
        problem = None
        if p is None:
            problem = (f"제공 요청 {provision_id}을(를) 찾을 수 없습니다", f"provision request {provision_id} not found")
        elif p.requester_id != user.id:
            problem = ("본인이 요청한 제공 건만 열람할 수 있습니다", "only the requester may use a provision")
        elif p.status not in rules.PROVISION_ACCESS_STATUSES:
            label = rules.PROVISION_STATUS.get(p.status, (p.status, p.status))
            problem = (f"제공 요청이 '{label[0]}' 상태입니다", f"the provision request is {label[1]}")
        elif camera.id not in p.camera_id_list:
            problem = ("이 CCTV는 제공 요청에 포함되지 않았습니다", "this camera is not part of the provision request")
        elif purpose != p.purpose:
            problem = ("제공 요청의 목적과 다릅니다", "the purpose differs from the provision request's")
        elif action == "live" and p.kind != "emergency":
            problem = ("제공 요청으로는 실시간 영상을 볼 수 없습니다", "a provision request does not cover live video")
        clause = policy.access.emergency_clause if p is not None and p.kind == "emergency" else PIPA_18_2
        if problem:
            return Decision(False, clause, *problem)
        decision = base(True)
        if not decision.allowed:
            return decision
        return Decision(True, clause, f"제공 요청 {p.id}에 따른 열람", f"access under provision request {p.id}")

    if not _is_incident_only(policy, user.role):
        return base(False)
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    if incident_id is not None and incident is None:
        ok, ko, en = False, f"사건 {incident_id}을(를) 찾을 수 없습니다", f"incident {incident_id} not found"
    else:
        attached = _attached_cameras(session, incident.id) if incident is not None else set()
        ok, ko, en = rules.incident_covers_camera(_incident_view(incident), camera.id, attached)
    decision = base(ok)
    if not decision.allowed and decision.clause == policy.access.incident_only_clause and ko:
        return Decision(False, decision.clause, f"{decision.reason_ko}: {ko}", f"{decision.reason_en}: {en}")
    return decision


def _check_request(policy: Policy, purpose: str, action: str) -> None:
    if action not in rules.ACTIONS:
        raise ValidationFailed(f"알 수 없는 열람 방식: {action}", f"unknown action: {action}", field="action",
                               details={"allowed": sorted(rules.ACTIONS)})
    if not policy.has_purpose(purpose):
        raise ValidationFailed(f"알 수 없는 목적: {purpose}", f"unknown purpose: {purpose}", field="purpose")


def authorize_video(db: Database, policy: Policy, user: User, camera_id: int, purpose: str, action: str, *,
                    incident_id: int | None = None, request_id: str | None = None,
                    provision_id: int | None = None) -> AccessGrant:
    """Decide one live view, playback, snapshot or export and put the decision on the audit chain.

    Allowed: audit ``video.access.allowed`` and a ledger row (use or viewing), returns the grant.
    Denied: audit ``video.access.denied`` is committed, then Forbidden with the clause is raised.
    ``request_id`` is the HTTP request id carried into the audit entry; ``provision_id`` names an
    approved provision or an emergency access that covers the camera.
    """
    _check_request(policy, purpose, action)
    actor = actor_of(user, request_id)
    with db.uow() as uow:
        session = uow.session
        camera = session.get(Camera, camera_id)
        if camera is None:
            raise not_found("CCTV", "camera", camera_id, field="camera_id")
        decision = _decide(session, policy, user, camera, purpose, action, incident_id, provision_id)
        detail = {"camera": camera.management_number, "action": action, "incident_id": incident_id,
                  "provision_id": provision_id, "reason": decision.reason_en}
        audit = AuditLog(session)
        if not decision.allowed:
            audit.append(actor, Change("video.access.denied", "camera", camera_id, None, detail,
                                       purpose=purpose, clause=decision.clause))
            uow.commit()
            raise Forbidden(decision.reason_ko, decision.reason_en, clause=decision.clause,
                            details={"camera_id": camera_id, "action": action,
                                     "clause_text": _clause_text(policy, decision.clause)})
        entry = audit.append(actor, Change("video.access.allowed", "camera", camera_id, None, detail,
                                           purpose=purpose, clause=decision.clause))
        police = _is_incident_only(policy, user.role)
        now = utcnow()
        ledger.append(
            session, kind="viewing" if police else "use",
            items=f"CCTV {camera.management_number} ({camera.name or ''}) — {rules.ACTIONS[action][0]}",
            method=rules.ACTION_METHOD[action], handler_id=user.id, handler_name=user.username,
            occurred_at=now, recipient=user.display_name or user.username,
            recipient_organisation=policy.organisation(user.organisation).name_ko, purpose=purpose,
            legal_ground=_clause_label(policy, decision.clause), camera_ids=[camera_id],
            reference_type="incident" if incident_id is not None and provision_id is None else (
                "provision" if provision_id is not None else None),
            reference_id=provision_id if provision_id is not None else incident_id,
            clause=decision.clause, audit_seq=entry.seq,
        )
        uow.commit()
        return AccessGrant(user.id, user.username, user.role, camera_id, purpose, action, incident_id,
                           decision.clause, entry.seq, provision_id)


def grant_still_valid(db: Database, policy: Policy, grant: AccessGrant) -> bool:
    """Re-check a grant (live streams call this periodically): False once the incident closes,
    the camera is detached, the provision ends, or the account is locked. Writes nothing."""
    with db.reading() as session:
        user = session.get(User, grant.user_id)
        camera = session.get(Camera, grant.camera_id)
        if user is None or user.locked or user.role != grant.role or camera is None:
            return False
        return _decide(session, policy, user, camera, grant.purpose, grant.action, grant.incident_id,
                       grant.provision_id).allowed


def _clause_label(policy: Policy, clause: str) -> str:
    text = _clause_text(policy, clause)["ko"]
    return f"[{clause}] {text}"[:200]


# ---- cameras attached to an incident ----------------------------------------------------------


def attach_camera(db: Database, policy: Policy, user: User, incident_id: int, camera_id: int,
                  reason: str | None = None, *, request_id: str | None = None) -> IncidentCamera:
    """District staff or the responding police attach a nearby camera to an open incident."""
    actor = actor_of(user, request_id)
    with db.uow() as uow:
        session = uow.session
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise not_found("상황", "incident", incident_id)
        if session.get(Camera, camera_id) is None:
            raise not_found("CCTV", "camera", camera_id, field="camera_id")
        if incident.status not in rules.OPEN_INCIDENT_STATUSES:
            raise ValidationFailed("종결된 상황에는 CCTV를 연결할 수 없습니다",
                                   "cannot attach a camera to an incident that is no longer open",
                                   field="incident_id", clause=policy.access.incident_only_clause)
        if _is_incident_only(policy, user.role):
            responding = set(filter(None, incident.responding_roles.split(",")))
            police_routed = "police" in {incident.responding_org, incident.responsible_org}
            if not police_routed or user.role not in responding:
                raise Forbidden("대응 중인 경찰관만 이 상황에 CCTV를 연결할 수 있습니다",
                                "only police responding to this incident may attach cameras to it",
                                clause=policy.access.incident_only_clause)
        existing = session.scalar(select(IncidentCamera).where(IncidentCamera.incident_id == incident_id,
                                                               IncidentCamera.camera_id == camera_id))
        if existing is not None:
            return existing
        link = IncidentCamera(incident_id=incident_id, camera_id=camera_id, attached_by_id=user.id,
                              attached_by_name=user.username, attached_at=utcnow(),
                              reason=(reason or "").strip()[:500] or None)
        session.add(link)
        session.flush()
        AuditLog(session).append(actor, Change("incident.camera.attached", "incident", incident_id, None,
                                               {"camera_id": camera_id, "reason": link.reason},
                                               clause=policy.access.incident_only_clause))
        uow.commit()
        return link


def incident_cameras(session: Session, incident_id: int) -> list[IncidentCamera]:
    if session.get(Incident, incident_id) is None:
        raise not_found("상황", "incident", incident_id)
    return list(session.scalars(select(IncidentCamera).where(IncidentCamera.incident_id == incident_id)
                                .order_by(IncidentCamera.id)))


# ---- provision to the police (영상정보제공, Art. 11) -------------------------------------------


@dataclass(frozen=True)
class RequestProvision:
    camera_ids: tuple[int, ...]
    period_start: datetime
    period_end: datetime
    purpose: str
    legal_ground: str
    reason: str
    document_number: str
    incident_id: int | None = None


@dataclass(frozen=True)
class OpenEmergencyAccess:
    camera_ids: tuple[int, ...]
    period_start: datetime
    period_end: datetime
    purpose: str
    legal_ground: str
    reason: str
    incident_id: int | None = None


def _label(table: Any, code: str | None) -> str:
    return table[code][0] if code in table else (code or "")


def _check_cameras(session: Session, camera_ids: Sequence[int]) -> list[Camera]:
    ids = sorted(set(camera_ids))
    if not ids:
        raise ValidationFailed("CCTV를 하나 이상 지정하세요", "name at least one camera", field="camera_ids")
    if len(ids) > 200:
        raise ValidationFailed("한 번에 200대까지 요청할 수 있습니다", "at most 200 cameras per request",
                               field="camera_ids")
    cameras = list(session.scalars(select(Camera).where(Camera.id.in_(ids))))
    missing = sorted(set(ids) - {c.id for c in cameras})
    if missing:
        raise not_found("CCTV", "camera", ", ".join(map(str, missing)), field="camera_ids")
    return cameras


def _check_reason(text: str, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("사유를 입력하세요", "give a reason", field=field)
    return text


def _check_provision_input(policy: Policy, purpose: str, legal_ground: str, start: datetime, end: datetime) -> None:
    if not policy.has_purpose(purpose):
        raise ValidationFailed(f"알 수 없는 목적: {purpose}", f"unknown purpose: {purpose}", field="purpose")
    rules.check_code(rules.LEGAL_GROUNDS, legal_ground, "legal_ground", "법적 근거", "legal ground")
    rules.check_period(start, end)


def _get_provision(session: Session, provision_id: int, *, lock: bool = False) -> ProvisionRequest:
    p = session.get(ProvisionRequest, provision_id)
    if p is None:
        raise not_found("제공 요청", "provision request", provision_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        session.refresh(p, with_for_update=True)
    return p


def _items_text(cameras: Iterable[Camera], start: datetime | None, end: datetime | None) -> str:
    names = ", ".join(c.management_number for c in sorted(cameras, key=lambda c: c.id))
    return f"CCTV {names}"[:2000]


def request_provision(db: Database, policy: Policy, user: User, cmd: RequestProvision, *,
                      request_id: str | None = None) -> ProvisionRequest:
    """A police request for footage, with the legal ground and the official document number."""
    _check_provision_input(policy, cmd.purpose, cmd.legal_ground, cmd.period_start, cmd.period_end)
    reason = _check_reason(cmd.reason)
    number = (cmd.document_number or "").strip()
    if not number:
        raise ValidationFailed("공문 번호를 입력하세요", "give the official document number", field="document_number")
    with db.uow() as uow:
        session = uow.session
        _check_cameras(session, cmd.camera_ids)
        if cmd.incident_id is not None and session.get(Incident, cmd.incident_id) is None:
            raise not_found("상황", "incident", cmd.incident_id, field="incident_id")
        now = utcnow()
        p = ProvisionRequest(
            kind="regular", status="requested", requester_id=user.id, requester_name=user.username,
            requester_role=user.role, organisation=user.organisation, camera_ids=ledger.ids_text(cmd.camera_ids),
            period_start=cmd.period_start, period_end=cmd.period_end, purpose=cmd.purpose,
            legal_ground=cmd.legal_ground, reason=reason, incident_id=cmd.incident_id,
            document_number=number[:100], created_at=now, updated_at=now)
        session.add(p)
        session.flush()
        AuditLog(session).append(actor_of(user, request_id), Change(
            "provision.requested", "provision_request", p.id, None, provision_dict(p),
            purpose=cmd.purpose, clause=PIPA_18_2))
        uow.commit()
        return p


def attach_document(db: Database, policy: Policy, user: User, provision_id: int, *, document_number: str,
                    data: bytes, documents_dir: Path, request_id: str | None = None) -> ProvisionRequest:
    """The scan of the official document (PDF/JPEG/PNG, checked by content); closes an emergency's
    'document pending' item."""
    number = (document_number or "").strip()
    if not number:
        raise ValidationFailed("공문 번호를 입력하세요", "give the official document number", field="document_number")
    content_type = rules.sniff_document(data)
    digest = hashlib.sha256(data).hexdigest()
    with db.uow() as uow:
        session = uow.session
        p = _get_provision(session, provision_id, lock=True)
        if p.organisation != user.organisation:
            raise Forbidden("요청한 기관만 공문을 제출할 수 있습니다",
                            "only the requesting organisation may submit the document", clause=PIPA_18_2)
        before = provision_dict(p)
        now = utcnow()
        if p.kind == "emergency":
            p.status = rules.provision_next(p.status, "receive_document")
        elif p.status != "requested":
            rules.provision_next(p.status, "attach_document")  # raises: only before the decision
        documents_dir.mkdir(parents=True, exist_ok=True)
        path = documents_dir / f"{digest}{rules.DOCUMENT_TYPES[content_type][1]}"
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        p.document_number = number[:100]
        p.document_path = str(path)
        p.document_sha256 = digest
        p.document_content_type = content_type
        p.document_size = len(data)
        p.document_received_at = now
        p.updated_at = now
        AuditLog(session).append(actor_of(user, request_id), Change(
            "provision.document.received", "provision_request", p.id, before, provision_dict(p),
            purpose=p.purpose,
            clause=policy.access.emergency_clause if p.kind == "emergency" else PIPA_18_2))
        uow.commit()
        return p


def decide_provision(db: Database, policy: Policy, user: User, provision_id: int, *, approve: bool,
                     reason: str, request_id: str | None = None) -> tuple[ProvisionRequest, list[dict]]:
    """The district IT officer approves (the export is then prepared) or rejects, with reasons."""
    reason = _check_reason(reason)
    with db.uow() as uow:
        session = uow.session
        p = _get_provision(session, provision_id, lock=True)
        target = rules.provision_next(p.status, "approve" if approve else "reject")
        if approve and not p.document_sha256:
            raise ValidationFailed("공문 사본이 없어 승인할 수 없습니다", "the official document scan is missing",
                                   field="document", clause=PIPA_18_2)
        before = provision_dict(p)
        now = utcnow()
        p.status = target
        p.decided_by_id, p.decided_by_name, p.decided_at, p.decision_reason = user.id, user.username, now, reason
        p.updated_at = now
        AuditLog(session).append(actor_of(user, request_id), Change(
            "provision.approved" if approve else "provision.rejected", "provision_request", p.id, before,
            provision_dict(p), purpose=p.purpose, clause=PIPA_18_2))
        uow.commit()
        events: list[dict] = []
        if approve:
            # The evidence side listens for this and prepares the export for the requester.
            events.append({"kind": "provision.approved", "provision_id": p.id, "camera_ids": p.camera_id_list,
                           "period_start": p.period_start.isoformat(), "period_end": p.period_end.isoformat(),
                           "purpose": p.purpose, "requester_id": p.requester_id})
        events.append({"kind": "alert", "to_roles": [p.requester_role], "provision_id": p.id,
                       "message": {"ko": f"영상정보 제공 요청 {p.id}: {'승인' if approve else '거부'} — {reason}",
                                   "en": f"provision request {p.id} {'approved' if approve else 'rejected'}: {reason}"}})
        return p, events


def open_emergency_access(db: Database, policy: Policy, user: User, cmd: OpenEmergencyAccess, *,
                          request_id: str | None = None, now: datetime | None = None
                          ) -> tuple[ProvisionRequest, list[dict]]:
    """Art. 11 ①: access at once with a stated reason; an 'official document pending' item opens."""
    _check_provision_input(policy, cmd.purpose, cmd.legal_ground, cmd.period_start, cmd.period_end)
    reason = _check_reason(cmd.reason)
    now = now or utcnow()
    decision = decisions.emergency_access(policy, now, organisation=user.organisation)
    actor = actor_of(user, request_id)
    with db.uow() as uow:
        session = uow.session
        cameras = _check_cameras(session, cmd.camera_ids)
        if not decision.allowed:
            AuditLog(session).append(actor, Change("provision.emergency.denied", "user", user.id, None,
                                                   {"camera_ids": sorted(cmd.camera_ids)}, purpose=cmd.purpose,
                                                   clause=decision.clause))
            uow.commit()
            raise Forbidden(decision.reason_ko, decision.reason_en, clause=decision.clause)
        result_due = decisions.usage_result_due(policy, now)
        p = ProvisionRequest(
            kind="emergency", status="emergency_open", requester_id=user.id, requester_name=user.username,
            requester_role=user.role, organisation=user.organisation, camera_ids=ledger.ids_text(cmd.camera_ids),
            period_start=cmd.period_start, period_end=cmd.period_end, purpose=cmd.purpose,
            legal_ground=cmd.legal_ground, reason=reason, incident_id=cmd.incident_id,
            document_due_at=decision.document_due_at, provided_at=now, usage_result_due_at=result_due.due_at,
            created_at=now, updated_at=now)
        session.add(p)
        session.flush()
        entry = AuditLog(session).append(actor, Change(
            "provision.emergency.opened", "provision_request", p.id, None, provision_dict(p),
            purpose=cmd.purpose, clause=decision.clause))
        ledger.append(
            session, kind="viewing", items=_items_text(cameras, p.period_start, p.period_end),
            method="playback", handler_id=user.id, handler_name=user.username, occurred_at=now,
            recipient=user.display_name or user.username,
            recipient_organisation=policy.organisation(user.organisation).name_ko, purpose=cmd.purpose,
            legal_ground=f"{_clause_label(policy, decision.clause)}; {_label(rules.LEGAL_GROUNDS, cmd.legal_ground)}"[:200],
            camera_ids=cmd.camera_ids, period_start=p.period_start, period_end=p.period_end,
            reference_type="provision", reference_id=p.id, clause=decision.clause, audit_seq=entry.seq)
        uow.commit()
        events = [{"kind": "alert", "to_roles": list(DISTRICT_APPROVERS), "provision_id": p.id,
                   "message": {"ko": f"긴급 우선 열람 {p.id} ({user.username}): {reason} — 공문 기한 "
                                     f"{p.document_due_at.astimezone(KST):%Y-%m-%d %H:%M}",
                               "en": f"emergency access {p.id} by {user.username}: {reason} — document due "
                                     f"{p.document_due_at.isoformat()}"}}]
        return p, events


def mark_exported(db: Database, policy: Policy, actor: Actor, provision_id: int, *, export_ref: str,
                  now: datetime | None = None) -> ProvisionRequest:
    """Called by the evidence side once the copy is handed over: ledger 'provision' row, usage
    result deadline (Art. 11 ②) starts."""
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        p = _get_provision(session, provision_id, lock=True)
        before = provision_dict(p)
        p.status = rules.provision_next(p.status, "export")
        p.export_ref = (export_ref or "")[:200] or None
        if p.kind == "regular" or p.provided_at is None:
            p.provided_at = now
            p.usage_result_due_at = decisions.usage_result_due(policy, now).due_at
        p.updated_at = now
        cameras = session.scalars(select(Camera).where(Camera.id.in_(p.camera_id_list))).all()
        clause = policy.access.emergency_clause if p.kind == "emergency" else PIPA_18_2
        entry = AuditLog(session).append(actor, Change("provision.exported", "provision_request", p.id, before,
                                                       provision_dict(p), purpose=p.purpose, clause=clause))
        ledger.append(
            session, kind="provision", items=_items_text(cameras, p.period_start, p.period_end), method="copy",
            handler_id=actor.id, handler_name=actor.name, occurred_at=now, recipient=p.requester_name,
            recipient_organisation=policy.organisation(p.organisation).name_ko, purpose=p.purpose,
            legal_ground=_label(rules.LEGAL_GROUNDS, p.legal_ground)[:200], camera_ids=p.camera_id_list,
            period_start=p.period_start, period_end=p.period_end, reference_type="provision", reference_id=p.id,
            clause=clause, audit_seq=entry.seq)
        uow.commit()
        return p


def enter_usage_result(db: Database, policy: Policy, user: User, provision_id: int, *, used_for: str,
                       outcome: str, request_id: str | None = None) -> ProvisionRequest:
    """Art. 11 ②: what the footage was used for and what came of it."""
    used_for = _check_reason(used_for, "used_for")
    rules.check_code(rules.USAGE_OUTCOMES, outcome, "outcome", "활용 결과", "usage outcome")
    with db.uow() as uow:
        session = uow.session
        p = _get_provision(session, provision_id, lock=True)
        if p.organisation != user.organisation:
            raise Forbidden("요청한 기관만 활용결과를 입력할 수 있습니다",
                            "only the requesting organisation may enter the usage result",
                            clause=policy.access.usage_result_clause)
        before = provision_dict(p)
        now = utcnow()
        p.status = rules.provision_next(p.status, "enter_result")
        p.usage_result, p.usage_outcome = used_for, outcome
        p.usage_result_entered_at, p.usage_result_by_name, p.updated_at = now, user.username, now
        AuditLog(session).append(actor_of(user, request_id), Change(
            "provision.usage_result.entered", "provision_request", p.id, before, provision_dict(p),
            purpose=p.purpose, clause=policy.access.usage_result_clause))
        uow.commit()
        return p


def list_provisions(session: Session, *, organisation: str | None = None, status: str | None = None,
                    limit: int = 200) -> list[ProvisionRequest]:
    stmt = select(ProvisionRequest).order_by(ProvisionRequest.id.desc()).limit(limit)
    if organisation:
        stmt = stmt.where(ProvisionRequest.organisation == organisation)
    if status:
        stmt = stmt.where(ProvisionRequest.status == status)
    return list(session.scalars(stmt))


def get_provision(session: Session, provision_id: int) -> ProvisionRequest:
    return _get_provision(session, provision_id)


def provision_dict(p: ProvisionRequest, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "id": p.id, "kind": p.kind, "status": p.status,
        "status_label": dict(zip(("ko", "en"), rules.PROVISION_STATUS.get(p.status, (p.status, p.status)))),
        "requester": p.requester_name, "requester_role": p.requester_role, "organisation": p.organisation,
        "camera_ids": p.camera_id_list, "period_start": p.period_start, "period_end": p.period_end,
        "purpose": p.purpose, "legal_ground": p.legal_ground, "reason": p.reason, "incident_id": p.incident_id,
        "document_number": p.document_number, "document_sha256": p.document_sha256,
        "document_content_type": p.document_content_type, "document_received_at": p.document_received_at,
        "document_due_at": p.document_due_at,
        "document_overdue": _document_overdue(p, now),
        "decided_by": p.decided_by_name, "decided_at": p.decided_at, "decision_reason": p.decision_reason,
        "provided_at": p.provided_at, "export_ref": p.export_ref, "usage_result_due_at": p.usage_result_due_at,
        "usage_result_overdue": _result_overdue(p, now),
        "usage_result": p.usage_result, "usage_outcome": p.usage_outcome,
        "usage_result_entered_at": p.usage_result_entered_at,
        "created_at": p.created_at,
    }


def _document_overdue(p: ProvisionRequest, now: datetime) -> bool:
    return (p.document_due_at is not None and p.document_received_at is None
            and decisions.is_overdue(p.document_due_at, now))


def _result_overdue(p: ProvisionRequest, now: datetime) -> bool:
    return (p.usage_result_due_at is not None and p.usage_result_entered_at is None
            and decisions.is_overdue(p.usage_result_due_at, now))


@dataclass(frozen=True)
class OverdueItem:
    kind: str  # document | usage_result | subject_request
    object_id: int
    due_at: datetime
    responsible: str
    clause: str
    label_ko: str
    label_en: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def overdue_items(session: Session, policy: Policy, now: datetime | None = None) -> list[OverdueItem]:
    """Every item past its deadline: emergency documents, usage results, subject requests."""
    now = now or utcnow()
    items: list[OverdueItem] = []
    docs = session.scalars(select(ProvisionRequest).where(
        ProvisionRequest.document_due_at.is_not(None), ProvisionRequest.document_received_at.is_(None),
        ProvisionRequest.document_due_at < now).order_by(ProvisionRequest.document_due_at))
    for p in docs:
        items.append(OverdueItem("document", p.id, p.document_due_at, p.requester_name, policy.access.emergency_clause,
                                 f"긴급 열람 {p.id}: 공문 미제출 (기한 경과)",
                                 f"emergency access {p.id}: official document overdue"))
    results = session.scalars(select(ProvisionRequest).where(
        ProvisionRequest.usage_result_due_at.is_not(None), ProvisionRequest.usage_result_entered_at.is_(None),
        ProvisionRequest.usage_result_due_at < now).order_by(ProvisionRequest.usage_result_due_at))
    for p in results:
        items.append(OverdueItem("usage_result", p.id, p.usage_result_due_at, p.requester_name,
                                 policy.access.usage_result_clause,
                                 f"제공 {p.id}: CCTV 활용결과 미입력 (기한 경과)",
                                 f"provision {p.id}: usage result overdue"))
    subjects = session.scalars(select(SubjectRequest).where(
        SubjectRequest.status == "received", SubjectRequest.due_at < now).order_by(SubjectRequest.due_at))
    for s in subjects:
        items.append(OverdueItem("subject_request", s.id, s.due_at, s.requester_name, PIPA_35,
                                 f"개인영상정보 열람 청구 {s.id}: 10일 기한 경과",
                                 f"subject request {s.id}: 10-day deadline passed"))
    return items


def flag_overdue(db: Database, policy: Policy, now: datetime | None = None) -> list[dict]:
    """Scheduled: notify each overdue item once (alert events for app.state.bus), audited."""
    now = now or utcnow()
    events: list[dict] = []
    with db.uow() as uow:
        session = uow.session
        audit = AuditLog(session)
        actor = Actor.system("system:overdue")
        for item in overdue_items(session, policy, now):
            if item.kind == "subject_request":
                s = session.get(SubjectRequest, item.object_id)
                if s.overdue_notified_at is not None:
                    continue
                s.overdue_notified_at = now
                audit.append(actor, Change("subject_request.overdue", "subject_request", s.id, None,
                                           {"due_at": item.due_at.isoformat()}, clause=item.clause))
                events.append(_alert(item, list(DISTRICT_APPROVERS)))
                continue
            p = session.get(ProvisionRequest, item.object_id)
            field = "document_overdue_notified_at" if item.kind == "document" else "usage_result_overdue_notified_at"
            if getattr(p, field) is not None:
                continue
            setattr(p, field, now)
            to_roles = sorted({p.requester_role, *DISTRICT_APPROVERS})
            audit.append(actor, Change(f"provision.{item.kind}.overdue", "provision_request", p.id, None,
                                       {"due_at": item.due_at.isoformat(), "requester": p.requester_name},
                                       purpose=p.purpose, clause=item.clause))
            events.append(_alert(item, to_roles))
        uow.commit()
    return events


def _alert(item: OverdueItem, to_roles: list[str]) -> dict:
    return {"kind": "alert", "to_roles": to_roles, "overdue": item.kind, "object_id": item.object_id,
            "due_at": item.due_at.isoformat(), "clause": item.clause,
            "message": {"ko": item.label_ko, "en": item.label_en}}


def usage_statistics(session: Session, policy: Policy, *, since: datetime | None = None,
                     until: datetime | None = None) -> list[dict[str, Any]]:
    """CCTV performance (Art. 11 ②): usage results per camera, purpose and month (KST)."""
    stmt = select(ProvisionRequest).where(ProvisionRequest.usage_result_entered_at.is_not(None))
    if since:
        stmt = stmt.where(ProvisionRequest.provided_at >= since)
    if until:
        stmt = stmt.where(ProvisionRequest.provided_at < until)
    buckets: dict[tuple[int, str, str], Counter] = defaultdict(Counter)
    for p in session.scalars(stmt):
        month = (p.provided_at or p.created_at).astimezone(KST).strftime("%Y-%m")
        for camera_id in p.camera_id_list:
            buckets[(camera_id, p.purpose, month)][p.usage_outcome or "no_result"] += 1
    numbers = dict(session.execute(select(Camera.id, Camera.management_number).where(
        Camera.id.in_({k[0] for k in buckets}))).all()) if buckets else {}
    rows = []
    for (camera_id, purpose, month), outcomes in sorted(buckets.items()):
        rows.append({"camera_id": camera_id, "management_number": numbers.get(camera_id), "purpose": purpose,
                     "month": month, "uses": sum(outcomes.values()), "outcomes": dict(sorted(outcomes.items())),
                     "effective": sum(n for o, n in outcomes.items() if o not in ("no_result", "ongoing"))})
    return rows


# ---- data-subject requests (PIPA Art. 35) -----------------------------------------------------


@dataclass(frozen=True)
class TakeSubjectRequest:
    requester_name: str
    identity_method: str
    camera_ids: tuple[int, ...]
    period_start: datetime
    period_end: datetime
    requester_contact: str | None = None
    description: str | None = None
    received_at: datetime | None = None


def take_subject_request(db: Database, policy: Policy, user: User, cmd: TakeSubjectRequest, *,
                         request_id: str | None = None) -> SubjectRequest:
    """Intake after the identity check by the handling officer; due in 10 days."""
    name = (cmd.requester_name or "").strip()
    if not name:
        raise ValidationFailed("청구인 성명을 입력하세요", "give the requester's name", field="requester_name")
    rules.check_code(rules.IDENTITY_METHODS, cmd.identity_method, "identity_method", "신원 확인 방법",
                     "identity check method")
    rules.check_period(cmd.period_start, cmd.period_end)
    now = utcnow()
    received = cmd.received_at or now
    if received > now:
        raise ValidationFailed("접수 일시가 미래입니다", "received_at is in the future", field="received_at")
    with db.uow() as uow:
        session = uow.session
        _check_cameras(session, cmd.camera_ids)
        s = SubjectRequest(
            status="received", requester_name=name[:120], requester_contact=(cmd.requester_contact or None),
            identity_method=cmd.identity_method, identity_verified_by_id=user.id,
            identity_verified_by_name=user.username, identity_verified_at=now,
            camera_ids=ledger.ids_text(cmd.camera_ids), period_start=cmd.period_start, period_end=cmd.period_end,
            description=cmd.description, received_at=received, due_at=rules.subject_due_at(received),
            mask_others=True, created_at=now, updated_at=now)
        session.add(s)
        session.flush()
        # The requester's name and contact are personal data: the chain keeps only the request id.
        AuditLog(session).append(actor_of(user, request_id), Change(
            "subject_request.received", "subject_request", s.id, None,
            {"identity_method": s.identity_method, "camera_ids": s.camera_id_list, "due_at": s.due_at.isoformat()},
            clause=PIPA_35))
        uow.commit()
        return s


def decide_subject_request(db: Database, policy: Policy, user: User, subject_id: int, *, outcome: str,
                           reason: str | None = None, note: str | None = None, method: str = "viewing_in_person",
                           request_id: str | None = None) -> SubjectRequest:
    """provided (others masked) / delayed (with a reason) / refused (only on a lawful ground)."""
    action = {"provided": "provide", "delayed": "delay", "refused": "refuse"}.get(outcome)
    if action is None:
        raise ValidationFailed(f"알 수 없는 결과: {outcome}", f"unknown outcome: {outcome}", field="outcome",
                               details={"allowed": ["provided", "delayed", "refused"]})
    note = (note or "").strip() or None
    if action == "refuse":
        reason = rules.check_refusal_reason(reason or "")
    elif action == "delay":
        rules.check_code(rules.SUBJECT_DELAY_REASONS, reason or "", "reason", "연기 사유", "delay reason")
        if reason == "other" and not note:
            raise ValidationFailed("기타 사유의 내용을 입력하세요", "describe the other reason", field="note")
    else:
        reason = None
        if method not in ("viewing_in_person", "copy"):
            raise ValidationFailed("열람 방법은 방문 열람 또는 사본 제공입니다",
                                   "method is viewing_in_person or copy", field="method")
    with db.uow() as uow:
        session = uow.session
        s = session.get(SubjectRequest, subject_id)
        if s is None:
            raise not_found("열람 청구", "subject request", subject_id)
        before = subject_dict(s)
        s.status = rules.subject_next(s.status, action)
        now = utcnow()
        s.outcome_reason, s.outcome_note = reason, note
        s.decided_by_name, s.decided_at, s.updated_at = user.username, now, now
        s.mask_others = True
        entry = AuditLog(session).append(actor_of(user, request_id), Change(
            f"subject_request.{outcome}", "subject_request", s.id, before, subject_dict(s), clause=PIPA_35))
        if outcome == "provided":
            cameras = session.scalars(select(Camera).where(Camera.id.in_(s.camera_id_list))).all()
            ledger.append(
                session, kind="viewing", items=_items_text(cameras, s.period_start, s.period_end) + " (타인 마스킹)",
                method=method, handler_id=user.id, handler_name=user.username, occurred_at=now,
                recipient="정보주체 본인", purpose=None,
                legal_ground="개인정보 보호법 제35조 (정보주체의 열람 청구)", camera_ids=s.camera_id_list,
                period_start=s.period_start, period_end=s.period_end, reference_type="subject_request",
                reference_id=s.id, clause=PIPA_35, audit_seq=entry.seq)
        uow.commit()
        return s


def list_subject_requests(session: Session, *, status: str | None = None, limit: int = 200) -> list[SubjectRequest]:
    stmt = select(SubjectRequest).order_by(SubjectRequest.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(SubjectRequest.status == status)
    return list(session.scalars(stmt))


def get_subject_request(session: Session, subject_id: int) -> SubjectRequest:
    s = session.get(SubjectRequest, subject_id)
    if s is None:
        raise not_found("열람 청구", "subject request", subject_id)
    return s


def subject_dict(s: SubjectRequest, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    reasons = {**rules.SUBJECT_REFUSAL_REASONS, **rules.SUBJECT_DELAY_REASONS}
    return {
        "id": s.id, "status": s.status,
        "status_label": dict(zip(("ko", "en"), rules.SUBJECT_STATUS[s.status])),
        "requester_name": s.requester_name, "requester_contact": s.requester_contact,
        "identity_method": s.identity_method, "identity_verified_by": s.identity_verified_by_name,
        "identity_verified_at": s.identity_verified_at, "camera_ids": s.camera_id_list,
        "period_start": s.period_start, "period_end": s.period_end, "description": s.description,
        "received_at": s.received_at, "due_at": s.due_at,
        "overdue": s.status == "received" and decisions.is_overdue(s.due_at, now),
        "outcome_reason": s.outcome_reason,
        "outcome_reason_label": dict(zip(("ko", "en"), reasons[s.outcome_reason])) if s.outcome_reason in reasons
        else None,
        "outcome_note": s.outcome_note, "mask_others": s.mask_others, "decided_by": s.decided_by_name,
        "decided_at": s.decided_at,
    }


# ---- retention holds and destruction ----------------------------------------------------------


HOLD_OBJECT_TYPES = ("recording", "export", "camera")


def place_hold(db: Database, policy: Policy, user: User, *, object_type: str, object_id: str, legal_basis: str,
               request_number: str | None = None, request_id: str | None = None) -> RetentionHold:
    if object_type not in HOLD_OBJECT_TYPES:
        raise ValidationFailed(f"알 수 없는 대상: {object_type}", f"unknown object type: {object_type}",
                               field="object_type", details={"allowed": list(HOLD_OBJECT_TYPES)})
    basis = _check_reason(legal_basis, "legal_basis")
    object_id = (object_id or "").strip()
    if not object_id:
        raise ValidationFailed("대상 번호를 입력하세요", "give the object id", field="object_id")
    with db.uow() as uow:
        session = uow.session
        hold = RetentionHold(object_type=object_type, object_id=object_id[:120], legal_basis=basis,
                             request_number=(request_number or "").strip()[:100] or None, placed_by_id=user.id,
                             placed_by_name=user.username, placed_at=utcnow())
        session.add(hold)
        session.flush()
        AuditLog(session).append(actor_of(user, request_id), Change(
            "retention.hold.placed", object_type, object_id, None, hold_dict(hold), clause=RETENTION_CLAUSE))
        uow.commit()
        return hold


def release_hold(db: Database, policy: Policy, user: User, hold_id: int, *, reason: str,
                 request_id: str | None = None) -> RetentionHold:
    reason = _check_reason(reason)
    with db.uow() as uow:
        session = uow.session
        hold = session.get(RetentionHold, hold_id)
        if hold is None:
            raise not_found("보존 조치", "retention hold", hold_id)
        if hold.released_at is not None:
            from gwanje.core.errors import Conflict

            raise Conflict("이미 해제된 보존 조치입니다", "the hold is already released", field="hold_id")
        before = hold_dict(hold)
        hold.released_at, hold.released_by_name, hold.release_reason = utcnow(), user.username, reason
        AuditLog(session).append(actor_of(user, request_id), Change(
            "retention.hold.released", hold.object_type, hold.object_id, before, hold_dict(hold),
            clause=RETENTION_CLAUSE))
        uow.commit()
        return hold


def active_holds(session: Session, object_type: str, object_ids: Iterable[str] | None = None
                 ) -> dict[str, list[RetentionHold]]:
    """Unreleased holds by object id, for ``retention.due_for_destruction``."""
    stmt = select(RetentionHold).where(RetentionHold.object_type == object_type, RetentionHold.released_at.is_(None))
    if object_ids is not None:
        ids = [str(i) for i in object_ids]
        if not ids:
            return {}
        stmt = stmt.where(RetentionHold.object_id.in_(ids))
    found: dict[str, list[RetentionHold]] = defaultdict(list)
    for hold in session.scalars(stmt):
        found[hold.object_id].append(hold)
    return dict(found)


def list_holds(session: Session, *, active_only: bool = True, limit: int = 500) -> list[RetentionHold]:
    stmt = select(RetentionHold).order_by(RetentionHold.id.desc()).limit(limit)
    if active_only:
        stmt = stmt.where(RetentionHold.released_at.is_(None))
    return list(session.scalars(stmt))


def hold_dict(h: RetentionHold) -> dict[str, Any]:
    return {"id": h.id, "object_type": h.object_type, "object_id": h.object_id, "legal_basis": h.legal_basis,
            "request_number": h.request_number, "placed_by": h.placed_by_name, "placed_at": h.placed_at,
            "released_at": h.released_at, "released_by": h.released_by_name, "release_reason": h.release_reason}


def record_destruction(db: Database, policy: Policy, actor: Actor, *, object_type: str, object_id: str,
                       camera_ids: Sequence[int], period_start: datetime | None, period_end: datetime | None,
                       created_at: datetime, retention_days: int, method: str = "auto_delete",
                       description: str | None = None, now: datetime | None = None) -> LedgerEntry:
    """The video/evidence side calls this after deleting a file it found due with
    ``retention.due_for_destruction``: destruction ledger row + audit, one transaction."""
    if method not in ("auto_delete", "overwrite", "manual_delete"):
        raise ValidationFailed(f"알 수 없는 파기 방법: {method}", f"unknown destruction method: {method}",
                               field="method")
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        holds = active_holds(session, object_type, [object_id]).get(str(object_id), [])
        if holds:
            # The file is gone already; record it all the same, and say loudly that a hold was ignored.
            log.error("destroyed %s %s despite %d active hold(s)", object_type, object_id, len(holds))
        cameras = session.scalars(select(Camera).where(Camera.id.in_(list(camera_ids)))).all() if camera_ids else []
        items = description or _items_text(cameras, period_start, period_end)
        entry = AuditLog(session).append(actor, Change(
            "retention.destroyed", object_type, object_id, None,
            {"camera_ids": sorted(camera_ids), "created_at": created_at.isoformat(), "retention_days": retention_days,
             "method": method, "held": [h.id for h in holds]}, clause=RETENTION_CLAUSE))
        row = ledger.append(
            session, kind="destruction", items=items, method=method, handler_id=actor.id, handler_name=actor.name,
            occurred_at=now, purpose=None,
            legal_ground=_clause_label(policy, RETENTION_CLAUSE) + f" ({retention_days}일)", camera_ids=camera_ids,
            period_start=period_start, period_end=period_end,
            retention_until=created_at + timedelta(days=retention_days),
            reference_type=object_type, reference_id=object_id, clause=RETENTION_CLAUSE, audit_seq=entry.seq)
        uow.commit()
        return row


# ---- ledger corrections -----------------------------------------------------------------------


def correct_ledger(db: Database, policy: Policy, user: User, entry_id: int, changes: dict[str, Any], reason: str,
                   *, request_id: str | None = None) -> LedgerEntry:
    with db.uow() as uow:
        session = uow.session
        row = ledger.correction_of(session, entry_id, changes, reason, handler_id=user.id,
                                   handler_name=user.username)
        entry = AuditLog(session).append(actor_of(user, request_id), Change(
            "ledger.corrected", "ledger_entry", entry_id, None,
            {"correction_id": row.id, "changes": changes, "reason": reason}, clause=ledger.LEDGER_CLAUSE))
        uow.commit()
        return row
