"""Presence on both engines: check-in/out, the training gate, staffing gaps raising one incident."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from gwanje.center.presence import service
from gwanje.center.presence.models import Pledge, Presence, Training
from gwanje.core.audit import Actor, AuditEntry
from gwanje.core.errors import Conflict, Forbidden
from gwanje.situations.models import Incident

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
ACTOR = Actor.system("test")
_TRAINERS = 0


def _in(h, user, at):
    with h.db.uow() as uow:
        service.check_in(uow, h.policy, user.id, at, "console", ACTOR)
        uow.commit()


def _out(h, user, at):
    with h.db.uow() as uow:
        service.check_out(uow, h.policy, user.id, at, "console", ACTOR)
        uow.commit()


def _evaluate(h, at):
    with h.db.uow() as uow:
        states = service.evaluate_staffing(uow, h.policy, at)
        uow.commit()
    return {s.rule.code: s for s in states}


def _gap_incidents(h):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(Incident).where(Incident.type == "staffing_gap").order_by(Incident.id)))


def _train(h, user, courses, completed=date(2026, 6, 1), pledge=True):
    global _TRAINERS
    _TRAINERS += 1
    boss = h.user(f"trainer{_TRAINERS}", "district_manager")
    for c in courses:
        service.record_training(h.db, h.policy, boss, user.id, c, completed, "교육 수료증")
    if pledge:
        service.record_pledge(h.db, h.policy, boss, user.id, date(2026, 6, 1), "관리책임자")


def test_police_gap_past_grace_raises_one_incident_and_closes_on_check_in(harness):
    """art-9-2: an officer stationed 24 hours; a gap past the grace raises staffing_gap once."""
    officer = harness.user("officer", "police_officer")
    _in(harness, officer, T0)
    _out(harness, officer, T0 + timedelta(hours=1))
    gap = T0 + timedelta(hours=1)
    state = _evaluate(harness, gap + timedelta(minutes=5))["police_on_duty"]
    assert not state.holds and state.since == gap and not state.overdue
    assert _gap_incidents(harness) == []
    _evaluate(harness, gap + timedelta(minutes=11))
    _evaluate(harness, gap + timedelta(minutes=12))
    incidents = _gap_incidents(harness)
    assert len(incidents) == 1 and incidents[0].status != "closed"
    _in(harness, officer, gap + timedelta(minutes=20))
    incidents = _gap_incidents(harness)
    assert len(incidents) == 1 and incidents[0].status == "closed"


def test_double_check_in_and_check_out_of_someone_not_in_are_refused(harness):
    """art-9-2: one open presence per person."""
    officer = harness.user("officer", "police_officer")
    with pytest.raises(Conflict):
        _out(harness, officer, T0)
    _in(harness, officer, T0)
    with pytest.raises(Conflict):
        _in(harness, officer, T0 + timedelta(minutes=1))
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Presence)) == 1


def test_the_open_presence_is_unique_in_the_database(harness):
    officer = harness.user("officer", "police_officer")
    _in(harness, officer, T0)
    with pytest.raises(sa.exc.IntegrityError), harness.db.uow() as uow:
        row = {"name": "x", "organisation": "police", "role": "police_officer", "room": "r", "via": "console"}
        uow.session.add(Presence(account_id=officer.id, in_at=T0, recorded_by="t", **row))
        uow.session.flush()


def test_an_agent_with_a_lapsed_course_cannot_check_in(harness):
    """art-9-4: training lapsed → refused, naming the course."""
    agent = harness.user("agent", "monitoring_agent")
    _train(harness, agent, ["security", "privacy"], completed=date(2026, 6, 1))
    _train(harness, agent, ["operating_system"], completed=date(2024, 6, 1), pledge=False)
    with pytest.raises(Forbidden) as exc:
        _in(harness, agent, T0)
    assert "운영시스템 교육" in exc.value.message_ko


def test_a_missing_pledge_refuses_and_a_full_file_admits(harness):
    """art-9-4: the security pledge is on file before first duty."""
    agent = harness.user("agent", "monitoring_agent")
    _train(harness, agent, ["security", "privacy", "operating_system"], pledge=False)
    with pytest.raises(Forbidden) as exc:
        _in(harness, agent, T0)
    assert "pledge" in exc.value.message_en
    boss = harness.user("boss2", "district_manager")
    service.record_pledge(harness.db, harness.policy, boss, agent.id, date(2026, 6, 1), "관리책임자")
    _in(harness, agent, T0)
    assert service.is_present(harness.db, agent.id)


def test_every_change_is_audited(harness):
    agent = harness.user("agent", "monitoring_agent")
    _train(harness, agent, ["security", "privacy", "operating_system"])
    _in(harness, agent, T0)
    _out(harness, agent, T0 + timedelta(hours=1))
    with harness.db.reading() as s:
        actions = list(s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)))
        assert s.scalar(sa.select(sa.func.count()).select_from(Training)) == 3
        assert s.scalar(sa.select(sa.func.count()).select_from(Pledge)) == 1
    for action in ("training.recorded", "pledge.recorded", "presence.checked_in", "presence.checked_out"):
        assert action in actions


def test_the_demo_has_its_officer_and_agent_on_duty_from_the_first_minute(harness):
    """art-9-2 and art-9-4 hold in the demo: its officer and agent are trained and checked in."""
    from gwanje.accounts.demo import create_demo_accounts

    accounts = create_demo_accounts(harness.db, harness.policy)
    names = service.seed_demo_presence(harness.db, harness.policy, [a.username for a in accounts])
    assert names
    duty = service.on_duty(harness.db, harness.policy)
    assert {p.role for p in duty.present} >= {"police_officer", "monitoring_agent"}
    assert all(v.state.holds for v in duty.rules)
    assert service.seed_demo_presence(harness.db, harness.policy, [a.username for a in accounts]) == []
