"""Access use cases on both engines: purpose-bound access, provision, deadlines, subject requests,
retention and the append-only ledger."""

from __future__ import annotations

import hashlib
import json
import io
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from gwanje.access import service
from gwanje.access.events import DeadlineMissed, EmergencyAccessOpened, ProvisionApproved, ProvisionDecided
from gwanje.access.ledger import report
from gwanje.access.ledger import service as ledger
from gwanje.access.models import ProvisionRequest
from gwanje.access.provisions import service as provisions
from gwanje.access.retention import service as retention
from gwanje.access.retention.rules import due_for_destruction
from gwanje.access.subjects import service as subjects
from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor, AuditEntry, verify_chain
from gwanje.core.clock import utcnow
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed
from gwanje.registry.models import Camera, Site
from gwanje.situations import service as situations
from gwanje.situations.models import Incident, IncidentEvent

PASSWORD = "correct-horse-battery"


class World:
    def __init__(self, db, policy):
        self.db, self.policy = db, policy
        self._n = 0

    def user(self, role, department=None):
        self._n += 1
        with self.db.uow() as uow:
            user, _ = accounts.add_user(
                uow,
                Actor.system("test"),
                self.policy,
                accounts.NewUser(
                    username=f"a{self._n}_{role}"[:60],
                    display_name=f"{role} {self._n}",
                    role=role,
                    password=PASSWORD,
                    department=department,
                ),
            )
            uow.commit()
            return user

    def camera(
        self,
        number,
        department="autonomous_admin",
        primary="crime_prevention",
        secondary=("illegal_parking", "illegal_dumping", "facility_management", "disaster"),
        latitude=37.56,
        longitude=127.03,
    ):
        now = utcnow()
        with self.db.uow() as uow:
            site = Site(
                site_key=f"T-{number}",
                managing_agency="성동구",
                latitude=latitude,
                longitude=longitude,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(site)
            uow.session.flush()
            cam = Camera(
                management_number=number,
                name=f"테스트 {number}",
                site_id=site.id,
                department=department,
                owner_organisation="district",
                primary_purpose=primary,
                secondary_purposes="," + ",".join(secondary) + ",",
                latitude=latitude,
                longitude=longitude,
                retention_days=30,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(cam)
            uow.commit()
            return cam.id

    def incident(
        self,
        camera_id=None,
        responsible="police",
        responding="police",
        status="acknowledged",
        taken_by=None,
        situation="emergency_bell",
    ):
        """An incident at the test cameras' position; ``taken_by``: the user who has taken it."""
        now = utcnow()
        with self.db.uow() as uow:
            inc = Incident(
                type=situation,
                latitude=37.56,
                longitude=127.03,
                taken_by_id=taken_by.id if taken_by is not None else None,
                taken_by_name=taken_by.username if taken_by is not None else None,
                status=status,
                title="비상벨",
                source="test",
                camera_id=camera_id,
                responsible_org=responsible,
                recognising_org="district",
                recognising_role="monitoring_agent",
                responding_org=responding,
                responding_roles="police_112,police_officer",
                period="day",
                clause="annex-2",
                assigned_role="police_officer",
                occurred_at=now,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(inc)
            uow.commit()
            return inc.id

    def set_status(self, incident_id, status):
        with self.db.uow() as uow:
            uow.session.get(Incident, incident_id).status = status
            uow.commit()

    def audit(self, action):
        with self.db.reading() as s:
            return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))

    def ledger(self, kind=None):
        with self.db.reading() as s:
            return ledger.list_entries(s, kind=kind)


@pytest.fixture
def world(db, policy):
    return World(db, policy)


@pytest.fixture
def published(db):
    """The events each committed unit of work publishes."""
    seen = []
    db.publish_to(seen.extend)
    yield seen
    db.publish_to(None)


# ---- purpose-bound access ----------------------------------------------------------------------


def test_police_without_an_incident_are_refused_and_the_refusal_is_on_the_chain(world, db, policy):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, officer, cam, "crime_prevention", "live", request_id="r-1")
    assert err.value.clause == "art-9-5"
    assert err.value.details["clause_text"]["ko"]
    denied = world.audit("video.access.denied")
    assert len(denied) == 1
    assert (denied[0].purpose, denied[0].clause, denied[0].request_id) == ("crime_prevention", "art-9-5", "r-1")
    assert world.ledger() == []


