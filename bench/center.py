"""Center benchmark (issue 10): door messages through the ingest, and the center's read routes, on SQLite
and on PostgreSQL, each beside an anchor measured in the same run.

    .venv/bin/python bench/center.py [--messages 1000] [--batch 100] [--requests 300] [--repeats 3]

For each engine a fresh database is made (a temporary SQLite file; a PostgreSQL database dropped
afterwards), migrated and seeded as ``gwanje demo`` seeds it: the Seongdong registry, the demo accounts,
presence, and the rooms (authorisations with badges, a visitor, the morning's door messages).

* ``room_access ingest msg/s``: ``--messages`` ``room_access`` messages — entries and exits of the
  authorised badges, each door numbering its messages — stored through
  :func:`gwanje.situations.service.ingest_batch` in batches of ``--batch`` (what the MQTT consumer
  does), measured apart at two kinds of door: a *log door* (a room that keeps only the access log: an
  inbox row, a log line and an audit row each) and the *presence door* (the policy's presence room,
  where the benchmark's badges alternate in and out, so every message is also a check-in or check-out
  with its training check, audit row and staffing evaluation: the worst case, where a real door sees a
  check-in only at shift changes). Anchor: ``emergency_bell`` (an inbox row, an incident with its
  timeline and audit rows each), the same count in the same batches in the same process and run;
  target at least half of it. ``plate_read`` (an inbox row and a plate row; no hot list, so it raises
  nothing) is printed beside it for reference.
* ``GET /api/center/on-duty`` and ``GET /api/center/rooms`` p50 / p99 ms: ``gwanje serve`` (one worker)
  in a subprocess, ``--requests`` sequential keep-alive requests from one httpx client with the IT
  officer's bearer token. Anchor: ``GET /healthz`` of the same server, same client, same run.

Each figure is the median of ``--repeats`` runs (ours and the anchors interleaved in each). Prints a
table, then one JSON object per figure per line.
"""

from __future__ import annotations

import argparse
import json
import os
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
TARGET_RATIO = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


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


def prepare(url: str, var_dir: Path):  # noqa: ANN201 - the database, policy, token and what messages need
    """Migrate and seed as the demo does; return (db, policy, the IT officer's token, a camera, badges)."""
    from gwanje import bootstrap  # registers the room_access handler
    from gwanje.accounts import service as accounts
    from gwanje.accounts.demo import create_demo_accounts
    from gwanje.accounts.models import User
    from gwanje.center.presence.service import seed_demo_presence
    from gwanje.cli.demo_rooms import authorised_badges, seed_demo_rooms
    from gwanje.core.audit import Actor
    from gwanje.core.db import Database
    from gwanje.core.migrate import upgrade
    from gwanje.core.settings import Settings
    from gwanje.policy import load_default
    from gwanje.registry import service as registry
    from gwanje.registry.models import Camera

    import sqlalchemy as sa

    policy = load_default()
    db = Database(url)
    upgrade(db.engine)
    bootstrap.configure_audit(db, Settings(database_url=url, var_dir=var_dir))
    registry.seed_seongdong(db, policy)
    names = [a.username for a in create_demo_accounts(db, policy)]
    seed_demo_presence(db, policy, names)
    seed_demo_rooms(db, policy, names)
    granter = policy.roles_with("rooms.authorise")[0]
    with db.uow() as uow:
        user = uow.session.scalars(sa.select(User).where(User.role == granter).order_by(User.id)).first()
        token = accounts.issue_token(uow, Actor.system("bench"), user, "bench", days=1)
        uow.commit()
    with db.reading() as session:
        camera = session.scalars(
            sa.select(Camera).where(Camera.primary_purpose == "crime_prevention").order_by(Camera.id)
        ).first()
        cam = (camera.management_number, camera.latitude, camera.longitude)
    return db, policy, token, cam, authorised_badges(db, policy)


