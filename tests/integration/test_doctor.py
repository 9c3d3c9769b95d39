"""``gwanje doctor`` (issue 8, finding 4): the broker, the persistent session and the queue settings,
OK/WARN/FAIL in Korean and English, exit 1 on problems; and the documented settings are one thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gwanje.cli import main
from gwanje.situations import doctor
from gwanje.situations.mqtt import DOCUMENTED_BROKER_SETTINGS, private_broker_conf
from tests.integration.mqtt_support import OwnBroker, free_port

ROOT = Path(__file__).resolve().parents[2]


def _doc_conf() -> dict[str, str]:
    text = (ROOT / "docs" / "mqtt.md").read_text("utf-8")
    block = re.search(r"```conf\n(.*?)```", text, flags=re.S).group(1)
    settings = {}
    for line in block.splitlines():
        key, _, value = line.split("#", 1)[0].strip().partition(" ")
        if key:
            settings[key] = value.strip()
    return settings


def test_the_documented_block_and_the_settings_in_code_agree():
    documented = _doc_conf()
    documented.pop("persistence_location")
    assert documented == DOCUMENTED_BROKER_SETTINGS


def test_the_documented_settings_pass_and_mosquittos_defaults_warn(tmp_path):
    conf = tmp_path / "documented.conf"
    conf.write_text("\n".join(f"{k} {v}" for k, v in DOCUMENTED_BROKER_SETTINGS.items()) + "\n")
    assert all(c.ok for c in doctor.check_broker_conf(doctor.read_mosquitto_conf(conf), "x"))
    default = tmp_path / "default.conf"
    (tmp_path / "conf.d").mkdir()
    default.write_text(f"persistence true\ninclude_dir {tmp_path / 'conf.d'}\n")
    checks = doctor.check_broker_conf(doctor.read_mosquitto_conf(default), "x")
    assert [c.level for c in checks] == ["WARN", "OK"]
    assert "max_queued_messages 1000" in checks[0].en and "조용히 버려집니다" in checks[0].ko
    (tmp_path / "conf.d" / "gwanje.conf").write_text("max_queued_messages 0\n")  # no byte cap
    checks = doctor.check_broker_conf(doctor.read_mosquitto_conf(default), "x")
    assert [c.level for c in checks] == ["OK", "WARN", "OK"]


def test_doctor_on_a_broker_with_the_documented_settings_is_ok(tmp_path, monkeypatch):
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    broker = OwnBroker(tmp_path).start()
    try:
        conf = tmp_path / "production.conf"  # what production runs: persistence on
        conf.write_text(private_broker_conf(broker.port, persistence=True))
        out = CliRunner().invoke(main, ["doctor", "--url", broker.url, "--broker-conf", str(conf), "--no-db"])
    finally:
        broker.stop()
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if line[:4].strip() in {"OK", "WARN", "FAIL"}]
    assert lines and all(line.startswith("OK") for line in lines), out.output
    assert "persistent session" in out.output and "영속 세션" in out.output
    assert "clean start off" in out.output and "max_queued_messages 0" in out.output


def test_doctor_warns_on_a_capped_queue_and_exits_1(tmp_path, monkeypatch):
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    broker = OwnBroker(tmp_path).start()
    try:
        conf = tmp_path / "capped.conf"
        conf.write_text("persistence true\n")  # Mosquitto's defaults otherwise
        out = CliRunner().invoke(main, ["doctor", "--url", broker.url, "--broker-conf", str(conf), "--no-db"])
    finally:
        broker.stop()
    assert out.exit_code == 1
    assert "WARN" in out.output and "max_queued_messages 1000" in out.output


@pytest.mark.parametrize("conf", [None, "missing.conf"])
def test_doctor_fails_on_an_unreachable_broker_and_says_what_it_cannot_see(tmp_path, monkeypatch, conf):
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    args = ["doctor", "--url", f"mqtt://127.0.0.1:{free_port()}", "--no-db"]
    if conf:
        args += ["--broker-conf", str(tmp_path / conf)]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1
    assert "FAIL" in out.output and "broker unreachable" in out.output and "연결할 수 없습니다" in out.output
    if conf:
        assert "cannot be observed" in out.output


def test_doctor_reports_the_messages_the_devices_numbers_show_lost(db, policy, tmp_path, monkeypatch):
    import json

    from gwanje.registry.seed import seed_seongdong
    from gwanje.situations import service

    seed_seongdong(db, policy)
    bodies = [
        {"message_id": f"r-{n}", "type": "camera_recovery", "seq": n, "payload": {"camera": "SD-AD-001-1"}}
        for n in (1, 5)
    ]
    service.ingest_batch(
        db, policy, [service.RawMessage("mqtt:nms", json.dumps(b).encode(), "mqtt", "nms-1") for b in bodies]
    )
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    broker = OwnBroker(tmp_path).start()
    try:
        conf = tmp_path / "production.conf"
        conf.write_text(private_broker_conf(broker.port, persistence=True))
        out = CliRunner().invoke(main, ["doctor", "--url", broker.url, "--broker-conf", str(conf)])
    finally:
        broker.stop()
    assert out.exit_code == 1
    assert "WARN" in out.output and "3 message(s) lost from 1 device(s)" in out.output