def test_police_may_open_an_attached_camera_until_the_incident_closes(world, db, policy):
    own, nearby, elsewhere = world.camera("C-1"), world.camera("C-2"), world.camera("C-3")
    officer = world.user("police_officer")
    inc = world.incident(camera_id=own, taken_by=officer)
    service.attach_camera(db, policy, officer, inc, nearby, "인근 골목")
    grant = service.authorize_video(db, policy, officer, nearby, "crime_prevention", "live", incident_id=inc)
    assert grant.clause == "art-9-5" and grant.incident_id == inc
    assert service.authorize_video(db, policy, officer, own, "crime_prevention", "playback", incident_id=inc)
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, officer, elsewhere, "crime_prevention", "live", incident_id=inc)
    assert "not attached" in err.value.message_en

    allowed = world.audit("video.access.allowed")
    assert allowed[0].seq == grant.audit_seq and allowed[0].clause == "art-9-5"
    # Deciding is not viewing: the ledger row comes when the video is delivered, and names the incident.
    assert world.ledger() == []
    service.record_delivery(db, policy, grant)
    rows = world.ledger("viewing")
    assert len(rows) == 1 and rows[0].audit_seq == grant.audit_seq and rows[0].method == "live_view"
    assert (rows[0].reference_type, rows[0].reference_id) == ("incident", str(inc))

    assert service.grant_still_valid(db, policy, grant)
    world.set_status(inc, "closed")
    assert not service.grant_still_valid(db, policy, grant)
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, officer, nearby, "crime_prevention", "live", incident_id=inc)
    assert err.value.clause == "art-9-5" and "no longer open" in err.value.message_en
    assert verify_chain(db.session_factory()).ok


def test_police_may_not_attach_cameras_to_an_incident_they_do_not_respond_to(world, db, policy):
    cam = world.camera("C-1")
    investigator = world.user("police_investigator")
    inc = world.incident()
    with pytest.raises(Forbidden):
        service.attach_camera(db, policy, investigator, inc, cam)
    district = world.user("monitoring_agent")
    service.attach_camera(db, policy, district, inc, cam)
    world.set_status(inc, "closed")
    with pytest.raises(ValidationFailed):
        service.attach_camera(db, policy, district, inc, world.camera("C-9"))


# ---- Art. 9 ⑤ cannot be cleared with a pretext (issue 8, finding 2) ----------------------------


def _act(db, policy, user, incident_id, action):
    return situations.act(db, policy, accounts.actor_of(user), incident_id, action)


def test_a_new_incident_grants_the_police_no_view(world, db, policy):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    inc = world.incident(camera_id=cam, status="new", taken_by=officer)
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, officer, cam, "crime_prevention", "live", incident_id=inc)
    assert err.value.clause == "art-9-5" and "not yet being judged" in err.value.message_en
    assert world.audit("video.access.denied")[-1].clause == "art-9-5"


def test_the_officer_who_takes_an_incident_views_it_and_no_other_officer_does(world, db, policy):
    cam = world.camera("C-1")
    first, second = world.user("police_officer"), world.user("police_officer")
    inc = world.incident(camera_id=cam, status="new")
    _act(db, policy, world.user("monitoring_agent"), inc, "acknowledge")  # the district recognises it
    with pytest.raises(Forbidden) as err:  # acknowledged, but no officer has taken it yet
        service.authorize_video(db, policy, first, cam, "crime_prevention", "live", incident_id=inc)
    assert "only the officer who has taken" in err.value.message_en
    taken = _act(db, policy, first, inc, "take")
    assert taken.taken_by_id == first.id and taken.status == "acknowledged"
    assert service.authorize_video(db, policy, first, cam, "crime_prevention", "live", incident_id=inc)
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, second, cam, "crime_prevention", "live", incident_id=inc)
    assert err.value.clause == "art-9-5" and "only the officer who has taken" in err.value.message_en
    with pytest.raises(Forbidden):
        service.attach_camera(db, policy, second, inc, world.camera("C-2"))
    with pytest.raises(Conflict):  # nor can the second officer take it over
        _act(db, policy, second, inc, "take")
    with db.reading() as s:
        taken_rows = s.scalars(sa.select(IncidentEvent).where(IncidentEvent.action == "take")).all()
    assert [(e.incident_id, e.actor_id) for e in taken_rows] == [(inc, first.id)]