class Messages:
    """Bodies for each kind, message ids unique per run, each device numbering its own messages."""

    def __init__(self, policy, camera: tuple[str, float, float], badges: dict[str, list[str]]):  # noqa: ANN001
        self.run = uuid.uuid4().hex[:8]
        self.n = 0
        self.seq: dict[str, int] = {}
        self.camera = camera
        presence_room = policy.presence.room if policy.presence is not None else None
        doors = [(d.device, badges.get(d.room, []), d.room == presence_room) for d in policy.rooms_access.doors]
        # "room_access:log": doors of rooms that only keep the log; "room_access:presence": the presence
        # room's door, where every badge entry or exit is also a check-in or check-out (the worst case)
        self.doors = {
            "room_access:log": [(d, b) for d, b, p in doors if b and not p],
            "room_access:presence": [(d, b) for d, b, p in doors if b and p],
        }
        self.inside: dict[str, bool] = {}

    def _body(self, kind: str, device: str, payload: dict) -> bytes:
        self.n += 1
        self.seq[device] = self.seq.get(device, 0) + 1
        body = {
            "message_id": f"bench-{self.run}-{self.n}",
            "type": kind,
            "device_id": device,
            "seq": self.seq[device],
            "payload": payload,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def make(self, kind: str, i: int):  # noqa: ANN201
        from gwanje.situations.inbox import RawMessage

        number, lat, lon = self.camera
        if kind.startswith("room_access"):
            doors = self.doors[kind]
            door, badges = doors[i % len(doors)]
            badge = badges[(i // len(doors)) % len(badges)]
            key = f"{door}/{badge}"
            event = "exit" if self.inside.get(key) else "entry"
            self.inside[key] = event == "entry"
            payload = {"door": door, "event": event, "badge": badge}
            return RawMessage("mqtt:doors", self._body("room_access", door, payload), "mqtt", door)
        if kind == "plate_read":
            payload = {"camera": number, "plate": f"{10 + i % 300}가{1000 + i % 9000}", "confidence": 0.93}
            return RawMessage("mqtt:lpr", self._body(kind, number, payload), "mqtt", number)
        bell = f"BELL-BENCH-{i % 50}"
        payload = {"bell_id": bell, "latitude": lat, "longitude": lon, "camera": number}
        return RawMessage("mqtt:bells", self._body(kind, bell, payload), "mqtt", bell)


def ingest_rate(db, policy, messages: Messages, kind: str, count: int, batch: int) -> float:  # noqa: ANN001
    from gwanje.situations import service

    raw = [messages.make(kind, i) for i in range(count)]
    start = time.perf_counter()
    for k in range(0, count, batch):
        result = service.ingest_batch(db, policy, raw[k : k + batch])
        bad = [r for r in result.results if r.status != "stored"]
        if bad:
            raise SystemExit(f"{kind}: not stored: {bad[0]}")
    return count / (time.perf_counter() - start)


def serve(url: str, var_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GWANJE_DATABASE_URL": url, "GWANJE_VAR_DIR": str(var_dir), "GWANJE_WORKERS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gwanje", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # noqa: SIM115
    )
    return proc, f"http://127.0.0.1:{port}"


def latencies(client, url: str, n: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code} {r.text[:200]}")
    return out


def bench_engine(engine: str, url: str, tmp: Path, args: argparse.Namespace) -> dict[str, float]:
    import httpx

    var_dir = tmp / f"var-{engine}"
    os.environ["GWANJE_VAR_DIR"] = str(var_dir)
    db, policy, token, camera, badges = prepare(url, var_dir)
    out: dict[str, list[float]] = {}
    try:
        messages = Messages(policy, camera, badges)
        kinds = ("plate_read", "room_access:log", "room_access:presence", "emergency_bell")
        for kind in kinds:  # warm up each path
            ingest_rate(db, policy, messages, kind, args.batch, args.batch)
        for _ in range(args.repeats):
            for kind in kinds:
                out.setdefault(f"ingest {kind}", []).append(
                    ingest_rate(db, policy, messages, kind, args.messages, args.batch)
                )
    finally:
        db.dispose()
    proc, base = serve(url, var_dir, tmp / f"serve-{engine}.log")
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"gwanje serve did not start: {(tmp / f'serve-{engine}.log').read_text()[-500:]}")
                time.sleep(0.2)
            paths = {"healthz": "/healthz", "on-duty": "/api/center/on-duty", "rooms": "/api/center/rooms"}
            for path in paths.values():
                latencies(client, path, 20)
            for _ in range(args.repeats):
                for label, path in paths.items():
                    lat = latencies(client, path, args.requests)
                    out.setdefault(f"{label} p50", []).append(percentile(lat, 50))
                    out.setdefault(f"{label} p99", []).append(percentile(lat, 99))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default="sqlite,postgresql")
    args = ap.parse_args()

    import sqlalchemy as sa

    tmp = Path(tempfile.mkdtemp(prefix="gwanje-bench-center-"))
    results: dict[str, dict[str, float]] = {}
    started = time.monotonic()
    try:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                results[engine] = bench_engine(engine, f"sqlite:///{tmp / 'center.db'}", tmp, args)
                continue
            name = f"gwanje_bench_center_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                results[engine] = bench_engine(engine, PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", tmp, args)
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    finally:
        if os.environ.get("BENCH_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nCenter on {', '.join(results)}: ingest of {args.messages} messages in batches of {args.batch}, "
        f"{args.requests} sequential requests a path; median of {args.repeats} ({time.monotonic() - started:.0f} s)"
    )
    print(f"{'engine':<12}{'figure':<34}{'ours':>10}{'anchor':>10}{'ratio':>8}")
    figures = []
    met = True
    for engine, r in results.items():
        bell, plate = r["ingest emergency_bell"], r["ingest plate_read"]
        for kind, what in (("room_access:log", "log door"), ("room_access:presence", "presence door")):
            ours = r[f"ingest {kind}"]
            print(f"{engine:<12}{'room_access msg/s, ' + what:<34}{ours:>10.0f}{bell:>10.0f}{ours / bell:>8.2f}")
            met &= ours >= TARGET_RATIO * bell
            figures.append(
                figure(
                    f"room_access ingest msg/s ({engine}, {what})",
                    round(ours, 1),
                    "msg/s",
                    "higher",
                    f"emergency_bell ingest msg/s ({engine}, same batches, same run)",
                    round(bell, 1),
                    round(TARGET_RATIO * bell, 1),
                )
            )
        print(f"{engine:<12}{'plate_read msg/s (reference)':<34}{plate:>10.0f}{bell:>10.0f}{plate / bell:>8.2f}")
        for label, path in (("on-duty", "/api/center/on-duty"), ("rooms", "/api/center/rooms")):
            for p in ("p50", "p99"):
                ours, a = r[f"{label} {p}"], r[f"healthz {p}"]
                print(f"{engine:<12}{'GET ' + label + ' ' + p + ' ms':<34}{ours:>10.2f}{a:>10.2f}{ours / a:>8.1f}")
                figures.append(
                    figure(
                        f"GET {path} {p} ms ({engine})",
                        round(ours, 2),
                        "ms",
                        "lower",
                        f"GET /healthz {p} ms ({engine}, same server, same client)",
                        round(a, 2),
                        None,
                    )
                )
    print(
        "room_access ingest at least half of the emergency_bell anchor at both doors on every engine"
        if met
        else "room_access ingest below half of the emergency_bell anchor at a door"
    )
    for fig in figures:
        print(json.dumps(fig, ensure_ascii=False))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
