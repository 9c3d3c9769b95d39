"""The composition root: settings, database, policy and bus, wired once for every entry point.

The web app (``gwanje.web.app``), the CLI (``gwanje.cli``) and the workers (MQTT consumer,
simulator, recorder, retention, background jobs) take their objects from here. Capabilities never
import this module: they receive what they need as arguments.

Errors are :class:`ConfigurationError` with a Korean and an English message; each entry point
decides how to show them (the CLI prints and exits, the app refuses to start).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from gwanje.core.bus import LocalBus
from gwanje.core.checkpoints import CheckpointLog
from gwanje.core.db import Database
from gwanje.core.settings import Settings
from gwanje.policy import load_default, load_policy
from gwanje.policy.model import Policy, PolicyError

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """A bad setting, an unreadable policy or an unreachable database."""

    def __init__(self, message_ko: str, message_en: str):
        super().__init__(f"{message_ko} / {message_en}")
        self.message_ko = message_ko
        self.message_en = message_en


def load_settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError: a bad GWANJE_* variable
        raise ConfigurationError("설정 오류", f"settings error: {exc}") from None


def load_configured_policy(settings: Settings) -> Policy:
    """The policy file in ``GWANJE_POLICY_FILE``, or the packaged one."""
    try:
        return load_policy(settings.policy_file) if settings.policy_file else load_default()
    except PolicyError as exc:
        raise ConfigurationError("정책 파일 오류", str(exc)) from None


def open_database(settings: Settings, migrate: bool = True) -> Database:
    from gwanje.core.migrate import upgrade

    try:
        credentials_key = settings.resolved_credentials_key() if migrate else None
    except ValueError as exc:
        raise ConfigurationError("설정 오류", f"settings error: {exc}") from None
    try:
        db = Database(settings.resolved_database_url())
        if migrate:
            upgrade(db.engine, credentials_key=credentials_key)
    except Exception as exc:  # noqa: BLE001 - unreachable database, bad URL
        raise ConfigurationError("데이터베이스에 연결할 수 없습니다", f"cannot open the database: {exc}") from None
    configure_audit(db, settings)
    return db


def configure_audit(db: Database, settings: Settings) -> None:
    """Key the audit chain and sign its checkpoints with what lives outside the database (settings, var/)."""
    try:
        key = settings.resolved_audit_key()
    except ValueError as exc:
        raise ConfigurationError("감사 키 설정 오류", str(exc)) from None
    checkpoints = CheckpointLog(
        settings.resolved_audit_checkpoint_file(),
        settings.audit_signing_key_file(),
        interval_seconds=settings.audit_checkpoint_seconds,
    )
    db.configure_audit(key, checkpoints)


def make_bus(settings: Settings) -> LocalBus:
    """In-process by default; NATS when several app instances must share one live feed."""
    if settings.bus_url:
        from gwanje.core.nats_bus import NatsBus

        try:
            return NatsBus(settings.bus_url)
        except ValueError as exc:
            raise ConfigurationError("이벤트 버스 주소 오류", str(exc)) from None
    return LocalBus()


class BackgroundBus:
    """A bus for a synchronous worker process: NATS needs an event loop, so it gets a thread of its own.

    Without ``GWANJE_BUS_URL`` there is nobody to tell in another process: events stay local.
    """

    def __init__(self, settings: Settings):
        self.bus: LocalBus | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if not settings.bus_url:
            return
        self.bus = make_bus(settings)
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="bus-loop", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self.bus.start(), self._loop).result(30)

    def close(self) -> None:
        if self.bus is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.bus.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self.bus = None


@dataclass
class Wiring:
    """What an entry point runs on."""

    settings: Settings
    policy: Policy
    db: Database
    background: BackgroundBus | None = field(default=None, repr=False)

    @property
    def bus(self) -> LocalBus | None:
        return self.background.bus if self.background else None

    @property
    def var_dir(self) -> Path:
        return Path(self.settings.var_dir)

    def close(self) -> None:
        if self.background is not None:
            self.background.close()
        self.db.dispose()


def register_message_handlers() -> None:
    """Device message types one capability parses and another handles: ``room_access`` (situations'
    ingest → the center's rooms). Done when this module is imported, so every entry point has it."""
    from gwanje.center.rooms.service import DOOR_MESSAGES
    from gwanje.situations.service import register_message_handler

    register_message_handler("room_access", DOOR_MESSAGES)


register_message_handlers()


def wire(*, migrate: bool = True, with_bus: bool = False, settings: Settings | None = None) -> Wiring:
    """Settings, policy and database (migrated); with ``with_bus``, a bus the committed events go to."""
    settings = settings or load_settings()
    policy = load_configured_policy(settings)
    db = open_database(settings, migrate=migrate)
    background = None
    if with_bus:
        background = BackgroundBus(settings)
        if background.bus is not None:
            db.publish_to(background.bus.publish_many)
    return Wiring(settings=settings, policy=policy, db=db, background=background)
