"""What ``gwanje doctor`` checks of the MQTT path: what can be observed from here, said in Korean and English.

* the broker answers (MQTT 5) and, from its ``$SYS`` topics, its version and messages it dropped;
* it keeps a persistent session (a probe client with clean start off finds its session again);
* the consumer's own settings: clean start off, a session expiry;
* the broker's queue settings, from its ``mosquitto.conf`` when it is on this machine: a per-client
  message cap (Mosquitto's default 1,000) silently drops events for a consumer that is away
  (docs/mqtt.md, "Broker settings for production").

Each check is OK, WARN (it may lose or cannot be observed) or FAIL (it does not work).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gwanje.situations.mqtt import (
    CLEAN_START,
    DOCUMENTED_BROKER_SETTINGS,
    MOSQUITTO_DEFAULT_MAX_QUEUED,
    BrokerAddress,
    ConsumerConfig,
    parse_broker_url,
)

SYSTEM_CONF = Path("/etc/mosquitto/mosquitto.conf")
MIN_SESSION_EXPIRY_S = 24 * 3600
_LOCAL = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Check:
    level: str  # OK | WARN | FAIL
    ko: str
    en: str

    @property
    def ok(self) -> bool:
        return self.level == "OK"

    def line(self) -> str:
        return f"{self.level:<4} {self.ko} / {self.en}"


def _client(address: BrokerAddress, client_id: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    if address.username:
        c.username_pw_set(address.username, address.password)
    if address.tls:
        c.tls_set()
    return c


def _connect(c: paho.Client, address: BrokerAddress, clean_start: bool, expiry: int, timeout: float) -> bool | None:
    """Connect and wait; the broker's *session present* flag, or None when it did not accept us."""
    done = threading.Event()
    result: dict[str, bool | None] = {"present": None}

    def on_connect(client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if not reason_code.is_failure:
            result["present"] = bool(flags.session_present)
        done.set()

    c.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    c.connect(address.host, address.port, keepalive=10, clean_start=clean_start, properties=props)
    c.loop_start()
    done.wait(timeout)
    return result["present"]


def _sys_topics(c: paho.Client, seconds: float) -> dict[str, str]:
    """The retained ``$SYS`` values the broker sends at once (Mosquitto publishes them retained)."""
    values: dict[str, str] = {}
    c.on_message = lambda client, userdata, m: values.__setitem__(m.topic, m.payload.decode("utf-8", "replace"))
    c.subscribe([("$SYS/broker/version", 0), ("$SYS/broker/publish/messages/dropped", 0)])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and "$SYS/broker/version" not in values:
        time.sleep(0.05)
    time.sleep(0.2)
    return values


def check_broker(url: str, timeout: float = 5.0) -> list[Check]:
    """Reachable, its version and dropped count, and whether it keeps a persistent session."""
    try:
        address = parse_broker_url(url)
    except ValueError as exc:
        return [Check("FAIL", f"브로커 주소 오류: {url}", str(exc))]
    where = f"{address.host}:{address.port}"
    probe = f"gwanje-doctor-{uuid.uuid4().hex[:8]}"
    c = _client(address, probe)
    try:
        present = _connect(c, address, clean_start=False, expiry=120, timeout=timeout)
    except OSError as exc:
        return [Check("FAIL", f"브로커에 연결할 수 없습니다 ({where}): {exc}", f"broker unreachable at {where}: {exc}")]
    if present is None:
        c.loop_stop()
        return [
            Check("FAIL", f"브로커가 연결을 거부했습니다 ({where})", f"the broker at {where} refused the connection")
        ]
    checks = [Check("OK", f"브로커 연결됨 ({where}, MQTT 5)", f"broker reachable at {where} (MQTT 5)")]
    sys_values = _sys_topics(c, 2.0)
    version = sys_values.get("$SYS/broker/version")
    if version:
        checks.append(Check("OK", f"브로커 버전: {version}", f"broker version: {version}"))
    else:
        checks.append(Check("WARN", "$SYS 토픽을 읽을 수 없습니다", "the broker's $SYS topics are not readable"))
    dropped = sys_values.get("$SYS/broker/publish/messages/dropped")
    if dropped and dropped.strip() not in {"", "0"}:
        checks.append(
            Check(
                "WARN",
                f"브로커가 시작 후 메시지 {dropped}건을 버렸습니다",
                f"the broker has dropped {dropped} message(s) since it started",
            )
        )
    c.disconnect()
    c.loop_stop()
    # The same id again with clean start off: a broker that keeps sessions says "session present".
    again = _client(address, probe)
    present = _connect(again, address, clean_start=False, expiry=0, timeout=timeout)
    again.disconnect()  # expiry 0 now: the probe's session ends with this connection
    again.loop_stop()
    if present:
        checks.append(
            Check("OK", "브로커가 영속 세션을 유지합니다", "the broker keeps a persistent session (session present)")
        )
    else:
        checks.append(
            Check(
                "FAIL",
                "브로커가 세션을 유지하지 않습니다: 수신기가 없는 동안의 메시지는 보관되지 않습니다",
                "the broker did not keep the probe's session: messages sent while the consumer is away are not kept",
            )
        )
    return checks


def check_consumer(config: ConsumerConfig) -> list[Check]:
    """The consumer's own session settings (what it asks of the broker when it connects)."""
    checks = []
    if CLEAN_START:
        checks.append(Check("FAIL", "수신기가 clean start로 연결합니다", "the consumer connects with clean start"))
    else:
        checks.append(
            Check(
                "OK",
                f"수신기 세션: clean start 끔, 고정 ID '{config.client_id}'",
                f"consumer session: clean start off, fixed client id '{config.client_id}'",
            )
        )
    days = config.session_expiry_s / 86400
    if config.session_expiry_s < MIN_SESSION_EXPIRY_S:
        checks.append(
            Check(
                "WARN",
                f"수신기 세션 만료가 짧습니다 ({config.session_expiry_s}초)",
                f"the consumer's session expiry is short ({config.session_expiry_s} s)",
            )
        )
    else:
        checks.append(Check("OK", f"수신기 세션 만료: {days:g}일", f"consumer session expiry: {days:g} days"))
    return checks


def read_mosquitto_conf(path: Path) -> dict[str, str]:
    """The settings of a mosquitto.conf and the files of its ``include_dir`` (last one wins)."""
    settings: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.partition(" ")
        if key == "include_dir":
            folder = Path(value.strip())
            for extra in sorted(folder.glob("*.conf")) if folder.is_dir() else []:
                settings.update(read_mosquitto_conf(extra))
            continue
        settings[key] = value.strip()
    return settings


def check_broker_conf(settings: dict[str, str], where: str) -> list[Check]:
    """The queue settings against docs/mqtt.md."""
    checks = []
    queued = settings.get("max_queued_messages")
    if queued is None or queued != "0":
        n = int(queued) if queued and queued.isdigit() else MOSQUITTO_DEFAULT_MAX_QUEUED
        checks.append(
            Check(
                "WARN",
                f"{where}: max_queued_messages {n} — 수신기가 없거나 느린 동안 {n}건을 넘는 메시지는 조용히 버려집니다 "
                "(docs/mqtt.md: 0과 max_queued_bytes)",
                f"{where}: max_queued_messages {n} — beyond {n} queued messages the broker silently drops events for "
                "an absent or slow consumer (docs/mqtt.md: 0 with max_queued_bytes)",
            )
        )
    else:
        checks.append(
            Check("OK", f"{where}: max_queued_messages 0 (건수 제한 없음)", f"{where}: max_queued_messages 0 (no cap)")
        )
        if settings.get("max_queued_bytes", "0") == "0":
            checks.append(
                Check(
                    "WARN",
                    f"{where}: max_queued_bytes 없음 — 돌아오지 않는 세션이 메모리를 채울 수 있습니다",
                    f"{where}: no max_queued_bytes — a session that never returns can fill the broker's memory",
                )
            )
        else:
            size = settings["max_queued_bytes"]
            checks.append(Check("OK", f"{where}: max_queued_bytes {size}", f"{where}: max_queued_bytes {size}"))
    if settings.get("persistence", "false").lower() != "true":
        checks.append(
            Check(
                "WARN",
                f"{where}: persistence 꺼짐 — 브로커가 재시작하면 대기 중인 메시지가 사라집니다",
                f"{where}: persistence off — queued messages are lost when the broker restarts",
            )
        )
    else:
        checks.append(Check("OK", f"{where}: persistence true", f"{where}: persistence true"))
    return checks


def check_queue_settings(url: str, conf: Path | None) -> list[Check]:
    """The broker's conf file, when it can be read: the one given, or this machine's for a local broker."""
    try:
        host = parse_broker_url(url).host
    except ValueError:
        return []
    path = conf or (SYSTEM_CONF if host in _LOCAL else None)
    if path is None or not path.exists():
        return [
            Check(
                "WARN",
                "브로커의 대기열 설정을 볼 수 없습니다 (--broker-conf로 mosquitto.conf 지정): "
                f"권장 설정은 docs/mqtt.md ({', '.join(DOCUMENTED_BROKER_SETTINGS)})",
                "the broker's queue settings cannot be observed (give its mosquitto.conf with --broker-conf); "
                "docs/mqtt.md lists the settings to use",
            )
        ]
    try:
        return check_broker_conf(read_mosquitto_conf(path), str(path))
    except OSError as exc:
        return [Check("WARN", f"{path}를 읽을 수 없습니다: {exc}", f"cannot read {path}: {exc}")]
