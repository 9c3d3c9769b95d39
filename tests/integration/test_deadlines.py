"""Deadlines with consequences (issue 9 §2), on both engines, with the clock moved by
:func:`gwanje.core.clock.shifted`: an emergency access whose official document is overdue past the
policy's grace grants no more video (Art. 11 ①); a missing document, an overdue usage result (Art.
11 ②) and a subject request near its 10-day limit (PIPA 35) alert the roles that must act, until
resolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gwanje.access import service
from gwanje.access.provisions import service as provisions
from gwanje.access.subjects import service as subjects
from gwanje.core.audit import Actor
from gwanje.core.clock import shifted, utcnow
from gwanje.core.errors import Forbidden
from tests.integration.test_access import PDF, T0, World

GRACE_HOURS = 6


@pytest.fixture
def policy(policy):
    """Seongdong's policy with a grace period, and an emergency video that outlasts the document's
    deadline (Seongdong's own ends after 60 minutes, long before the 24 hours), so that the
    document's consequence is what decides."""
    return replace(policy, access=replace(policy.access, emergency_minutes=4 * 24 * 60, document_grace_hours=6))


@pytest.fixture
def world(db, policy):
    return World(db, policy)


def _emergency(db, policy, officer, cam, incident_id):
    start = utcnow() - timedelta(hours=1)
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
    )


def _view(db, policy, user, cam, action, pid):
    return service.authorize_video(db, policy, user, cam, "crime_prevention", action, provision_id=pid)


def _alerts(db, policy, user):
    with db.reading() as s:
        return [(a.kind, a.object_id, a.overdue) for a in provisions.deadline_alerts(s, policy, user)]


@pytest.mark.parametrize("action", ["live", "snapshot", "playback"])
def test_an_emergency_without_its_document_past_the_grace_grants_no_more_video(world, db, policy, action):
    cam = world.camera("C-1")
    officer = world.user("police_112")
    p = _emergency(db, policy, officer, cam, world.incident(camera_id=cam))
    due = policy.access.document_due_hours
    with shifted(timedelta(hours=due, minutes=30)):  # overdue, within the grace: still allowed
        assert _view(db, policy, officer, cam, action, p.id).clause == "art-11-1"
    with shifted(timedelta(hours=due + GRACE_HOURS, minutes=-1)):
        assert _view(db, policy, officer, cam, action, p.id)
    with shifted(timedelta(hours=due + GRACE_HOURS, minutes=1)), pytest.raises(Forbidden) as err:
        _view(db, policy, officer, cam, action, p.id)
    assert err.value.status == 403 and err.value.clause == "art-11-1"
    assert "art-11-1" in err.value.message_ko and "공문" in err.value.message_ko
    assert "art-11-1" in err.value.message_en and "document" in err.value.message_en
    denied = world.audit("video.access.denied")
    assert len(denied) == 1 and denied[0].clause == "art-11-1" and denied[0].actor_id == officer.id


def test_a_filed_document_lifts_the_refusal_and_a_stream_already_open_stops(world, db, policy, tmp_path):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    p = _emergency(db, policy, officer, cam, world.incident(camera_id=cam))
    grant = _view(db, policy, officer, cam, "live", p.id)
    late = timedelta(hours=policy.access.document_due_hours + GRACE_HOURS + 1)
    with shifted(late):
        assert not service.grant_still_valid(db, policy, grant)  # the live stream's re-check ends it
        provisions.attach_document(
            db, policy, officer, p.id, document_number="성동서-긴급-1", data=PDF, documents_dir=tmp_path
        )
        assert service.grant_still_valid(db, policy, grant)
        assert _view(db, policy, officer, cam, "playback", p.id)


def test_a_new_emergency_for_the_same_incident_does_not_side_step_the_overdue_one(world, db, policy):
    cam = world.camera("C-1")
    officer, colleague = world.user("police_officer"), world.user("police_112")
    bell = world.incident(camera_id=cam)
    p = _emergency(db, policy, officer, cam, bell)
    with shifted(timedelta(hours=policy.access.document_due_hours + GRACE_HOURS + 1)):
        with pytest.raises(Forbidden) as err:
            _emergency(db, policy, colleague, cam, bell)  # same organisation, same incident
        assert err.value.clause == "art-11-1" and f"emergency access {p.id}" in err.value.message_en
        assert len(world.audit("provision.emergency.denied")) == 1
        other = world.incident(camera_id=cam)  # another emergency is not held back by this one
        assert _emergency(db, policy, colleague, cam, other).status == "emergency_open"


def test_seongdongs_grace_is_zero_so_access_stops_right_after_the_deadline(world, db, policy):
    strict = replace(policy, access=replace(policy.access, document_grace_hours=0))
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    p = _emergency(db, strict, officer, cam, world.incident(camera_id=cam))
    with shifted(timedelta(hours=strict.access.document_due_hours, minutes=-1)):
        assert _view(db, strict, officer, cam, "live", p.id)
    with shifted(timedelta(hours=strict.access.document_due_hours, minutes=1)), pytest.raises(Forbidden):
        _view(db, strict, officer, cam, "live", p.id)


