"""API throughput benchmark (issue 8, finding 10): camera search, map GeoJSON and ``POST /api/events``
under 1 and 16 concurrent clients, on PostgreSQL, beside two anchors served the same way in the same run.

    .venv/bin/python bench/api.py [--seconds 10] [--workers N]

A fresh PostgreSQL database is made (dropped afterwards), migrated and seeded with the Seongdong registry
(524 sites, 1,069 cameras); a reader and a device account get bearer tokens. ``gwanje serve`` runs in a
subprocess exactly as a center runs it (``GWANJE_WORKERS`` processes, NATS as the bus when there are
several). The load comes from ``wrk`` (C, installed from Debian when missing), so the client costs little
of this 2-core machine's CPU.

Anchors, served by the same uvicorn settings and worker count in the same run:

* **ping**: a bare FastAPI route returning a small JSON object;
* **bytes**: the same app returning the pre-serialised GeoJSON of all cameras (what the map gets),
  the ceiling for any GeoJSON handler that must still go through HTTP and the framework.

Each figure is the median of ``--repeats`` runs. Prints a table, then one JSON object per figure per line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = os.environ.get("GWANJE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NATS_URL = os.environ.get("GWANJE_BENCH_NATS", "nats://127.0.0.1:4222")
ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"search": 500.0, "geojson": 1000.0, "events": 1000.0}
TARGET_P99_MS = 100.0

ANCHOR_APP = """
import sys
from pathlib import Path

from fastapi import FastAPI, Response

BODY = Path(sys.argv[1]).read_bytes()
app = FastAPI()


@app.get("/ping")
def ping() -> dict:
    return {"ok": True}


@app.get("/bytes")
def raw() -> Response:
    return Response(BODY, media_type="application/geo+json")


if __name__ == "__main__":
    import uvicorn

    uvicorn.run("__main__:app" if int(sys.argv[3]) == 1 else "anchor_app:app", host="127.0.0.1",
                port=int(sys.argv[2]), workers=int(sys.argv[3]), log_level="warning")
"""

# wrk scripts: a header on every request; for events a new message id (and sequence number) per request,
# unique across wrk's threads.
WRK_HEADERS = """
local token = os.getenv("BENCH_TOKEN")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"
"""
WRK_EVENTS = """
local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN")
local camera = os.getenv("BENCH_CAMERA")
local counter = 0
local nthreads = 0
-- setup() runs in the main Lua state, once per thread; thread:set gives each thread's own state a global
-- `tid`, so that message ids and device sequences are each thread's own.
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local id = run .. "-" .. tid .. "-" .. counter
  local body = '{"message_id":"' .. id .. '","type":"plate_read","device_id":"lpr-' .. run .. '-' .. tid ..
    '","seq":' .. counter ..
    ',"payload":{"camera":"' .. camera .. '","plate":"12가' .. string.format("%04d", counter % 10000) ..
    '","confidence":0.93}}'
  return wrk.format("POST", "/api/events", {
    ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
    ["X-Device-Id"] = "lpr-" .. run .. "-" .. tid}, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("installing wrk from Debian (the load generator) ...", flush=True)
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or "wrk"


def wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server did not answer at {url}")


def parse_wrk(out: str) -> dict[str, float]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"(\d+) requests in", out).group(1))

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    lat = {p: ms(m) for p, m in re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "requests": float(done),
        "p50": lat.get("50", float("nan")),
        "p99": lat.get("99", float("nan")),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors and re.search(r"[1-9]", errors.group(0)) else 0.0,
    }


def run_wrk(wrk: str, url: str, clients: int, seconds: int, script: Path, env: dict[str, str]) -> dict[str, float]:
    threads = clients  # one connection per wrk thread: each events device sends one message at a time, as devices do
    cmd = [wrk, f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, check=True).stdout
    return parse_wrk(out)


def prepare_database(url: str) -> tuple[str, str, str, bytes]:
    """Migrate, seed, make a reader and a device account; return their tokens, a camera and the map's bytes."""
    from gwanje.accounts import service as accounts
    from gwanje.bootstrap import configure_audit
    from gwanje.core.audit import Actor
    from gwanje.core.db import Database
    from gwanje.core.migrate import upgrade
    from gwanje.core.settings import Settings
    from gwanje.policy import load_default
    from gwanje.registry import service as registry
    from gwanje.registry.schemas import CameraQuery

    policy = load_default()
    db = Database(url)
    upgrade(db.engine)
    configure_audit(db, Settings(database_url=url, var_dir=Path(os.environ["GWANJE_VAR_DIR"])))
    registry.seed_seongdong(db, policy)
    reader_role = policy.roles_with("registry.read")[0]
    device_role = policy.roles_with("events.ingest")[0]
    tokens = []
    with db.uow() as uow:
        for name, role in (("bench_reader", reader_role), ("bench_device", device_role)):
            user, _ = accounts.add_user(
                uow,
                Actor.system("bench"),
                policy,
                accounts.NewUser(username=name, display_name=name, role=role, password="bench-Passw0rd!!"),
            )
            tokens.append(accounts.issue_token(uow, Actor.system("bench"), user, "bench", days=1))
        uow.commit()
    with db.reading() as session:
        camera = registry.search_page(session, CameraQuery(limit=1)).items[0].management_number
        geojson = json.dumps(registry.cameras_feature_collection(session, CameraQuery()), ensure_ascii=False).encode()
    db.engine.dispose()
    return tokens[0], tokens[1], camera, geojson


