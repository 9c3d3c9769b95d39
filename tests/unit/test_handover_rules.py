"""Pure duty-log and handover rules (issue 10 §2): the handover's state machine table, the refusal
of a signed log, and the canonical content hash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gwanje.center.handover import rules
from gwanje.core.errors import Conflict, ValidationFailed
from gwanje.policy import decisions
from gwanje.policy.loader import load_default

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
LOG = {"id": 1, "organisation": "district", "team": "A", "period_start": T0, "members": ["a", "b"]}
ENTRIES = [{"id": 1, "at": T0, "text": "순찰"}, {"id": 2, "at": T0 + timedelta(minutes=5), "text": "확인"}]
ITEMS = [{"position": 1, "kind": "incident", "ref": "incident:3", "title": "비상벨", "due_at": None}]


def test_handover_state_machine_table():
    """Issue 10 §2: draft → offered → acknowledged, or withdrawn back to draft before acknowledgement."""
    assert rules.next_status("draft", "offer") == "offered"
    assert rules.next_status("offered", "withdraw") == "draft"
    assert rules.next_status("offered", "acknowledge") == "acknowledged"
    for status, action in (("draft", "acknowledge"), ("acknowledged", "withdraw"), ("acknowledged", "offer")):
        with pytest.raises(Conflict):
            rules.next_status(status, action)


def test_a_signed_log_refuses_changes():
    """Issue 10 §2: after signing nothing is added, changed or removed (409)."""
    rules.refuse_if_signed("open")
    with pytest.raises(Conflict):
        rules.refuse_if_signed("signed")


def test_canonical_hash_is_stable_and_sensitive():
    """Issue 10 §2: SHA-256 over a canonical JSON — key order and time zone do not change it; any
    content change does."""
    digest = rules.content_hash(LOG, ENTRIES, ITEMS)
    assert len(digest) == 64
    reordered = dict(reversed(list(LOG.items())))
    kst = {**LOG, "period_start": T0.astimezone(timezone(timedelta(hours=9)))}
    assert rules.content_hash(reordered, ENTRIES, ITEMS) == digest
    assert rules.content_hash(kst, ENTRIES, ITEMS) == digest
    assert rules.content_hash(LOG, [ENTRIES[0], {**ENTRIES[1], "text": "고침"}], ITEMS) != digest
    assert rules.content_hash(LOG, ENTRIES, []) != digest
    assert rules.content_hash(LOG, list(reversed(ENTRIES)), ITEMS) != digest


def test_shift_and_text_checks():
    with pytest.raises(ValidationFailed):
        rules.check_shift(T0, T0)
    with pytest.raises(ValidationFailed):
        rules.check_shift(T0, T0 + timedelta(hours=25))
    with pytest.raises(ValidationFailed):
        rules.check_text("  ")
    assert rules.check_text(" 메모 ") == "메모"


def test_who_leads_a_shift_is_the_policys():
    """annex-2 as Seongdong's policy writes it (handover.leaders): the district's manager and agents,
    the police officer; the auditor reads every organisation's logs."""
    policy = load_default()
    assert decisions.may_lead_shift(policy, "monitoring_agent", "district")
    assert not decisions.may_lead_shift(policy, "monitoring_agent", "police")
    assert decisions.may_lead_shift(policy, "police_officer", "police")
    assert not decisions.may_lead_shift(policy, "police_112", "police")
    assert decisions.reads_all_duty_logs(policy, "auditor")
    assert not decisions.reads_all_duty_logs(policy, "police_officer")