def test_an_overdue_document_alerts_the_roles_that_must_act_until_it_is_filed(world, db, policy, tmp_path):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    p = _emergency(db, policy, officer, cam, world.incident(camera_id=cam))
    act = [world.user("police_officer"), world.user("police_112")]  # access.deadline_alerts.document
    others = [world.user(r) for r in ("district_it_officer", "monitoring_agent", "auditor", "police_investigator")]
    for user in (officer, *act, *others):
        assert _alerts(db, policy, user) == []  # not due yet
    with shifted(timedelta(hours=policy.access.document_due_hours, minutes=5)):
        for user in (officer, *act):
            assert _alerts(db, policy, user) == [("document", p.id, True)]
        for user in others:
            assert _alerts(db, policy, user) == []
        with db.reading() as s:
            alert = provisions.deadline_alerts(s, policy, officer)[0]
        assert alert.blocks_at == p.document_due_at + timedelta(hours=GRACE_HOURS)
        assert "열람 차단" in alert.label_ko and alert.href == f"/access/emergency#p{p.id}"
        provisions.attach_document(
            db, policy, officer, p.id, document_number="성동서-긴급-2", data=PDF, documents_dir=tmp_path
        )
        assert _alerts(db, policy, officer) == []


def test_another_organisations_overdue_document_stays_off_a_roles_alerts(world, db, policy):
    """A role that must act sees only its own organisation's deadlines (the operator's: all)."""
    everyone = replace(
        policy,
        access=replace(policy.access, deadline_alerts=(("document", ("police_officer", "district_it_officer")),)),
    )
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    p = _emergency(db, everyone, officer, cam, world.incident(camera_id=cam))
    with shifted(timedelta(hours=everyone.access.document_due_hours + 1)):
        assert _alerts(db, everyone, world.user("district_it_officer")) == [("document", p.id, True)]
        with db.uow() as uow:  # the same request as if another police organisation had made it
            uow.session.get(provisions.ProvisionRequest, p.id).organisation = "district"
            uow.commit()
        assert _alerts(db, everyone, officer) == []
        assert _alerts(db, everyone, world.user("police_112")) == []  # not named for this policy


def test_an_overdue_usage_result_alerts_until_it_is_entered(world, db, policy, tmp_path):
    cam = world.camera("C-1")
    officer = world.user("police_officer")
    p = _emergency(db, policy, officer, cam, world.incident(camera_id=cam))
    provisions.attach_document(
        db, policy, officer, p.id, document_number="성동서-긴급-3", data=PDF, documents_dir=tmp_path
    )
    provisions.mark_exported(db, policy, Actor.system("evidence"), p.id, export_ref="EXP-1")
    investigator, it = world.user("police_investigator"), world.user("district_it_officer")
    with shifted(timedelta(days=policy.access.usage_result_due_days, hours=1)):
        for user in (officer, investigator):
            assert _alerts(db, policy, user) == [("usage_result", p.id, True)]
        assert _alerts(db, policy, it) == [] and _alerts(db, policy, world.user("auditor")) == []
        provisions.enter_usage_result(db, policy, officer, p.id, used_for="피의자 특정", outcome="arrest")
        assert _alerts(db, policy, officer) == [] and _alerts(db, policy, investigator) == []


@pytest.mark.parametrize(
    ("age_days", "alerted", "overdue"), [(7, False, False), (8, True, False), (9.5, True, False), (10.5, True, True)]
)
def test_a_subject_request_alerts_its_handlers_from_day_eight(world, db, policy, age_days, alerted, overdue):
    handler = world.user("district_it_officer")
    s = subjects.take_subject_request(
        db,
        policy,
        handler,
        subjects.TakeSubjectRequest(
            requester_name="홍길동",
            identity_method="resident_card",
            camera_ids=(world.camera("C-1"),),
            period_start=T0,
            period_end=T0 + timedelta(minutes=30),
        ),
    )
    expected = [("subject_request", s.id, overdue)] if alerted else []
    with shifted(timedelta(days=age_days)):
        assert _alerts(db, policy, handler) == expected
        assert _alerts(db, policy, world.user("district_manager")) == expected
        for role in ("police_officer", "monitoring_agent", "auditor"):
            assert _alerts(db, policy, world.user(role)) == []
        with db.reading() as session:
            labels = [
                a.label_ko + a.label_en + a.responsible for a in provisions.deadline_alerts(session, policy, handler)
            ]
        assert all("홍길동" not in text for text in labels)  # the data subject's name stays off the board
        subjects.decide_subject_request(db, policy, handler, s.id, outcome="delayed", reason="masking_in_progress")
        assert _alerts(db, policy, handler) == []
