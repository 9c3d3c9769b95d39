"""Issue 9 §5: incident titles and timeline actors are built from labels in the reader's language
(the stored row keeps the device's codes); the board carries the routing clause and asks before an
irreversible action."""

from __future__ import annotations

import json
import re

import pytest

from gwanje.registry.seed import seed_seongdong
from tests.integration.test_situations import CAMERA, PAYLOADS, _incident, _msg, _post


@pytest.fixture
def board(harness):
    seed_seongdong(harness.db, harness.policy)
    return harness


def test_an_analytics_title_is_in_korean_and_english_without_raw_codes(board):
    payload = {**PAYLOADS["video_analytics"], "rule": "fight", "object_class": "person"}
    inc = _incident(board, _post(board, _msg("va-fight", "video_analytics", payload))["incident_id"])
    assert inc["title"] == f"지능형 이벤트 fight/person @ {CAMERA}"  # the stored row keeps the codes
    assert inc["title_label"] == {
        "ko": f"지능형 이벤트: 싸움 (사람) @ {CAMERA}",
        "en": f"Video analytics: fight (person) @ {CAMERA}",
    }


def test_a_fault_title_names_the_fault_and_an_unknown_rule_shows_its_code(board):
    fault = {**PAYLOADS["camera_fault"], "fault": "tamper"}
    inc = _incident(board, _post(board, _msg("f-tamper", "camera_fault", fault))["incident_id"])
    assert inc["title_label"]["ko"] == f"카메라 고장: 훼손·가림 @ {CAMERA}"
    assert inc["title_label"]["en"] == f"Camera fault: tampering @ {CAMERA}"
    assert "tamper" not in inc["title_label"]["ko"]
    report = _incident(board, _post(board, _msg("m-1", "manual_report", PAYLOADS["manual_report"]))["incident_id"])
    assert report["title_label"] == {"ko": "행당동 주취자 신고", "en": "행당동 주취자 신고"}  # the reporter's words


def test_the_timeline_names_a_device_actor_in_the_readers_language(board):
    inc = _incident(board, _post(board, _msg("bell-t", "emergency_bell", PAYLOADS["emergency_bell"]))["incident_id"])
    created = inc["timeline"][0]
    assert created["actor_name"].startswith("device:http:")
    who = created["actor_name"].rsplit(":", 1)[1]
    assert created["actor_label"] == {"ko": f"장치 {who} (HTTP)", "en": f"Device {who} (HTTP)"}


def test_the_board_config_carries_the_clause_texts_and_the_confirmation_questions(board):
    from gwanje.accounts import service as accounts
    from gwanje.core.audit import Actor
    from tests.conftest import PASSWORD

    with board.db.uow() as uow:
        accounts.add_user(
            uow,
            Actor.system("test"),
            board.policy,
            accounts.NewUser(username="agent_t", display_name="agent_t", role="monitoring_agent", password=PASSWORD),
        )
        uow.commit()
    page = board.client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    board.client.post("/login", data={"username": "agent_t", "password": PASSWORD, "login_csrf": token})
    for lang, word in (("ko", "되돌릴 수 없습니다"), ("en", "cannot be undone")):
        html = board.client.get(f"/board?lang={lang}", headers={"accept": "text/html"}).text
        raw = re.search(r'<script type="application/json" id="board-config">(.*?)</script>', html, re.S)
        config = json.loads(raw.group(1))
        assert set(config["confirm"]) == {"false_alarm", "cancel", "close"}
        assert all(word in q for q in config["confirm"].values())
        clause = board.policy.clause("annex-2")
        assert (clause.ko if lang == "ko" else clause.en) in config["clauses"]["annex-2"]
        assert not config["clauses"]["annex-2"].startswith("annex-2")