def figure(
    name: str, value: float, unit: str, better: str, anchor: str, anchor_value: float, target: float | None
) -> dict:
    """One JSON figure line, beside its same-run anchor."""
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "better": better,
        "anchor": anchor,
        "anchor_value": anchor_value,
        "target": target,
    }


def stored_messages(url: str, run: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM inbox WHERE message_id LIKE :p"), {"p": run + "-%"}).scalar()
    engine.dispose()
    return int(n or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("GWANJE_WORKERS", "0")) or (os.cpu_count() or 1))
    args = ap.parse_args()
    wrk = ensure_wrk()

    import sqlalchemy as sa

    name = f"gwanje_bench_api_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    procs: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="gwanje-bench-api-"))
    try:
        env = {**os.environ, "GWANJE_DATABASE_URL": url, "GWANJE_VAR_DIR": str(tmp / "var")}
        os.environ["GWANJE_VAR_DIR"] = env["GWANJE_VAR_DIR"]
        reader, device, camera, geojson = prepare_database(url)
        (tmp / "body.geojson").write_bytes(geojson)
        (tmp / "anchor_app.py").write_text(ANCHOR_APP)
        (tmp / "headers.lua").write_text(WRK_HEADERS)
        (tmp / "events.lua").write_text(WRK_EVENTS)

        port, anchor_port = free_port(), free_port()
        server_env = {**env, "GWANJE_WORKERS": str(args.workers)}
        if args.workers > 1:
            server_env["GWANJE_BUS_URL"] = NATS_URL
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gwanje", "serve", "--port", str(port)],
                env=server_env,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / "serve.log", "w"),  # noqa: SIM115
            )
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "anchor_app.py", str(tmp / "body.geojson"), str(anchor_port), str(args.workers)],
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        base, anchor = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{anchor_port}"
        wait_http(base + "/healthz")
        wait_http(anchor + "/ping")

        cases = {
            "ping": (anchor + "/ping", "headers.lua", reader),
            "bytes": (anchor + "/bytes", "headers.lua", reader),
            "search": (base + "/api/cameras?q=%EC%84%B1%EC%88%98&limit=50", "headers.lua", reader),
            "geojson": (base + "/api/cameras.geojson", "headers.lua", reader),
            "events": (base + "/api/events", "events.lua", device),
        }
        results: dict[tuple[str, int], dict[str, float]] = {}
        lost: list[str] = []
        for clients in (1, 16):
            for case, (target, script, token) in cases.items():
                # warm up each path once (caches, connection pools), then measure
                run_wrk(
                    wrk,
                    target,
                    clients,
                    2,
                    tmp / script,
                    {"BENCH_TOKEN": token, "BENCH_RUN": "w" + uuid.uuid4().hex[:6], "BENCH_CAMERA": camera},
                )
                runs = []
                for _ in range(args.repeats):
                    run = uuid.uuid4().hex[:10]
                    runs.append(
                        run_wrk(
                            wrk,
                            target,
                            clients,
                            args.seconds,
                            tmp / script,
                            {"BENCH_TOKEN": token, "BENCH_RUN": run, "BENCH_CAMERA": camera},
                        )
                    )
                    if case == "events":  # every answered message stored once; at most the last in flight more
                        stored = stored_messages(url, run)
                        answered = int(runs[-1]["requests"])
                        if not answered <= stored <= answered + clients:
                            lost.append(f"events @{clients}: {answered} answered, {stored} stored")
                results[(case, clients)] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                results[(case, clients)]["non2xx"] = max(r["non2xx"] for r in runs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if os.environ.get("BENCH_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nAPI throughput on PostgreSQL, {args.workers} worker(s), wrk, median of {args.repeats} × {args.seconds} s")
    print(f"{'path':<10}{'clients':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    for (case, clients), r in results.items():
        print(f"{case:<10}{clients:>8}{r['rps']:>10.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['non2xx']:>9.0f}")
    figures = []
    for case in ("search", "geojson", "events"):
        anchor_case = "bytes" if case == "geojson" else "ping"
        for clients in (1, 16):
            r, a = results[(case, clients)], results[(anchor_case, clients)]
            figures.append(
                figure(
                    f"{case} req/s @{clients}",
                    round(r["rps"], 1),
                    "req/s",
                    "higher",
                    f"{anchor_case} req/s @{clients} (same uvicorn, same workers)",
                    round(a["rps"], 1),
                    TARGETS[case] if clients == 16 else None,
                )
            )
            figures.append(
                figure(
                    f"{case} p99 ms @{clients}",
                    round(r["p99"], 2),
                    "ms",
                    "lower",
                    f"{anchor_case} p99 ms @{clients}",
                    round(a["p99"], 2),
                    TARGET_P99_MS if (case == "search" and clients == 16) else None,
                )
            )
    bad = {f"{c}@{n}": r["non2xx"] for (c, n), r in results.items() if r["non2xx"]}
    if bad:
        print(f"non-2xx answers: {bad}")
    if lost:
        print("inbox does not match the answers: " + "; ".join(lost))
    else:
        print("every answered event is in the inbox once (checked per run)")
    for fig in figures:
        print(json.dumps(fig, ensure_ascii=False))
    return 1 if bad or lost else 0


if __name__ == "__main__":
    sys.exit(main())