def test_police_attach_only_nearby_cameras_and_every_attachment_is_on_the_timeline(world, db, policy):
    officer, agent = world.user("police_officer"), world.user("monitoring_agent")
    inc = world.incident(taken_by=officer)  # at 37.56, 127.03
    near = world.camera("C-NEAR", latitude=37.5610, longitude=127.0310)  # about 140 m
    far = world.camera("C-FAR", latitude=37.5800, longitude=127.0300)  # about 2.2 km
    service.attach_camera(db, policy, officer, inc, near, "골목 입구")
    with pytest.raises(Forbidden) as err:
        service.attach_camera(db, policy, officer, inc, far)
    assert err.value.clause == "art-9-5" and "within 300 m" in err.value.message_en
    with pytest.raises(Forbidden):
        service.authorize_video(db, policy, officer, far, "crime_prevention", "live", incident_id=inc)
    service.attach_camera(db, policy, agent, inc, far, "도주 방향")  # the district's agent attaches any
    assert service.authorize_video(db, policy, officer, far, "crime_prevention", "live", incident_id=inc)
    with db.reading() as s:
        timeline = s.scalars(
            sa.select(IncidentEvent).where(IncidentEvent.incident_id == inc).order_by(IncidentEvent.id)
        ).all()
    attached = [(e.action, e.actor_id, e.note, json.loads(e.data)["camera_id"]) for e in timeline]
    assert attached == [
        ("camera.attached", officer.id, "골목 입구", near),
        ("camera.attached", agent.id, "도주 방향", far),
    ]
    detail = situations.incident_detail(
        db, policy, situations.visible_incident(db, policy, "district_manager", None, inc)
    )
    assert [e.action for e in detail.timeline] == ["camera.attached", "camera.attached"]


def test_a_police_report_grants_no_view_until_the_district_reviews_it(world, db, policy):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    with db.reading() as s:
        number = s.get(Camera, cam).management_number
    reported = situations.report_incident(
        db, policy, officer.username, {"title": "수상한 사람", "camera": number}, role=officer.role
    )
    assert reported.review_required and reported.camera_id == cam
    _act(db, policy, officer, reported.id, "acknowledge")  # the officer takes it at once
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, officer, cam, "crime_prevention", "live", incident_id=reported.id)
    assert err.value.clause == "art-9-5" and "until the district reviews it" in err.value.message_en
    with pytest.raises(Forbidden):
        _act(db, policy, officer, reported.id, "review")  # the police cannot review their own report
    reviewed = _act(db, policy, world.user("monitoring_agent"), reported.id, "review")
    assert reviewed.reviewed_at is not None
    assert service.authorize_video(db, policy, officer, cam, "crime_prevention", "live", incident_id=reported.id)
    # A report by the district's own staff needs no review.
    agents = situations.report_incident(
        db, policy, "agent", {"title": "쓰러진 사람", "camera": number}, role="monitoring_agent"
    )
    assert not agents.review_required


def _emergency(world, db, policy, officer, cam, incident_id, now=None):
    start = (now or utcnow()) - timedelta(hours=1)
    return provisions.open_emergency_access(
        db,
        policy,
        officer,
        provisions.OpenEmergencyAccess(
            camera_ids=(cam,),
            period_start=start,
            period_end=start + timedelta(minutes=30),
            purpose="crime_prevention",
            legal_ground="urgent_life_body_property",
            reason="강도 신고",
            incident_id=incident_id,
        ),
        now=now,
    )


