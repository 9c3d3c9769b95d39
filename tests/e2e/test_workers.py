"""``gwanje serve --workers N``: several processes on one PostgreSQL database and one NATS bus tell one
story — a camera added through one of them is on every process's map in the very next answer, and the periodic jobs
(escalations, deadline alerts, audit checkpoints) run in one process at a time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import httpx
import pytest
from click.testing import CliRunner

from gwanje.cli import main as cli
from gwanje.web.jobs import run_periodic_pass

from .test_api_registry import CAMERA

NATS_URL = os.environ.get("GWANJE_TEST_NATS", "nats://127.0.0.1:4222")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(extra)
    return env


def test_several_workers_refuse_sqlite_and_a_missing_bus(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("GWANJE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code != 0
    assert "PostgreSQL" in result.output and "SQLite" in result.output
    monkeypatch.setenv("GWANJE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code != 0
    assert "GWANJE_BUS_URL" in result.output and "이벤트 버스" in result.output
    result = CliRunner().invoke(cli, ["serve", "--workers", "0"])
    assert result.exit_code != 0 and "0" in result.output


def test_periodic_jobs_run_in_one_process_at_a_time(db, policy):
    if db.dialect != "postgresql":
        assert run_periodic_pass(db, policy) is True  # SQLite serves one process, which always may
        return
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with db.exclusive("gwanje.periodic") as mine:
            assert mine
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(10)
        assert run_periodic_pass(db, policy) is False, "another process holds the pass"
    finally:
        release.set()
        holder.join()
    assert run_periodic_pass(db, policy) is True


@pytest.fixture
def two_workers(database_url, tmp_path, policy):
    from gwanje.accounts import service as accounts
    from gwanje.bootstrap import configure_audit
    from gwanje.core.audit import Actor
    from gwanje.core.db import Database
    from gwanje.core.settings import Settings

    secret = "w" * 48
    db = Database(database_url)
    configure_audit(db, Settings(database_url=database_url, var_dir=tmp_path, secret_key=secret))
    tokens = {}
    with db.uow() as uow:
        for name, role in (("w_reader", "monitoring_agent"), ("w_writer", "district_manager")):
            user, _ = accounts.add_user(
                uow,
                Actor.system("test"),
                policy,
                accounts.NewUser(username=name, display_name=name, role=role, password="Workers-Passw0rd!"),
            )
            tokens[name] = accounts.issue_token(uow, Actor.system("test"), user, "test", days=1)
        uow.commit()
    db.dispose()
    port = _free_port()
    log = tmp_path / "serve.log"
    env = _env(
        GWANJE_DATABASE_URL=database_url,
        GWANJE_VAR_DIR=str(tmp_path),
        GWANJE_SECRET_KEY=secret,
        GWANJE_BUS_URL=f"{NATS_URL}?subject=gwanje.test.workers.{uuid.uuid4().hex[:8]}",
        GWANJE_WORKERS="2",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gwanje", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gwanje serve --workers 2 did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # several processes: PostgreSQL only
def test_a_change_through_one_worker_is_on_every_workers_map(two_workers):
    base, headers, log = two_workers
    reader, writer = headers["w_reader"], headers["w_writer"]
    assert log.read_text().count("Started server process") == 2, log.read_text()[-2000:]

    def on_map(number: str) -> list[bool]:
        seen = []
        for _ in range(12):  # a new connection each time: the kernel spreads them over the processes
            with httpx.Client(base_url=base, headers=reader, timeout=10) as c:
                body = c.get("/api/cameras.geojson").json()
            seen.append(any(f["properties"]["management_number"] == number for f in body["features"]))
        return seen

    assert not any(on_map("SD-T-001"))  # every process now keeps the map
    with httpx.Client(base_url=base, headers=writer, timeout=10) as c:
        created = c.post("/api/cameras", json=CAMERA)
    assert created.status_code == 201, created.text
    assert all(seen := on_map("SD-T-001")), f"a worker still serves the old map: {seen}"
    with httpx.Client(base_url=base, headers=writer, timeout=10) as c:
        retired = c.post(f"/api/cameras/{created.json()['id']}/retire", json={"reason": "철거"})
    assert retired.status_code == 200
    assert not any(seen := on_map("SD-T-001")), f"a worker still shows the retired camera: {seen}"
