"""Registry benchmark: standard-data import (SQLite, PostgreSQL) and camera search at ~100k sites.

    .venv/bin/python bench/registry.py [--rows 100000] [--queries 300]

Generates a deterministic national-style standard file (sites spread over Korea, 1–4 cameras each),
imports it into a fresh SQLite file and a fresh temporary PostgreSQL database (dropped afterwards),
each import in its own subprocess so that its peak RSS is the import's alone. Each figure has an
anchor measured in the same run on the same machine:

* import: a bare bulk insert of the same parsed rows into plain tables (no keys, no indexes) with
  the same driver — psycopg ``COPY`` on PostgreSQL, ``executemany`` on SQLite; parsing not timed;
* search: the equivalent hand-written SQL (count + first page) on the same connection.

Prints a table, then one JSON object per figure per line.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = os.environ.get("GWANJE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]

CITIES = [  # (name, lat, lon, weight, districts)
    (
        "서울특별시",
        37.5665,
        126.9780,
        30,
        ["강남구", "성동구", "종로구", "마포구", "송파구", "노원구", "관악구", "은평구"],
    ),
    ("부산광역시", 35.1796, 129.0756, 10, ["해운대구", "부산진구", "사하구", "동래구"]),
    ("인천광역시", 37.4563, 126.7052, 8, ["남동구", "부평구", "연수구", "서구"]),
    ("대구광역시", 35.8714, 128.6014, 7, ["수성구", "달서구", "북구"]),
    ("대전광역시", 36.3504, 127.3845, 5, ["유성구", "서구", "중구"]),
    ("광주광역시", 35.1595, 126.8526, 5, ["북구", "광산구", "서구"]),
    ("울산광역시", 35.5384, 129.3114, 3, ["남구", "울주군"]),
    ("경기도 수원시", 37.2636, 127.0286, 8, ["영통구", "팔달구", "권선구"]),
    ("제주특별자치도 제주시", 33.4996, 126.5312, 3, ["제주시"]),
    ("강원도 춘천시", 37.8813, 127.7298, 2, ["춘천시"]),
    ("전라북도 전주시", 35.8242, 127.1480, 3, ["완산구", "덕진구"]),
    ("충청북도 청주시", 36.6424, 127.4890, 3, ["상당구", "흥덕구"]),
    ("경상북도 포항시", 36.0190, 129.3435, 2, ["남구", "북구"]),
    ("강원도 강릉시", 37.7519, 128.8761, 2, ["강릉시"]),
    ("경상남도 창원시", 35.2281, 128.6811, 4, ["의창구", "성산구", "마산합포구"]),
]
PURPOSES = [
    ("생활방범", 60),
    ("차량방범", 8),
    ("어린이보호", 8),
    ("교통단속", 8),
    ("쓰레기단속", 6),
    ("시설물관리", 4),
    ("재난재해", 2),
    ("다목적", 2),
    ("기타", 2),
]
ROADS = [
    "중앙로",
    "시장길",
    "학교로",
    "공원로",
    "역전로",
    "강변로",
    "산업로",
    "문화로",
    "희망로",
    "평화로",
    "새마을로",
    "대학로",
]
DONGS = ["신", "중앙", "행복", "역", "성내", "동", "서", "남", "북", "상", "하"]
DIRECTIONS = ["360도 전방면", "360도 전방면", "북,남", "동,서", "북,동,남", "하단(투기 위치)", "남", ""]
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
HEADER = [
    "관리기관명",
    "소재지도로명주소",
    "소재지지번주소",
    "설치목적구분",
    "카메라대수",
    "카메라화소수",
    "촬영방면정보",
    "보관일수",
    "설치연월",
    "관리기관전화번호",
    "WGS84위도",
    "WGS84경도",
    "데이터기준일자",
]


# ---- data ---------------------------------------------------------------------------------------


def generate(path: Path, rows: int, seed: int = 20181) -> dict:
    """A deterministic standard file: same rows, seed → same bytes."""
    rnd = random.Random(seed)
    city_weights = [c[3] for c in CITIES]
    purposes, purpose_weights = zip(*PURPOSES)
    seen: set[str] = set()
    cameras = 0
    samples = []
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        i = 0
        while i < rows:
            city, clat, clon, _, districts = rnd.choices(CITIES, city_weights)[0]
            district = rnd.choice(districts)
            if rnd.random() < 0.1:  # some cameras away from cities
                lat, lon = rnd.uniform(34.6, 38.2), rnd.uniform(126.3, 129.3)
            else:
                lat, lon = clat + rnd.gauss(0, 0.04), clon + rnd.gauss(0, 0.05)
            lat, lon = round(lat, 7), round(lon, 7)
            police = rnd.random() < 0.04
            agency = f"{city} {district}{'경찰서' if police else '청'}".replace(f"{district}{district}", district)
            purpose = rnd.choices(purposes, purpose_weights)[0]
            key = f"{agency}|{purpose}|{lat:.6f}|{lon:.6f}"
            if key in seen:
                continue
            seen.add(key)
            count = rnd.randint(1, 4)
            cameras += count
            road = f"{city} {district} {rnd.choice(ROADS)}{rnd.randint(1, 60)}길 {rnd.randint(1, 300)}"
            dong = f"{rnd.choice(DONGS)}{rnd.randint(1, 9)}동"
            lot = f"{city} {district} {dong} {rnd.randint(1, 999)}-{rnd.randint(1, 99)}"
            year = rnd.randint(2006, 2023)
            month = rnd.randint(1, 12)
            installed = f"{year % 100:02d}-{MONTHS_EN[month - 1]}" if rnd.random() < 0.5 else f"{year}-{month:02d}"
            w.writerow(
                [
                    agency,
                    road,
                    lot,
                    purpose,
                    count,
                    rnd.choice([200, 200, 130, 41, 300, 500]),
                    rnd.choice(DIRECTIONS),
                    rnd.choice([30, 30, 30, 14, 60]),
                    installed,
                    f"0{rnd.randint(2, 64)}-{rnd.randint(200, 999)}-{rnd.randint(1000, 9999)}",
                    repr(lat),
                    repr(lon),
                    "2023-06-30",
                ]
            )
            if len(samples) < 5000 and rnd.random() < 0.1:
                samples.append({"lat": lat, "lon": lon, "road": road.split()[-2], "purpose": purpose})
            i += 1
    return {
        "rows": rows,
        "cameras": cameras,
        "samples": samples,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


# ---- children (each import in its own process) --------------------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child_import(url: str, file: str) -> dict:
    from gwanje.core.audit import Actor
    from gwanje.core.db import Database
    from gwanje.policy import load_default
    from gwanje.registry.importer import import_standard

    policy = load_default()
    db = Database(url)
    baseline = _peak_mib()
    started = time.perf_counter()
    summary = import_standard(db, file, Actor.system("bench"), policy=policy)
    seconds = time.perf_counter() - started
    db.dispose()
    return {
        "seconds": seconds,
        "rows": summary.rows,
        "imported": summary.imported,
        "rejected": len(summary.rejected),
        "cameras": summary.cameras_added,
        "peak_mib": _peak_mib(),
        "baseline_mib": baseline,
    }


def _anchor_rows(file: str) -> tuple[list[tuple], list[tuple]]:
    from datetime import datetime, timezone

    from gwanje.registry.standard import parse_standard

    now = datetime.now(timezone.utc)
    sites, cameras = [], []
    for i, row in enumerate(parse_standard(file).records, start=1):
        sites.append(
            (
                i,
                row.site_key,
                row.managing_agency,
                row.road_address,
                row.lot_address,
                row.agency_phone,
                row.latitude,
                row.longitude,
                row.standard_purpose,
                row.data_date,
                row.digest,
                now,
                now,
            )
        )
        for n in range(1, row.camera_count + 1):
            number = f"{row.site_key}-{n:02d}"
            cameras.append(
                (
                    i,
                    number,
                    number.lower(),
                    None,
                    row.owner_organisation,
                    row.primary_purpose,
                    ",",
                    None,
                    "central",
                    row.latitude,
                    row.longitude,
                    row.direction,
                    row.resolution_mp,
                    row.retention_days,
                    row.installed_month,
                    "active",
                    now,
                    now,
                )
            )
    return sites, cameras


SITE_DDL = (
    "id integer, site_key varchar(120), managing_agency varchar(120), road_address varchar(300), "
    "lot_address varchar(300), agency_phone varchar(40), latitude float8, longitude float8, "
    "standard_purpose varchar(40), data_date date, row_digest varchar(64), created_at {ts}, updated_at {ts}"
)
CAMERA_DDL = (
    "site_id integer, management_number varchar(80), search_text text, department varchar(40), "
    "owner_organisation varchar(40), primary_purpose varchar(40), secondary_purposes varchar(300), "
    "camera_group varchar(40), storage_mode varchar(20), latitude float8, longitude float8, "
    "direction varchar(120), resolution_mp float8, retention_days integer, installed_month varchar(7), "
    "status varchar(20), created_at {ts}, updated_at {ts}"
)


def child_anchor(url: str, file: str) -> dict:
    """Bare bulk insert of the same parsed rows into plain tables (parsing not timed)."""
    sites, cameras = _anchor_rows(file)
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute(f"CREATE TABLE anchor_sites ({SITE_DDL.format(ts='text')})")
        conn.execute(f"CREATE TABLE anchor_cameras ({CAMERA_DDL.format(ts='text')})")
        # dates and times as text, as SQLAlchemy stores them in SQLite
        sites = [tuple(str(v) if hasattr(v, "isoformat") else v for v in r) for r in sites]
        cameras = [tuple(str(v) if hasattr(v, "isoformat") else v for v in r) for r in cameras]
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO anchor_sites VALUES ({', '.join('?' * 13)})", sites)
        conn.executemany(f"INSERT INTO anchor_cameras VALUES ({', '.join('?' * 18)})", cameras)
        conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            conn.execute(f"CREATE TABLE anchor_sites ({SITE_DDL.format(ts='timestamptz')})")
            conn.execute(f"CREATE TABLE anchor_cameras ({CAMERA_DDL.format(ts='timestamptz')})")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy("COPY anchor_sites FROM STDIN") as copy:
                    for r in sites:
                        copy.write_row(r)
                with cur.copy("COPY anchor_cameras FROM STDIN") as copy:
                    for r in cameras:
                        copy.write_row(r)
            conn.commit()
            seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(sites), "cameras": len(cameras), "peak_mib": _peak_mib()}


def run_child(mode: str, url: str, file: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--url", url, "--file", str(file)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- databases ----------------------------------------------------------------------------------


def fresh_sqlite(folder: Path, name: str) -> str:
    from gwanje.core.db import Database
    from gwanje.core.migrate import upgrade

    url = f"sqlite:///{folder / name}"
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return url


class TempPostgres:
    def __init__(self) -> None:
        import sqlalchemy as sa

        self.sa = sa
        admin = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
        self.admin = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.name = f"gwanje_bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        from gwanje.core.db import Database
        from gwanje.core.migrate import upgrade

        with self.admin.connect() as conn:
            conn.execute(self.sa.text(f'CREATE DATABASE "{self.name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        return url

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        with self.admin.connect() as conn:
            conn.execute(self.sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


# ---- search -------------------------------------------------------------------------------------


def bench_search(url: str, samples: list[dict], queries: int, seed: int = 7) -> dict:
    import sqlalchemy as sa

    from gwanje.core.db import Database
    from gwanje.registry.schemas import CameraQuery
    from gwanje.registry.service import search_cameras
    from gwanje.registry.standard import purpose_from_standard

    rnd = random.Random(seed)
    db = Database(url)
    cases = []
    for _ in range(queries):
        s = rnd.choice(samples)
        half_lat, half_lon = rnd.uniform(0.01, 0.05), rnd.uniform(0.01, 0.06)
        bbox = (s["lat"] - half_lat, s["lon"] - half_lon, s["lat"] + half_lat, s["lon"] + half_lon)
        cases.append(CameraQuery(q=s["road"], bbox=bbox, purpose=purpose_from_standard(s["purpose"]), limit=50))

    bare_count = sa.text(
        "SELECT count(*) FROM cameras WHERE status <> 'retired' AND search_text LIKE :q "
        "AND (primary_purpose = :p OR secondary_purposes LIKE :pp) "
        "AND latitude BETWEEN :s AND :n AND longitude BETWEEN :w AND :e"
    )
    bare_page = sa.text(
        "SELECT c.*, s.site_key, s.road_address, s.lot_address FROM cameras c JOIN sites s ON s.id = c.site_id "
        "WHERE c.status <> 'retired' AND c.search_text LIKE :q "
        "AND (c.primary_purpose = :p OR c.secondary_purposes LIKE :pp) "
        "AND c.latitude BETWEEN :s AND :n AND c.longitude BETWEEN :w AND :e "
        "ORDER BY c.management_number LIMIT 50"
    )

    def ours(case: CameraQuery) -> int:
        with db.reading() as session:
            result = search_cameras(session, case)
            return result.total

    def bare(case: CameraQuery) -> int:
        s, w, n, e = case.bbox
        params = {
            "q": f"%{case.q.lower()}%",
            "p": case.purpose,
            "pp": f"%,{case.purpose},%",
            "s": s,
            "n": n,
            "w": w,
            "e": e,
        }
        with db.reading() as session:
            total = session.execute(bare_count, params).scalar()
            session.execute(bare_page, params).all()
            return total

    def timed(fn) -> tuple[list[float], list[int]]:  # noqa: ANN001
        for case in cases[:20]:
            fn(case)  # warm up caches and the pool
        times, totals = [], []
        for case in cases:
            t = time.perf_counter()
            totals.append(fn(case))
            times.append((time.perf_counter() - t) * 1000)
        return times, totals

    our_times, our_totals = timed(ours)
    bare_times, bare_totals = timed(bare)
    with db.reading() as session:
        cameras = session.execute(sa.text("SELECT count(*) FROM cameras")).scalar()
    db.dispose()
    assert our_totals == bare_totals, "search and the bare query disagree"

    def pct(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]

    return {
        "cameras": cameras,
        "queries": len(cases),
        "hits_median": statistics.median(our_totals),
        "p50": statistics.median(our_times),
        "p99": pct(our_times, 99),
        "bare_p50": statistics.median(bare_times),
        "bare_p99": pct(bare_times, 99),
    }


# ---- main ---------------------------------------------------------------------------------------


def figure(
    name: str, value: float, unit: str, better: str, anchor: str, anchor_value: float, target: float | None
) -> dict:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "better": better,
        "anchor": anchor,
        "anchor_value": round(anchor_value, 2),
        "target": target,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20181)
    parser.add_argument("--child", choices=["import", "anchor"])
    parser.add_argument("--url")
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.child:
        fn = child_import if args.child == "import" else child_anchor
        print(json.dumps(fn(args.url, args.file)))
        return

    with tempfile.TemporaryDirectory(prefix="gwanje-bench-") as tmp:
        folder = Path(tmp)
        file = folder / "standard.csv"
        started = time.perf_counter()
        data = generate(file, args.rows, args.seed)
        print(
            f"generated {data['rows']:,} sites / {data['cameras']:,} cameras "
            f"({file.stat().st_size / 2**20:.1f} MiB, sha256 {data['sha256'][:12]}) "
            f"in {time.perf_counter() - started:.1f}s",
            flush=True,
        )

        results: dict[str, dict] = {}
        results["sqlite"] = run_child("import", fresh_sqlite(folder, "import.db"), file)
        results["sqlite_anchor"] = run_child("anchor", f"sqlite:///{folder / 'anchor.db'}", file)
        with TempPostgres() as url:
            results["postgresql"] = run_child("import", url, file)
            results["postgresql_anchor"] = run_child("anchor", url, file)
            search = bench_search(url, data["samples"], args.queries)

    rows = data["rows"]
    for key in ("sqlite", "postgresql"):
        r, a = results[key], results[f"{key}_anchor"]
        assert r["imported"] == rows and r["rejected"] == 0, r
        r["rate"], a["rate"] = r["rows"] / r["seconds"], a["rows"] / a["seconds"]

    print()
    print(f"{'figure':<34}{'ours':>14}{'anchor':>14}{'ours/anchor':>13}")
    for key, label in (("sqlite", "import rows/s sqlite"), ("postgresql", "import rows/s postgresql")):
        r, a = results[key], results[f"{key}_anchor"]
        print(
            f"{label:<34}{r['rate']:>14,.0f}{a['rate']:>14,.0f}{r['rate'] / a['rate']:>13.2f}"
            f"   ({r['seconds']:.2f}s vs {a['seconds']:.2f}s, {r['cameras']:,} cameras)"
        )
    for key in ("sqlite", "postgresql"):
        r, a = results[key], results[f"{key}_anchor"]
        print(
            f"{'import peak MiB ' + key:<34}{r['peak_mib']:>14.0f}{a['peak_mib']:>14.0f}"
            f"{r['peak_mib'] / a['peak_mib']:>13.2f}   (interpreter + imports before the import: "
            f"{r['baseline_mib']:.0f} MiB)"
        )
    print(
        f"{'search p50 ms @' + str(search['cameras']):<34}{search['p50']:>14.2f}{search['bare_p50']:>14.2f}"
        f"{search['p50'] / search['bare_p50']:>13.2f}"
    )
    print(
        f"{'search p99 ms @' + str(search['cameras']):<34}{search['p99']:>14.2f}{search['bare_p99']:>14.2f}"
        f"{search['p99'] / search['bare_p99']:>13.2f}   ({search['queries']} queries: text + bbox + purpose, "
        f"median {search['hits_median']:.0f} hits, PostgreSQL)"
    )
    print()

    peak_key = max(("sqlite", "postgresql"), key=lambda k: results[k]["peak_mib"])
    figures = [
        figure(
            "import rows/s sqlite",
            results["sqlite"]["rate"],
            "rows/s",
            "higher",
            "bare sqlite3 executemany into plain tables, same parsed rows",
            results["sqlite_anchor"]["rate"],
            None,
        ),
        figure(
            "import rows/s postgresql",
            results["postgresql"]["rate"],
            "rows/s",
            "higher",
            "bare psycopg COPY into plain tables, same parsed rows",
            results["postgresql_anchor"]["rate"],
            20000,
        ),
        figure(
            "import peak MiB",
            results[peak_key]["peak_mib"],
            "MiB",
            "lower",
            f"bare bulk insert process ({peak_key}), whole file parsed in memory",
            results[f"{peak_key}_anchor"]["peak_mib"],
            None,
        ),
        figure(
            "search p99 ms @100k",
            search["p99"],
            "ms",
            "lower",
            "equivalent bare SQL (count + first page), PostgreSQL",
            search["bare_p99"],
            50,
        ),
        figure(
            "search p50 ms @100k",
            search["p50"],
            "ms",
            "lower",
            "equivalent bare SQL (count + first page), PostgreSQL",
            search["bare_p50"],
            None,
        ),
    ]
    for f in figures:
        print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