def test_the_112_rooms_emergency_video_follows_the_listed_incident_types(world, db, policy):
    cam = world.camera("C-1")
    room = world.user("police_112")
    for incident_id in (None, world.incident(camera_id=cam, situation="camera_fault")):
        with pytest.raises(Forbidden) as err:
            _emergency(world, db, policy, room, cam, incident_id)
        assert err.value.clause == "art-11-1"
    assert len(world.audit("provision.emergency.denied")) == 2
    p = _emergency(world, db, policy, room, cam, world.incident(camera_id=cam, situation="wanted_vehicle"))
    grant = service.authorize_video(db, policy, room, cam, "crime_prevention", "live", provision_id=p.id)
    assert grant.clause == "art-11-1" and service.grant_still_valid(db, policy, grant)
    assert world.ledger() == []  # opened, nothing viewed yet
    service.record_delivery(db, policy, grant)
    [row] = world.ledger()
    assert (row.kind, row.method, row.clause) == ("viewing", "live_view", "art-11-1")
    assert (row.reference_type, row.reference_id) == ("provision", str(p.id))


def test_the_112_rooms_emergency_video_ends_after_the_policys_time_limit(world, db, policy):
    cam = world.camera("C-1")
    room = world.user("police_112")
    bell = world.incident(camera_id=cam)
    p = _emergency(world, db, policy, room, cam, bell, now=utcnow() - timedelta(minutes=61))
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, room, cam, "crime_prevention", "playback", provision_id=p.id)
    assert err.value.clause == "art-11-1" and "ended 60 minutes" in err.value.message_en


def test_department_officer_outside_the_cameras_purposes_is_refused(world, db, policy):
    cam = world.camera(
        "S-1",
        department="sanitation",
        primary="illegal_dumping",
        secondary=("crime_prevention", "illegal_parking", "facility_management", "disaster"),
    )
    officer = world.user("department_officer", "sanitation")
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, officer, cam, "traffic_enforcement", "playback")
    assert err.value.clause == "annex-1"
    grant = service.authorize_video(db, policy, officer, cam, "illegal_dumping", "playback")
    assert grant.clause == "annex-1"
    service.record_delivery(db, policy, grant)
    assert world.ledger("use")[0].purpose == "illegal_dumping"
    other_dept = world.user("department_officer", "parks_green")
    with pytest.raises(Forbidden) as err:
        service.authorize_video(db, policy, other_dept, cam, "facility_management", "live")
    assert err.value.clause == "policy-rbac"


def test_unknown_action_or_purpose_is_a_422_not_a_403(world, db, policy):
    cam = world.camera("C-1")
    agent = world.user("monitoring_agent")
    with pytest.raises(ValidationFailed):
        service.authorize_video(db, policy, agent, cam, "crime_prevention", "download")
    with pytest.raises(ValidationFailed):
        service.authorize_video(db, policy, agent, cam, "gossip", "live")


# ---- provision and emergency access -------------------------------------------------------------

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)
PDF = b"%PDF-1.4\n% scanned official document\n"


def _request(world, investigator, cams):
    return provisions.request_provision(
        world.db,
        world.policy,
        investigator,
        provisions.RequestProvision(
            camera_ids=tuple(cams),
            period_start=T0,
            period_end=T0 + timedelta(hours=2),
            purpose="crime_prevention",
            legal_ground="crime_investigation",
            reason="절도 사건 수사",
            document_number="성동서-2026-1234",
        ),
    )


