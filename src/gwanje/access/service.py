"""Access use cases: purpose-bound video access and the cameras attached to incidents — and the
interface the other capabilities call (video, evidence, situations and the background jobs).

Each use case opens one unit of work, appends its audit entry (with purpose and clause) and its
ledger row in the same transaction, and commits once. A denied video access is committed too:
refusals are evidence. Video access is the one split in two: the decision is audited when it is
made, the ledger row written when the video side delivers the picture (:func:`record_delivery`),
or a failure audited when it could not (:func:`record_failure`).

The parts with their own state machines live in sub-packages: provisions to another organisation
(:mod:`gwanje.access.provisions.service`), data-subject requests (:mod:`gwanje.access.subjects.service`),
retention holds and destruction records (:mod:`gwanje.access.retention.service`) and the ledgers
(:mod:`gwanje.access.ledger.service`). What other capabilities use of them is imported here and
named in ``__all__``, so that they import ``gwanje.access.service`` only.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.korean import with_particle
from gwanje.access.choices import ACTION_METHOD, ProvisionStatus, VideoAction
from gwanje.access.ledger import service as ledger
from gwanje.access.models import IncidentCamera, LedgerEntry, ProvisionRequest
from gwanje.access.provisions.rules import PROVISION_ACCESS_STATUSES

# What other capabilities call of the parts: the evidence side marks provisions exported, the video
# side destroys what is due, the web app's background job flags missed deadlines, and the board and
# the home page show the deadline alerts of the roles that must act.
from gwanje.access.provisions.service import (
    DeadlineAlert,
    deadline_alerts,
    flag_overdue,
    get_provision,
    mark_exported,
    read_deadline_alerts,
)
from gwanje.access.retention.rules import due_for_destruction
from gwanje.access.retention.service import active_holds, place_hold, record_destruction, release_hold
from gwanje.access.rules import PIPA_18_2, clause_label, clause_text, ids_text
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import DomainError, Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.decisions import Decision, IncidentFacts
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.situations import rules as situation_rules
from gwanje.registry.rules import haversine_m
from gwanje.situations import events as situation_events
from gwanje.situations.models import Incident, IncidentEvent
from gwanje.situations.schemas import incident_view


# A later byte range of a playback within this long is the same viewing (the playback cache's lifetime).
CONTINUATION_WINDOW = timedelta(hours=1)


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


def incident_facts(incident: Incident) -> IncidentFacts:
    """What the Art. 9 ⑤ test needs to know about an incident row."""
    return IncidentFacts(
        id=incident.id,
        open=incident.status in situation_rules.OPEN,
        responsible_org=incident.responsible_org,
        responding_org=incident.responding_org,
        responding_roles=tuple(filter(None, (incident.responding_roles or "").split(","))),
        camera_id=incident.camera_id,
        status=incident.status,
        type=incident.type,
        taken_by=incident.taken_by_id,
        awaiting_review=bool(incident.review_required) and incident.reviewed_at is None,
        latitude=incident.latitude,
        longitude=incident.longitude,
    )


def attached_camera_ids(session: Session, incident_id: int) -> set[int]:
    """Cameras attached to an incident by an operator (besides the incident's own camera)."""
    return set(session.scalars(select(IncidentCamera.camera_id).where(IncidentCamera.incident_id == incident_id)))


def _provision_problem(
    p: ProvisionRequest | None, provision_id: int, user: User, camera: Camera, purpose: str, action: str
) -> tuple[str, str] | None:
    """Why a provision does not cover this opening, or None when it does."""
    if p is None:
        return (
            f"제공 요청 {with_particle(provision_id, '을/를')} 찾을 수 없습니다",
            f"provision request {provision_id} not found",
        )
    if p.requester_id != user.id:
        return ("본인이 요청한 제공 건만 열람할 수 있습니다", "only the requester may use a provision")
    if p.status not in PROVISION_ACCESS_STATUSES:
        ko, en = ProvisionStatus.labels(p.status)
        return (f"제공 요청이 '{ko}' 상태입니다", f"the provision request is {en}")
    if camera.id not in p.camera_id_list:
        return ("이 CCTV는 제공 요청에 포함되지 않았습니다", "this camera is not part of the provision request")
    if purpose != p.purpose:
        return ("제공 요청의 목적과 다릅니다", "the purpose differs from the provision request's")
    if action == "live" and p.kind != "emergency":
        return ("제공 요청으로는 실시간 영상을 볼 수 없습니다", "a provision request does not cover live video")
    return None


def _decide(
    session: Session,
    policy: Policy,
    user: User,
    camera: Camera,
    purpose: str,
    action: str,
    incident_id: int | None,
    provision_id: int | None,
) -> Decision:
    """The whole rule, read-only: Annex 1 purpose, role purposes, then Art. 9 ⑤ or the provision."""

    def base(responding: bool) -> Decision:
        return decisions.may_view_video(
            policy,
            role=user.role,
            user_department=user.department,
            purpose=purpose,
            camera_purposes=camera.purposes,
            camera_department=camera.department,
            responding_incident_camera=responding,
        )

    if provision_id is not None:
        p = session.get(ProvisionRequest, provision_id)
        problem = _provision_problem(p, provision_id, user, camera, purpose, action)
        clause = policy.access.emergency_clause if p is not None and p.kind == "emergency" else PIPA_18_2
        if problem:
            return Decision(False, clause, *problem)
        if p.kind == "emergency":
            now = utcnow()
            incident = session.get(Incident, p.incident_id) if p.incident_id is not None else None
            video = decisions.emergency_video(
                policy, incident.type if incident is not None else None, p.provided_at or p.created_at, now
            )
            if not video.allowed:
                return video
            # Art. 11 ①: an emergency whose official document is overdue past the grace grants nothing more.
            document = decisions.emergency_document_check(policy, p.document_due_at, p.document_received_at, now)
            if not document.allowed:
                return document
        decision = base(True)
        if not decision.allowed:
            return decision
        return Decision(True, clause, f"제공 요청 {p.id}에 따른 열람", f"access under provision request {p.id}")

    if not decisions.is_incident_only(policy, user.role):
        return base(False)
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    if incident_id is not None and incident is None:
        ok, ko, en = (
            False,
            f"사건 {with_particle(incident_id, '을/를')} 찾을 수 없습니다",
            f"incident {incident_id} not found",
        )
    else:
        attached: Collection[int] = attached_camera_ids(session, incident.id) if incident is not None else set()
        facts = incident_facts(incident) if incident is not None else None
        grants = decisions.incident_grants_view(policy, user.role, facts, camera.id, attached, user_id=user.id)
        ok, ko, en = (
            grants.allowed,
            ("" if grants.allowed else grants.reason_ko),
            ("" if grants.allowed else grants.reason_en),
        )
    decision = base(ok)
    if not decision.allowed and decision.clause == policy.access.incident_only_clause and ko:
        return Decision(False, decision.clause, f"{decision.reason_ko}: {ko}", f"{decision.reason_en}: {en}")
    return decision


def _check_request(policy: Policy, purpose: str, action: str) -> None:
    if action not in VideoAction:
        raise ValidationFailed(
            f"알 수 없는 열람 방식: {action}",
            f"unknown action: {action}",
            field="action",
            details={"allowed": sorted(VideoAction.codes())},
        )
    if not policy.has_purpose(purpose):
        raise ValidationFailed(f"알 수 없는 목적: {purpose}", f"unknown purpose: {purpose}", field="purpose")


def authorize_video(
    db: Database,
    policy: Policy,
    user: User,
    camera_id: int,
    purpose: str,
    action: str,
    *,
    incident_id: int | None = None,
    request_id: str | None = None,
    provision_id: int | None = None,
) -> AccessGrant:
    """Decide one live view, playback, snapshot or export and put the decision on the audit chain.

    Allowed: audit ``video.access.allowed``, returns the grant. No ledger row yet: the ledger records
    video actually delivered, so the video side calls :func:`record_delivery` once the first frame,
    the snapshot or the clip is in hand, and :func:`record_failure` when it could not deliver.
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
        detail = {
            "camera": camera.management_number,
            "action": action,
            "incident_id": incident_id,
            "provision_id": provision_id,
            "reason": decision.reason_en,
        }
        audit = AuditLog(session)
        if not decision.allowed:
            audit.append(
                actor,
                Change(
                    "video.access.denied", "camera", camera_id, None, detail, purpose=purpose, clause=decision.clause
                ),
            )
            uow.commit()
            raise Forbidden(
                decision.reason_ko,
                decision.reason_en,
                clause=decision.clause,
                details={"camera_id": camera_id, "action": action, "clause_text": clause_text(policy, decision.clause)},
            )
        entry = audit.append(
            actor,
            Change("video.access.allowed", "camera", camera_id, None, detail, purpose=purpose, clause=decision.clause),
        )
        uow.commit()
        return AccessGrant(
            user.id,
            user.username,
            user.role,
            camera_id,
            purpose,
            action,
            incident_id,
            decision.clause,
            entry.seq,
            provision_id,
        )


def viewing_items(camera: Camera) -> str:
    """The ledger's 대상 column for one camera: its management number, and its name when it has one."""
    name = (camera.name or "").strip()
    return f"CCTV {camera.management_number}" + (f" ({name})" if name else "")


def _delivered_before(
    session: Session, grant: AccessGrant, period_start: datetime | None, period_end: datetime | None
) -> bool:
    """Whether this user's viewing of the same camera and time range is already on the ledger (within
    the playback cache's lifetime): a later byte range of one playback is the same viewing."""
    stmt = (
        select(LedgerEntry.id)
        .where(
            LedgerEntry.handler_id == grant.user_id,
            LedgerEntry.camera_ids == ids_text([grant.camera_id]),
            LedgerEntry.method == ACTION_METHOD[grant.action],
            LedgerEntry.period_start == period_start,
            LedgerEntry.period_end == period_end,
            LedgerEntry.corrects_id.is_(None),
            LedgerEntry.recorded_at >= utcnow() - CONTINUATION_WINDOW,
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def record_delivery(
    db: Database,
    policy: Policy,
    grant: AccessGrant,
    *,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    continuation: bool = False,
) -> LedgerEntry | None:
    """The ledger row of one viewing act, written when the video is actually delivered.

    The video side calls this once per act: on the first frame of a live view, with the bytes of a
    snapshot, with the clip of a playback or an export. ``continuation``: a later byte range of a
    playback already recorded; it writes nothing when the first part is on the ledger. Returns the
    row (None for a recorded continuation).
    """
    with db.uow() as uow:
        session = uow.session
        if continuation and _delivered_before(session, grant, period_start, period_end):
            return None
        user = session.get(User, grant.user_id)
        camera = session.get(Camera, grant.camera_id)
        if user is None or camera is None:  # the grant named them a moment ago; rows are never deleted
            raise not_found("CCTV", "camera", grant.camera_id, field="camera_id")
        # An incident-only organisation's opening is a viewing (열람); everyone else's is a use (이용).
        viewing = decisions.is_incident_only(policy, grant.role)
        row = ledger.append(
            session,
            kind="viewing" if viewing else "use",
            items=viewing_items(camera),
            method=ACTION_METHOD[grant.action],
            handler_id=user.id,
            handler_name=user.username,
            occurred_at=utcnow(),
            recipient=user.display_name or user.username,
            recipient_organisation=policy.organisation(user.organisation).name_ko,
            purpose=grant.purpose,
            legal_ground=clause_label(policy, grant.clause),
            camera_ids=[grant.camera_id],
            period_start=period_start,
            period_end=period_end,
            reference_type="provision"
            if grant.provision_id is not None
            else ("incident" if grant.incident_id is not None else None),
            reference_id=grant.provision_id if grant.provision_id is not None else grant.incident_id,
            clause=grant.clause,
            audit_seq=grant.audit_seq,
        )
        uow.commit()
        return row


def record_failure(
    db: Database, grant: AccessGrant, error: DomainError | str, *, request_id: str | None = None
) -> None:
    """An allowed opening that delivered no video: audit ``video.access.failed`` with the reason, no ledger row."""
    if isinstance(error, DomainError):
        reason = {"status": error.status, "code": error.code, "reason": error.message_en, "reason_ko": error.message_ko}
    else:
        reason = {"status": None, "code": "no_video", "reason": error, "reason_ko": error}
    with db.uow() as uow:
        session = uow.session
        user = session.get(User, grant.user_id)
        actor = actor_of(user, request_id) if user is not None else Actor.system(grant.username)
        AuditLog(session).append(
            actor,
            Change(
                "video.access.failed",
                "camera",
                grant.camera_id,
                None,
                {
                    "action": grant.action,
                    "incident_id": grant.incident_id,
                    "provision_id": grant.provision_id,
                    "allowed_seq": grant.audit_seq,
                    **reason,
                },
                purpose=grant.purpose,
                clause=grant.clause,
            ),
        )
        uow.commit()


def grant_still_valid(db: Database, policy: Policy, grant: AccessGrant) -> bool:
    """Re-check a grant (live streams call this periodically): False once the incident closes,
    the camera is detached, the provision ends, or the account is locked. Writes nothing."""
    with db.reading() as session:
        user = session.get(User, grant.user_id)
        camera = session.get(Camera, grant.camera_id)
        if user is None or user.locked or user.role != grant.role or camera is None:
            return False
        return _decide(
            session, policy, user, camera, grant.purpose, grant.action, grant.incident_id, grant.provision_id
        ).allowed


# ---- cameras attached to an incident ----------------------------------------------------------


def attach_camera(
    db: Database,
    policy: Policy,
    user: User,
    incident_id: int,
    camera_id: int,
    reason: str | None = None,
    *,
    request_id: str | None = None,
) -> IncidentCamera:
    """The operator's staff or the responding incident-only roles attach a nearby camera to an open incident."""
    actor = actor_of(user, request_id)
    with db.uow() as uow:
        session = uow.session
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise not_found("상황", "incident", incident_id)
        camera = session.get(Camera, camera_id)
        if camera is None:
            raise not_found("CCTV", "camera", camera_id, field="camera_id")
        facts = incident_facts(incident)
        if not facts.open:
            raise ValidationFailed(
                "종결된 상황에는 CCTV를 연결할 수 없습니다",
                "cannot attach a camera to an incident that is no longer open",
                field="incident_id",
                clause=policy.access.incident_only_clause,
            )
        distance = (
            None
            if incident.latitude is None or incident.longitude is None
            else haversine_m(incident.latitude, incident.longitude, camera.latitude, camera.longitude)
        )
        may = decisions.may_attach_to_incident(policy, user.role, facts, user_id=user.id, distance_m=distance)
        if not may.allowed:
            raise Forbidden(may.reason_ko, may.reason_en, clause=may.clause)
        existing = session.scalar(
            select(IncidentCamera).where(
                IncidentCamera.incident_id == incident_id, IncidentCamera.camera_id == camera_id
            )
        )
        if existing is not None:
            return existing
        link = IncidentCamera(
            incident_id=incident_id,
            camera_id=camera_id,
            attached_by_id=user.id,
            attached_by_name=user.username,
            attached_at=utcnow(),
            reason=(reason or "").strip()[:500] or None,
        )
        session.add(link)
        session.flush()
        AuditLog(session).append(
            actor,
            Change(
                "incident.camera.attached",
                "incident",
                incident_id,
                None,
                {"camera_id": camera_id, "reason": link.reason},
                clause=policy.access.incident_only_clause,
            ),
        )
        # On the incident's timeline too, where the district sees who attached what and why.
        session.add(
            IncidentEvent(
                incident_id=incident_id,
                at=link.attached_at,
                actor_id=user.id,
                actor_name=user.username,
                role=user.role,
                action="camera.attached",
                note=link.reason,
                data=json.dumps(
                    {
                        "camera_id": camera_id,
                        "camera": camera.management_number,
                        "distance_m": None if distance is None else round(distance, 1),
                    },
                    ensure_ascii=False,
                    sort_keys=True,
                ),
            )
        )
        uow.record(situation_events.CameraAttached(incident_view(incident), camera_id=camera_id))
        uow.commit()
        return link


def incident_cameras(session: Session, incident_id: int) -> list[IncidentCamera]:
    if session.get(Incident, incident_id) is None:
        raise not_found("상황", "incident", incident_id)
    return list(
        session.scalars(
            select(IncidentCamera).where(IncidentCamera.incident_id == incident_id).order_by(IncidentCamera.id)
        )
    )


def read_incident_cameras(db: Database, incident_id: int) -> list[IncidentCamera]:
    with db.reading() as session:
        return incident_cameras(session, incident_id)


__all__ = [
    "AccessGrant",
    "active_holds",
    "attach_camera",
    "attached_camera_ids",
    "authorize_video",
    "record_delivery",
    "record_failure",
    "viewing_items",
    "due_for_destruction",
    "DeadlineAlert",
    "deadline_alerts",
    "flag_overdue",
    "read_deadline_alerts",
    "get_provision",
    "grant_still_valid",
    "incident_cameras",
    "incident_facts",
    "mark_exported",
    "place_hold",
    "read_incident_cameras",
    "record_destruction",
    "release_hold",
]
