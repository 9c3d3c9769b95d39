"""Helpers shared by tests: starting the app as a real uvicorn process, device messages, an app under another
district's policy and its accounts' tokens."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def wait_healthy(proc: subprocess.Popen, base: str, log: Path, timeout: float = 40.0) -> None:
    """Wait until ``base``/healthz answers 200; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"uvicorn did not start:\n{Path(log).read_text()[-3000:]}")
        time.sleep(0.1)


def plate_read(n: int, seq: int, device: str, camera: str, reset: bool = False) -> Any:
    """A number-plate read from ``device`` over MQTT, its ``n``-th message id and sequence number ``seq``."""
    from gwanje.situations import service

    body: dict[str, Any] = {
        "message_id": f"lpr-{device}-{n}",
        "type": "plate_read",
        "device_id": device,
        "seq": seq,
        "payload": {"camera": camera, "plate": "99가9999", "confidence": 0.9},
    }
    if reset:
        body["seq_reset"] = True
    return service.RawMessage("mqtt:lpr", json.dumps(body).encode(), "mqtt", device)


@contextmanager
def app_under(db: Any, tmp_path: Path, policy: Any) -> Iterator[tuple[Any, Any]]:
    """An app under ``policy`` on ``db`` (already migrated), with its TestClient: (app, client)."""
    from fastapi.testclient import TestClient

    from gwanje.core.settings import Settings
    from gwanje.web.app import create_app

    settings = Settings(database_url=db.url, var_dir=tmp_path / "var", escalation_seconds=0)
    app = create_app(settings, db=db, policy=policy, migrate=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def bearer_for(app: Any, role: str, department: str | None = None) -> dict[str, str]:
    """The Authorization header of a new account of ``role`` under the app's own policy."""
    import uuid

    from gwanje.accounts import service as accounts
    from gwanje.core.audit import Actor
    from tests.conftest import PASSWORD

    with app.state.db.uow() as uow:
        user, _ = accounts.add_user(
            uow,
            Actor.system("test"),
            app.state.policy,
            accounts.NewUser(
                username=f"{role}-{uuid.uuid4().hex[:6]}",
                display_name=role,
                role=role,
                password=PASSWORD,
                department=department,
            ),
        )
        token = accounts.issue_token(uow, Actor.system("test"), user, "test")
        uow.commit()
    return {"Authorization": f"Bearer {token}"}