def test_a_provision_is_approved_only_with_its_document_then_exported_and_reported(
    world, db, policy, tmp_path, published
):
    cams = [world.camera("C-1"), world.camera("C-2")]
    investigator, it = world.user("police_investigator"), world.user("district_it_officer")
    p = _request(world, investigator, cams)
    assert p.status == "requested"
    with pytest.raises(ValidationFailed):
        provisions.decide_provision(db, policy, it, p.id, approve=True, reason="적법")
    with pytest.raises(ValidationFailed):
        provisions.attach_document(
            db, policy, investigator, p.id, document_number="x", data=b"MZ...", documents_dir=tmp_path
        )
    p = provisions.attach_document(
        db, policy, investigator, p.id, document_number="성동서-2026-1234", data=PDF, documents_dir=tmp_path
    )
    assert p.document_sha256 == hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / f"{p.document_sha256}.pdf").read_bytes() == PDF

    # Until approved, the provision opens nothing.
    with pytest.raises(Forbidden):
        service.authorize_video(db, policy, investigator, cams[0], "crime_prevention", "export", provision_id=p.id)
    del published[:]
    p = provisions.decide_provision(db, policy, it, p.id, approve=True, reason="범죄수사 목적, 공문 확인")
    assert p.status == "approved" and published[0].kind == "provision.approved"
    assert isinstance(published[0], ProvisionApproved) and published[0].camera_ids == tuple(sorted(cams))
    assert isinstance(published[1], ProvisionDecided) and published[1].to_roles == ("police_investigator",)
    grant = service.authorize_video(db, policy, investigator, cams[0], "crime_prevention", "export", provision_id=p.id)
    assert grant.clause == "pipa-18-2"
    with pytest.raises(Forbidden):  # someone else cannot ride on the provision
        service.authorize_video(
            db, policy, world.user("police_investigator"), cams[0], "crime_prevention", "export", provision_id=p.id
        )

    p = provisions.mark_exported(db, policy, Actor.system("evidence"), p.id, export_ref="EXP-1")
    assert p.status == "exported" and p.usage_result_due_at == p.provided_at + timedelta(days=30)
    prov = world.ledger("provision")
    assert len(prov) == 1 and prov[0].recipient == investigator.username and "범죄의 수사" in prov[0].legal_ground
    with pytest.raises(ValidationFailed):
        provisions.enter_usage_result(db, policy, investigator, p.id, used_for="용의자 특정", outcome="great")
    p = provisions.enter_usage_result(db, policy, investigator, p.id, used_for="용의자 특정 및 검거", outcome="arrest")
    assert p.status == "usage_result_entered"
    with db.reading() as s:
        stats = provisions.usage_statistics(s, policy)
    assert {(r["camera_id"], r["purpose"], r["outcomes"]["arrest"], r["effective"]) for r in stats} == {
        (cams[0], "crime_prevention", 1, 1),
        (cams[1], "crime_prevention", 1, 1),
    }


def _command(cams):
    return provisions.RequestProvision(
        camera_ids=tuple(cams),
        period_start=T0,
        period_end=T0 + timedelta(hours=2),
        purpose="crime_prevention",
        legal_ground="crime_investigation",
        reason="절도 사건 수사",
        document_number="성동서-2026-1234",
    )


def test_a_request_and_its_scan_are_recorded_in_one_transaction(world, db, policy, tmp_path):
    investigator = world.user("police_investigator")
    p = provisions.request_provision(
        db,
        policy,
        investigator,
        _command([world.camera("C-1")]),
        scan=provisions.DocumentScan("성동서-2026-1234", PDF, tmp_path / "documents"),
    )
    assert p.status == "requested" and p.document_sha256 == hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "documents" / f"{p.document_sha256}.pdf").read_bytes() == PDF
    requested, received = world.audit("provision.requested"), world.audit("provision.document.received")
    assert len(requested) == 1 and len(received) == 1 and received[0].seq == requested[0].seq + 1


def test_a_scan_that_cannot_be_stored_leaves_no_request_behind(world, db, policy, tmp_path):
    investigator = world.user("police_investigator")
    cam = world.camera("C-1")
    blocked = tmp_path / "documents"
    blocked.write_text("a file where the documents folder should be")
    with pytest.raises(OSError):
        provisions.request_provision(
            db, policy, investigator, _command([cam]), scan=provisions.DocumentScan("성동서-2026-1234", PDF, blocked)
        )
    with db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ProvisionRequest)) == 0
    assert world.audit("provision.requested") == [] and world.audit("provision.document.received") == []
    with pytest.raises(ValidationFailed):  # a scan that is no document is refused before anything is written
        provisions.request_provision(
            db,
            policy,
            investigator,
            _command([cam]),
            scan=provisions.DocumentScan("성동서-2026-1234", b"MZ...", tmp_path / "d2"),
        )
    assert world.audit("provision.requested") == [] and not (tmp_path / "d2").exists()


