"""Access rules without I/O: the police incident test (Art. 9 ⑤, decided by the policy), state machines,
lawful codes, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from gwanje.access import rules
from gwanje.access.choices import LegalGround
from gwanje.access.provisions import rules as provision_rules
from gwanje.access.retention.rules import due_for_destruction
from gwanje.access.service import incident_facts
from gwanje.access.subjects import rules as subject_rules
from gwanje.core.errors import Conflict, TooLarge, ValidationFailed
from gwanje.policy import decisions
from gwanje.situations.models import Incident

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
OFFICER = 41  # the officer who has taken the incident


def _incident(status="acknowledged", responsible="police", responding="police", camera_id=1):
    return incident_facts(
        Incident(
            id=7,
            status=status,
            responsible_org=responsible,
            responding_org=responding,
            responding_roles="police_112,police_officer",
            camera_id=camera_id,
            taken_by_id=OFFICER,
        )
    )


def _covers(policy, incident, camera_id, attached):
    d = decisions.incident_grants_view(policy, "police_officer", incident, camera_id, attached, user_id=OFFICER)
    return d.allowed, d.reason_ko, d.reason_en


def test_police_without_an_incident_are_refused_with_a_reason(policy):
    ok, ko, en = _covers(policy, None, 1, set())
    assert not ok and "incident" in en and ko


def test_police_may_open_the_incidents_own_camera_and_attached_cameras(policy):
    assert _covers(policy, _incident(camera_id=1), 1, set())[0]
    assert _covers(policy, _incident(camera_id=None), 5, {5})[0]


def test_police_may_not_open_a_camera_not_attached_to_the_incident(policy):
    ok, _, en = _covers(policy, _incident(camera_id=1), 2, {3})
    assert not ok and "not attached" in en


@pytest.mark.parametrize("status", ["resolved", "closed", "false_alarm", "cancelled"])
def test_access_ends_when_the_incident_is_no_longer_open(policy, status):
    ok, _, en = _covers(policy, _incident(status=status), 1, set())
    assert not ok and "no longer open" in en


def test_an_incident_the_district_handles_gives_the_police_nothing(policy):
    ok, _, en = _covers(policy, _incident(responsible="district", responding="district"), 1, set())
    assert not ok and "not routed to the police" in en


def test_provision_state_machine_allows_only_declared_moves():
    assert provision_rules.provision_next("requested", "approve") == "approved"
    assert provision_rules.provision_next("approved", "export") == "exported"
    assert provision_rules.provision_next("exported", "enter_result") == "usage_result_entered"
    assert provision_rules.provision_next("emergency_open", "receive_document") == "document_received"
    with pytest.raises(Conflict) as err:
        provision_rules.provision_next("rejected", "approve")
    assert err.value.details["allowed"] == []
    with pytest.raises(Conflict):
        provision_rules.provision_next("requested", "enter_result")


def test_subject_request_state_machine():
    assert subject_rules.subject_next("received", "delay") == "delayed"
    assert subject_rules.subject_next("delayed", "provide") == "provided"
    with pytest.raises(Conflict):
        subject_rules.subject_next("refused", "provide")


@pytest.mark.parametrize("code", ["no_police_present", "others_in_frame"])
def test_refusals_the_law_does_not_allow_are_refused_with_a_pointed_message(code):
    with pytest.raises(ValidationFailed) as err:
        subject_rules.check_refusal_reason(code)
    assert err.value.status == 422 and err.value.clause == "pipa-35"
    assert "not a ground" in err.value.message_en


def test_lawful_refusal_grounds_are_accepted_and_unknown_ones_refused():
    for code in ("law_forbids", "harm_life_body", "harm_property_interests", "ongoing_investigation_trial"):
        assert subject_rules.check_refusal_reason(code) == code
    with pytest.raises(ValidationFailed):
        subject_rules.check_refusal_reason("too_busy")


def test_legal_grounds_are_pipa_18_2_items_without_the_deleted_item_4():
    assert "crime_investigation" in LegalGround
    assert all("제18조제2항" in c.ko for c in LegalGround)
    assert not any("제4호" in c.ko for c in LegalGround)


def test_subject_requests_are_due_in_ten_days():
    assert subject_rules.subject_due_at(T0) == T0 + timedelta(days=10)


def test_period_must_be_forward_and_bounded():
    rules.check_period(T0, T0 + timedelta(hours=1))
    with pytest.raises(ValidationFailed):
        rules.check_period(T0, T0)
    with pytest.raises(ValidationFailed):
        rules.check_period(T0, T0 + timedelta(days=40))


def test_document_scans_are_recognised_by_content_not_by_name():
    assert provision_rules.sniff_document(b"%PDF-1.7\n...") == "application/pdf"
    assert provision_rules.sniff_document(b"\xff\xd8\xff\xe0JFIF") == "image/jpeg"
    assert provision_rules.sniff_document(b"\x89PNG\r\n\x1a\n....") == "image/png"
    with pytest.raises(ValidationFailed):
        provision_rules.sniff_document(b"MZ\x90\x00 not a scan")
    with pytest.raises(ValidationFailed):
        provision_rules.sniff_document(b"")
    with pytest.raises(TooLarge):
        provision_rules.sniff_document(b"%PDF-" + b"0" * provision_rules.MAX_DOCUMENT_BYTES)


@dataclass
class Hold:
    released_at: datetime | None = None


def test_recordings_within_retention_are_kept():
    d = due_for_destruction(T0, 30, [], T0 + timedelta(days=30))
    assert not d and d.expires_at == T0 + timedelta(days=30)


def test_recordings_past_retention_are_due():
    d = due_for_destruction(T0, 30, [], T0 + timedelta(days=30, seconds=1))
    assert d and "30" in d.reason_en


def test_a_hold_keeps_a_recording_past_retention_until_released():
    held = Hold()
    d = due_for_destruction(T0, 30, [held], T0 + timedelta(days=60))
    assert not d and d.held_by == (held,)
    assert due_for_destruction(T0, 30, [Hold(released_at=T0)], T0 + timedelta(days=60))


def test_retention_refuses_naive_times_and_nonsense_periods():
    with pytest.raises(ValueError):
        due_for_destruction(datetime(2026, 1, 1), 30, [], T0)
    with pytest.raises(ValueError):
        due_for_destruction(T0, 0, [], T0)
