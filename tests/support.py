"""Helpers shared by tests: starting the app as a real uvicorn process, device messages."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
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