def test_a_rejected_provision_cannot_be_approved_later(world, db, policy):
    p = _request(world, world.user("police_investigator"), [world.camera("C-1")])
    it = world.user("district_it_officer")
    provisions.decide_provision(db, policy, it, p.id, approve=False, reason="법적 근거 불충분")
    with pytest.raises(Conflict):
        provisions.decide_provision(db, policy, it, p.id, approve=True, reason="재검토")


def test_emergency_access_without_a_document_in_time_shows_as_overdue_and_notifies_once(
    world, db, policy, tmp_path, published
):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    opened = utcnow() - timedelta(hours=25)
    bell = world.incident(camera_id=cam, taken_by=officer)
    p = provisions.open_emergency_access(
        db,
        policy,
        officer,
        provisions.OpenEmergencyAccess(
            camera_ids=(cam,),
            period_start=opened - timedelta(hours=1),
            period_end=opened,
            purpose="crime_prevention",
            legal_ground="urgent_life_body_property",
            reason="납치 의심 차량 추적",
            incident_id=bell,
        ),
        now=opened,
    )
    assert p.status == "emergency_open" and p.document_due_at == opened + timedelta(hours=24)
    alert = published[-1]
    assert isinstance(alert, EmergencyAccessOpened) and alert.provision_id == p.id
    assert set(alert.to_roles) == {"district_it_officer", "district_manager"}
    # Opening emergency access shows no video yet: nothing on the ledger until a viewing is delivered.
    assert world.ledger() == []
    assert world.audit("provision.emergency.opened")[0].clause == "art-11-1"
    # The emergency video itself ended an hour after it opened (access.emergency_minutes).
    with pytest.raises(Forbidden) as ended:
        service.authorize_video(db, policy, officer, cam, "crime_prevention", "playback", provision_id=p.id)
    assert ended.value.clause == "art-11-1" and "ended 60 minutes" in ended.value.message_en

    with db.reading() as s:
        items = provisions.overdue_items(s, policy)
    assert [(i.kind, i.object_id) for i in items] == [("document", p.id)]
    del published[:]
    assert provisions.flag_overdue(db, policy) == 1
    assert len(published) == 1 and isinstance(published[0], DeadlineMissed) and published[0].overdue == "document"
    assert "police_officer" in published[0].to_roles and "district_it_officer" in published[0].to_roles
    assert provisions.flag_overdue(db, policy) == 0 and len(published) == 1  # once
    assert len(world.audit("provision.document.overdue")) == 1

    p = provisions.attach_document(
        db, policy, officer, p.id, document_number="성동서-긴급-7", data=PDF, documents_dir=tmp_path
    )
    assert p.status == "document_received"
    with db.reading() as s:
        assert provisions.overdue_items(s, policy) == []


def test_access_alerts_reach_the_live_feed_of_the_roles_they_name_only(world, db, policy, published):
    from gwanje.situations.events import to_browser
    from gwanje.situations.live import Viewer, may_receive

    opened = utcnow() - timedelta(hours=25)
    cam = world.camera("C-1")
    provisions.open_emergency_access(
        db,
        policy,
        world.user("police_officer"),
        provisions.OpenEmergencyAccess(
            camera_ids=(cam,),
            period_start=opened - timedelta(hours=1),
            period_end=opened,
            purpose="crime_prevention",
            legal_ground="urgent_life_body_property",
            reason="수색",
            incident_id=world.incident(camera_id=cam),
        ),
        now=opened,
    )
    provisions.flag_overdue(db, policy)
    opened_alert, missed = published[-2], published[-1]
    assert isinstance(opened_alert, EmergencyAccessOpened) and isinstance(missed, DeadlineMissed)

    def viewer(role):
        return Viewer(1, role, role, None, "token", "x")

    for event in (opened_alert, missed):
        assert may_receive(policy, viewer("district_it_officer"), event)
        assert not may_receive(policy, viewer("police_investigator"), event)
        body = to_browser(event)
        assert body["kind"] == "alert" and body["message"]["ko"] and body["message"]["en"]
    assert may_receive(policy, viewer("police_officer"), missed)  # the requester hears of their own deadline


