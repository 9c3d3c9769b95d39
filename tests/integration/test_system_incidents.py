"""Situations the system raises itself, one open incident per condition, on both engines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from gwanje.situations import service
from gwanje.situations.events import IncidentClosed, IncidentRaised
from gwanje.situations.models import Incident, IncidentEvent
from gwanje.situations.titles import incident_title

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
TITLES = {"ko": "조건 발생", "en": "Condition noticed"}


def _raise(h, key, at):
    with h.db.uow() as uow:
        incident, new = service.raise_system_incident(
            uow, h.policy, "message_loss", key, titles=TITLES, facts={"n": 1}, now=at
        )
        uow.commit()
    return incident.id, new, uow


def test_one_open_incident_per_key_until_the_system_closes_it(harness):
    first, new, uow = _raise(harness, "rule-a", T0)
    assert new and [e for e in uow.published if isinstance(e, IncidentRaised)]
    again, new_again, _ = _raise(harness, "rule-a", T0 + timedelta(minutes=1))
    assert (again, new_again) == (first, False)
    other, other_new, _ = _raise(harness, "rule-b", T0)
    assert other != first and other_new

    with harness.db.uow() as uow:
        closed = service.close_system_incident(
            uow, harness.policy, "message_loss", "rule-a", note=("해소", "covered"), now=T0 + timedelta(minutes=2)
        )
        uow.commit()
    assert closed is not None and closed.id == first
    assert [e for e in uow.published if isinstance(e, IncidentClosed)]
    with harness.db.uow() as uow:
        assert (
            service.close_system_incident(
                uow, harness.policy, "message_loss", "rule-a", note=("해소", "covered"), now=T0 + timedelta(minutes=3)
            )
            is None
        )
    third, third_new, _ = _raise(harness, "rule-a", T0 + timedelta(minutes=4))
    assert third_new and third not in (first, other)

    with harness.db.reading() as s:
        row = s.get(Incident, first)
        assert row.status == "closed" and row.closed_at is not None
        actions = list(
            s.scalars(
                sa.select(IncidentEvent.action).where(IncidentEvent.incident_id == first).order_by(IncidentEvent.id)
            )
        )
        assert actions == ["created", "system_noticed", "system_closed"]
        assert incident_title(row.title, json.loads(row.details), "en") == "Condition noticed"
        assert incident_title(row.title, json.loads(row.details), "ko") == "조건 발생"
