"""Helpers shared by tests that start the app as a real uvicorn process."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

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