def test_usage_results_not_entered_in_time_show_as_overdue(world, db, policy, published):
    p = _request(world, world.user("police_investigator"), [world.camera("C-1")])
    with db.uow() as uow:  # a request approved and exported 31 days ago
        row = uow.session.get(ProvisionRequest, p.id)
        row.status, row.document_sha256 = "approved", "0" * 64
        uow.commit()
    provisions.mark_exported(
        db, policy, Actor.system("evidence"), p.id, export_ref="EXP-9", now=utcnow() - timedelta(days=31)
    )
    with db.reading() as s:
        items = provisions.overdue_items(s, policy)
    assert [(i.kind, i.clause) for i in items] == [("usage_result", "art-11-2")]
    del published[:]
    assert provisions.flag_overdue(db, policy) == 1
    assert published[0].overdue == "usage_result" and "police_investigator" in published[0].to_roles


# ---- subject requests ---------------------------------------------------------------------------


def _subject(world, handler, cam, received_at=None):
    return subjects.take_subject_request(
        world.db,
        world.policy,
        handler,
        subjects.TakeSubjectRequest(
            requester_name="홍길동",
            identity_method="resident_card",
            camera_ids=(cam,),
            period_start=T0,
            period_end=T0 + timedelta(minutes=30),
            requester_contact="010-0000-0000",
            received_at=received_at,
        ),
    )


@pytest.mark.parametrize("reason", ["no_police_present", "others_in_frame"])
def test_invalid_refusals_of_a_subject_request_are_refused(world, db, policy, reason):
    handler = world.user("district_it_officer")
    s = _subject(world, handler, world.camera("C-1"))
    with pytest.raises(ValidationFailed) as err:
        subjects.decide_subject_request(db, policy, handler, s.id, outcome="refused", reason=reason)
    assert err.value.status == 422 and err.value.field == "reason"
    with db.reading() as session:
        assert subjects.get_subject_request(session, s.id).status == "received"


def test_a_subject_request_is_due_in_ten_days_and_provided_with_others_masked(world, db, policy, published):
    handler = world.user("district_it_officer")
    cam = world.camera("C-1")
    late = _subject(world, handler, cam, received_at=utcnow() - timedelta(days=11))
    on_time = _subject(world, handler, cam)
    assert on_time.due_at == on_time.received_at + timedelta(days=10)
    with db.reading() as s:
        assert [(i.kind, i.object_id) for i in provisions.overdue_items(s, policy)] == [("subject_request", late.id)]
    assert provisions.flag_overdue(db, policy) == 1 and provisions.flag_overdue(db, policy) == 0
    missed = published[-1]
    assert isinstance(missed, DeadlineMissed) and (missed.overdue, missed.object_id) == ("subject_request", late.id)
    assert "district_it_officer" in missed.to_roles and "police_officer" not in missed.to_roles
    s = subjects.decide_subject_request(db, policy, handler, late.id, outcome="delayed", reason="masking_in_progress")
    s = subjects.decide_subject_request(db, policy, handler, late.id, outcome="provided", method="copy")
    assert s.status == "provided" and s.mask_others
    row = world.ledger("viewing")[0]
    assert row.reference_type == "subject_request" and "마스킹" in row.items and row.method == "copy"
    s = subjects.decide_subject_request(
        db, policy, handler, on_time.id, outcome="refused", reason="ongoing_investigation_trial", note="수사 중"
    )
    assert s.outcome_reason == "ongoing_investigation_trial"
    # The requester's name stays off the audit chain.
    assert all("홍길동" not in (e.after or "") for e in world.audit("subject_request.received"))


# ---- retention and the ledger -------------------------------------------------------------------


