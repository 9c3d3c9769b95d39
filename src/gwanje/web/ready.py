"""Readiness (``/readyz``): can this instance serve now? The database answers ``SELECT 1`` within a
short timeout; the MQTT broker accepts a connection and the NATS bus is connected, when configured.

``/healthz`` stays liveness (the process answers); a load balancer sends traffic only to instances
whose ``/readyz`` is 200, and a 503 names what is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pydantic import BaseModel, Field
from sqlalchemy import text

from gwanje.core.db import Database
from gwanje.core.settings import Settings
from gwanje.situations.mqtt import parse_broker_url

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
OK = "ok"
NOT_CONFIGURED = "not_configured"
DOWN = "down"


class Readiness(BaseModel):
    status: str = Field(description="ok, or unavailable when a check is down")
    version: str
    checks: dict[str, str] = Field(description="database, broker, bus: ok, down or not_configured")
    down: list[str] = Field(default_factory=list, description="what is down, by name")


def _select_one(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def check_database(db: Database, timeout_s: float = CHECK_TIMEOUT_S) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(_select_one, db), timeout_s)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: database down: %s", exc)
        return DOWN
    return OK


async def check_broker(url: str, timeout_s: float = CHECK_TIMEOUT_S) -> str:
    if not url:
        return NOT_CONFIGURED
    try:
        address = parse_broker_url(url)
        _, writer = await asyncio.wait_for(asyncio.open_connection(address.host, address.port), timeout_s)
    except Exception as exc:  # noqa: BLE001
        log.warning("readiness: MQTT broker down: %s", exc)
        return DOWN
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return OK


def check_bus(settings: Settings, bus: object) -> str:
    if not settings.bus_url:
        return NOT_CONFIGURED
    return OK if getattr(bus, "connected", False) else DOWN


async def readiness(settings: Settings, db: Database, bus: object, version: str) -> Readiness:
    database, broker = await asyncio.gather(check_database(db), check_broker(settings.mqtt_url))
    checks = {"database": database, "broker": broker, "bus": check_bus(settings, bus)}
    down = [name for name, state in checks.items() if state == DOWN]
    return Readiness(status="unavailable" if down else OK, version=version, checks=checks, down=down)