def test_held_recordings_are_not_due_and_destruction_is_recorded(world, db, policy):
    cam = world.camera("C-1")
    it = world.user("district_it_officer")
    hold = retention.place_hold(
        db,
        policy,
        it,
        object_type="recording",
        object_id="rec-1",
        legal_basis="수사기관 보존 요청",
        request_number="성동서-2026-1234",
    )
    created = utcnow() - timedelta(days=40)
    with db.reading() as s:
        holds = retention.active_holds(s, "recording", ["rec-1", "rec-2"])
    assert not due_for_destruction(created, 30, holds.get("rec-1", []), utcnow())
    assert due_for_destruction(created, 30, holds.get("rec-2", []), utcnow())
    retention.release_hold(db, policy, it, hold.id, reason="수사 종결")
    with db.reading() as s:
        assert retention.active_holds(s, "recording", ["rec-1"]) == {}

    row = retention.record_destruction(
        db,
        policy,
        Actor.system("system:retention"),
        object_type="recording",
        object_id="rec-2",
        camera_ids=[cam],
        period_start=created,
        period_end=created + timedelta(hours=1),
        created_at=created,
        retention_days=30,
    )
    assert row.kind == "destruction" and row.method == "auto_delete"
    assert row.retention_until == created + timedelta(days=30)
    assert world.audit("retention.destroyed")[0].clause == "policy-retention"


def test_the_ledger_refuses_update_and_delete_and_corrections_are_new_rows(world, db, policy):
    cam = world.camera("C-1")
    agent = world.user("monitoring_agent")
    service.record_delivery(db, policy, service.authorize_video(db, policy, agent, cam, "crime_prevention", "snapshot"))
    original = world.ledger()[0]
    for statement in ("UPDATE ledger_entries SET items = 'x'", "DELETE FROM ledger_entries"):
        with pytest.raises(sa.exc.DBAPIError) as err, db.engine.begin() as conn:
            conn.execute(sa.text(statement))
        assert "append-only" in str(err.value)
    manager = world.user("district_manager")
    fixed = ledger.correct_ledger(db, policy, manager, original.id, {"purpose": "disaster"}, "목적 오기")
    assert fixed.corrects_id == original.id and fixed.purpose == "disaster" and fixed.items == original.items
    rows = world.ledger()
    assert [r.purpose for r in rows] == ["crime_prevention", "disaster"]
    with pytest.raises(ValidationFailed):
        ledger.correct_ledger(db, policy, manager, original.id, {"handler_name": "someone"}, "x")


def test_ledgers_print_as_xlsx_and_as_pdf_with_korean_text(world, db, policy, tmp_path):
    from openpyxl import load_workbook

    cam = world.camera("C-1")
    agent = world.user("monitoring_agent")
    service.record_delivery(db, policy, service.authorize_video(db, policy, agent, cam, "crime_prevention", "live"))
    retention.record_destruction(
        db,
        policy,
        Actor.system("system:retention"),
        object_type="recording",
        object_id="rec-1",
        camera_ids=[cam],
        period_start=T0,
        period_end=T0,
        created_at=T0,
        retention_days=30,
    )
    entries = world.ledger()
    wb = load_workbook(io.BytesIO(report.to_xlsx(policy, entries)))
    ws = wb.active
    assert ws["A1"].value == "개인영상정보 관리대장"
    assert [c.value for c in ws[3]][:3] == ["번호", "구분", "일시"]
    assert {ws.cell(row=4, column=2).value, ws.cell(row=5, column=2).value} == {"이용", "파기"}

    pdf = report.to_pdf(policy, entries)
    assert pdf.startswith(b"%PDF") and b"NanumGothic" in pdf
    (tmp_path / "ledger.pdf").write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "ledger.pdf"), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "개인영상정보 관리대장" in text and "파기" in text and "실시간 열람" in text


def test_the_pdf_refuses_to_print_without_the_korean_font(policy, tmp_path):
    with pytest.raises(report.FontMissing) as err:
        report.to_pdf(policy, [], font=tmp_path / "missing.ttf")
    assert "fonts-nanum" in err.value.message_en
