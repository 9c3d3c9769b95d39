"""Situations benchmark, part 1: nearest cameras and hot-list plate matching.

    .venv/bin/python bench/situations_nearest_hotlist.py [--no-postgis] [--queries 10000]

* nearest-10: :class:`gwanje.registry.spatial.CameraIndex` over 1,069 (a Seongdong-sized district),
  110,000 (Seoul) and 1,600,000 (the nation, clustered around cities) deterministic camera
  positions, cameras 1–4 to a pole as in the registry. Index build time (the numba kernels are
  loaded once before, and that time printed apart), then median and p99 µs
  of one 10-nearest query (one call, from Python floats to the list of (id, metres)) over 10,000
  query points drawn from the same distribution (incidents happen where cameras are).
  Anchor, same run, same points: PostGIS ``ORDER BY geom <-> point LIMIT 10`` on a GiST index
  in a temporary database (dropped afterwards), a prepared statement from psycopg over
  127.0.0.1, 2,000 of the same query points. Needs the ``postgresql-15-postgis-3`` apt package;
  without it the anchor is printed as unavailable.
* hot list: :class:`gwanje.situations.hotlist.rules.HotList` with 1,000,000 generated plates; 200,000
  reads (1% listed plates, 1% listed plates with one OCR-confused character, the rest other
  plates), single-threaded reads/s. Anchor: plain ``read in set`` over the same reads.

Prints a table, then one JSON object per figure per line. PostgreSQL: ``GWANJE_BENCH_PG``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``), the same as bench/registry.py.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

import numpy as np

from gwanje.registry import spatial
from gwanje.registry.spatial import CameraIndex
from gwanje.situations.hotlist.rules import CONFUSABLE, HotList

PG_ADMIN = os.environ.get("GWANJE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

# (lat, lon, weight, spread in degrees): the larger cities of bench/registry.py
CITIES = [
    (37.5665, 126.9780, 30, 0.08),
    (35.1796, 129.0756, 10, 0.06),
    (37.4563, 126.7052, 8, 0.05),
    (35.8714, 128.6014, 7, 0.05),
    (36.3504, 127.3845, 5, 0.04),
    (35.1595, 126.8526, 5, 0.04),
    (35.5384, 129.3114, 3, 0.04),
    (37.2636, 127.0286, 8, 0.05),
    (33.4996, 126.5312, 3, 0.04),
    (37.8813, 127.7298, 2, 0.03),
    (35.8242, 127.1480, 3, 0.03),
    (36.6424, 127.4890, 3, 0.03),
    (36.0190, 129.3435, 2, 0.03),
    (37.7519, 128.8761, 2, 0.03),
    (35.2281, 128.6811, 4, 0.04),
]
SEONGDONG_BOX = (37.535, 37.575, 127.010, 127.075)
SEOUL_BOX = (37.430, 37.700, 126.765, 127.180)
KOREA_BOX = (34.60, 38.20, 126.30, 129.30)
SCALES = [("1.069k", 1_069, "district"), ("110k", 110_000, "seoul"), ("1.6M", 1_600_000, "nation")]
TARGET_NEAREST = "median ≤ 30 µs and ≥ 10× faster than PostGIS, index built in ≤ 2 s (at 1.6M)"
TARGET_HOTLIST = "≥ 100,000 reads/s on one core"


# ---- nearest: data --------------------------------------------------------------------------------


def _positions(rng: np.random.Generator, n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "district":
        s, n_, w, e = SEONGDONG_BOX
        return rng.uniform(s, n_, n), rng.uniform(w, e, n)
    if kind == "seoul":
        s, n_, w, e = SEOUL_BOX
        lat, lon = rng.uniform(s, n_, n), rng.uniform(w, e, n)
        dense = rng.random(n) < 0.6  # busier districts: clusters around 25 centres
        centres_lat, centres_lon = rng.uniform(s, n_, 25), rng.uniform(w, e, 25)
        c = rng.integers(0, 25, dense.sum())
        lat[dense] = np.clip(centres_lat[c] + rng.normal(0, 0.02, len(c)), s, n_)
        lon[dense] = np.clip(centres_lon[c] + rng.normal(0, 0.025, len(c)), w, e)
        return lat, lon
    s, n_, w, e = KOREA_BOX
    weights = np.array([c[2] for c in CITIES], dtype=float)
    city = rng.choice(len(CITIES), n, p=weights / weights.sum())
    clat = np.array([c[0] for c in CITIES])[city]
    clon = np.array([c[1] for c in CITIES])[city]
    spread = np.array([c[3] for c in CITIES])[city]
    lat = clat + rng.normal(0, 1, n) * spread
    lon = clon + rng.normal(0, 1, n) * spread * 1.25
    rural = rng.random(n) < 0.1  # cameras away from cities
    lat[rural], lon[rural] = rng.uniform(s, n_, rural.sum()), rng.uniform(w, e, rural.sum())
    return lat, lon


def camera_points(n: int, kind: str, seed: int = 20181) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n cameras on poles of 1–4 cameras (same position), rounded to 1e-7° like the standard data."""
    rng = np.random.default_rng(seed)
    per_pole = rng.choice([1, 1, 1, 2, 2, 3, 4], n)
    poles = int(np.searchsorted(np.cumsum(per_pole), n)) + 1
    per_pole = per_pole[:poles]
    per_pole[-1] -= int(per_pole.sum()) - n
    plat, plon = _positions(rng, poles, kind)
    lat = np.round(np.repeat(plat, per_pole), 7)
    lon = np.round(np.repeat(plon, per_pole), 7)
    ids = np.arange(1, n + 1, dtype=np.int64)
    return ids, lat, lon


def query_points(n: int, kind: str, seed: int = 7) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lat, lon = _positions(rng, n, kind)
    lat = lat + rng.normal(0, 0.002, n)  # an incident near, not at, a camera position
    lon = lon + rng.normal(0, 0.002, n)
    return list(zip(lat.tolist(), lon.tolist()))


# ---- nearest: PostGIS anchor ------------------------------------------------------------------------


class PostGIS:
    """A temporary database with PostGIS; dropped by close()."""

    def __init__(self):
        import psycopg

        self.psycopg = psycopg
        self.db = f"gwanje_bench_nearest_{uuid.uuid4().hex[:8]}"
        self.admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
        self.admin.execute(f'CREATE DATABASE "{self.db}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.db
        self.conn = psycopg.connect(url, autocommit=True)
        try:
            self.conn.execute("CREATE EXTENSION postgis")
        except Exception:
            self.close()
            raise
        self.version = self.conn.execute("SELECT postgis_lib_version()").fetchone()[0]

    def load(self, table: str, ids: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> float:
        t0 = time.perf_counter()
        c = self.conn
        c.execute(f"CREATE UNLOGGED TABLE {table}_raw (id integer, lon float8, lat float8)")
        with c.cursor() as cur, cur.copy(f"COPY {table}_raw (id, lon, lat) FROM STDIN") as copy:
            buf = []
            for i, lo, la in zip(ids.tolist(), lon.tolist(), lat.tolist()):
                buf.append(f"{i}\t{lo!r}\t{la!r}\n")
                if len(buf) >= 50_000:
                    copy.write("".join(buf))
                    buf.clear()
            copy.write("".join(buf))
        c.execute(
            f"CREATE TABLE {table} AS SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326)"
            f" AS geom FROM {table}_raw"
        )
        c.execute(f"DROP TABLE {table}_raw")
        c.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        c.execute(f"CREATE INDEX ON {table} USING gist (geom)")
        c.execute(f"VACUUM ANALYZE {table}")
        return time.perf_counter() - t0

    def time_queries(self, table: str, points: list[tuple[float, float]]) -> tuple[list[float], list[list[int]]]:
        sql = f"SELECT id FROM {table} ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 10"
        times, results = [], []
        with self.conn.cursor() as cur:
            for lat, lon in points[:100]:  # warm up: plan preparation, cache
                cur.execute(sql, (lon, lat), prepare=True)
                cur.fetchall()
            for lat, lon in points:
                t0 = time.perf_counter_ns()
                cur.execute(sql, (lon, lat), prepare=True)
                rows = cur.fetchall()
                times.append((time.perf_counter_ns() - t0) / 1000)
                results.append([r[0] for r in rows])
        return times, results

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        self.admin.close()


POSTGIS_PACKAGE = "postgresql-15-postgis-3"


def _install_postgis() -> bool:
    """The anchor needs PostGIS: install Debian's package when it is missing (root or sudo)."""
    if subprocess.run(["dpkg", "-s", POSTGIS_PACKAGE], capture_output=True).returncode == 0:
        return False
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print(f"installing the anchor: apt-get install {POSTGIS_PACKAGE}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", POSTGIS_PACKAGE],
        capture_output=True,
        env=env,
    )
    return done.returncode == 0


def _open_postgis() -> tuple[PostGIS | None, str]:
    try:
        try:
            pg = PostGIS()
        except Exception:  # the extension may only be missing: install it and retry once (re-raised)
            if not _install_postgis():
                raise
            pg = PostGIS()
    except Exception as exc:  # noqa: BLE001 - no server, or no postgis package
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"PostGIS unavailable: {reason} (apt-get install postgresql-15-postgis-3)"
    return pg, f"PostGIS {pg.version}"


# ---- nearest: the figures -----------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bench_nearest(queries: int = 10_000, pg_queries: int = 2_000, postgis: bool = True) -> list[dict]:
    pg, pg_label = _open_postgis() if postgis else (None, "PostGIS skipped (--no-postgis)")
    figures = []
    # once per process: import numba and load the compiled kernels from its disk cache (or compile
    # them, several seconds, the first time after a change); reported apart from the index builds
    t0 = time.perf_counter()
    spatial._kernels()
    kernels_s = time.perf_counter() - t0
    try:
        for label, n, kind in SCALES:
            ids, lat, lon = camera_points(n, kind)
            gc.collect()
            t0 = time.perf_counter()
            index = CameraIndex.build(ids, lat, lon)
            build_s = time.perf_counter() - t0
            points = query_points(queries, kind)
            for qlat, qlon in points[:200]:  # warm up
                index.nearest(qlat, qlon, 10)
            times = []
            nearest = index.nearest
            clock = time.perf_counter_ns
            gc.disable()
            try:
                for qlat, qlon in points:
                    t0 = clock()
                    nearest(qlat, qlon, 10)
                    times.append((clock() - t0) / 1000)
            finally:
                gc.enable()
            median, p99 = statistics.median(times), _pct(times, 0.99)
            anchor = {"value": None, "p99": None, "load_s": None, "agree": None}
            if pg is not None:
                table = f"cams_{n}"
                anchor["load_s"] = pg.load(table, ids, lat, lon)
                pg_times, pg_results = pg.time_queries(table, points[:pg_queries])
                anchor["value"], anchor["p99"] = statistics.median(pg_times), _pct(pg_times, 0.99)
                # PostGIS orders by planar degrees, we by metres: the sets mostly, not always, agree.
                same = sum(
                    set(r) == {cid for cid, _ in index.nearest(qlat, qlon, 10)}
                    for r, (qlat, qlon) in zip(pg_results, points)
                )
                anchor["agree"] = same / len(pg_results)
                pg.conn.execute(f"DROP TABLE {table}")
            figures.append(
                {
                    "name": f"nearest-10 µs @{label}",
                    "value": round(median, 2),
                    "unit": "µs",
                    "better": "lower",
                    "anchor": (
                        f"{pg_label}: ORDER BY geom <-> point LIMIT 10 (GiST), prepared, psycopg over 127.0.0.1"
                        if pg is not None
                        else pg_label
                    ),
                    "anchor_value": round(anchor["value"], 2) if anchor["value"] is not None else None,
                    "target": TARGET_NEAREST if n == 1_600_000 else None,
                    "_cameras": n,
                    "_build_s": build_s,
                    "_p99": p99,
                    "_anchor": anchor,
                    "_kernels_s": kernels_s,
                }
            )
            del index
    finally:
        if pg is not None:
            pg.close()
    return figures


# ---- hot list -------------------------------------------------------------------------------------------

SYLLABLES = list("가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자") + ["하", "허", "호", "배"]
REGIONS = [
    "서울",
    "부산",
    "대구",
    "인천",
    "광주",
    "대전",
    "울산",
    "경기",
    "강원",
    "충북",
    "충남",
    "전북",
    "전남",
    "경북",
    "경남",
    "제주",
]


def _plate(rnd: random.Random) -> str:
    r = rnd.random()
    syl = rnd.choice(SYLLABLES)
    tail = f"{rnd.randrange(10000):04d}"
    if r < 0.75:
        return f"{rnd.randrange(100, 1000)}{syl}{tail}"
    if r < 0.95:
        return f"{rnd.randrange(10, 100)}{syl}{tail}"
    return f"{rnd.choice(REGIONS)}{rnd.randrange(10, 100)}{syl}{tail}"


def hotlist_data(plates: int = 1_000_000, reads: int = 200_000, seed: int = 112) -> tuple:
    rnd = random.Random(seed)
    listed: dict[str, None] = {}
    while len(listed) < plates:
        listed[_plate(rnd)] = None
    listed_list = list(listed)
    entries = [(p, "stolen" if i % 3 else "wanted", f"2024-{i:07d}", "") for i, p in enumerate(listed_list)]
    out, exact, confused = [], 0, 0
    for _ in range(reads):
        r = rnd.random()
        if r < 0.01:
            out.append(rnd.choice(listed_list))
            exact += 1
        elif r < 0.02:
            p = rnd.choice(listed_list)
            positions = [i for i, ch in enumerate(p) if ch in CONFUSABLE]
            i = rnd.choice(positions)
            out.append(p[:i] + rnd.choice(sorted(CONFUSABLE[p[i]])) + p[i + 1 :])
            confused += 1
        else:
            while True:
                p = _plate(rnd)
                if p not in listed:
                    break
            out.append(p)
    return entries, out, exact, confused


def bench_hotlist(plates: int = 1_000_000, reads: int = 200_000, repeats: int = 3) -> dict:
    entries, read_list, exact, confused = hotlist_data(plates, reads)
    t0 = time.perf_counter()
    hot = HotList.build(entries)
    build_s = time.perf_counter() - t0
    plate_set = {e[0] for e in entries}
    del entries
    gc.collect()
    match = hot.match
    best = anchor_best = float("inf")
    found = None
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            results = [match(r) for r in read_list]
            best = min(best, time.perf_counter() - t0)
            found = results
            t0 = time.perf_counter()
            hits = [r in plate_set for r in read_list]
            anchor_best = min(anchor_best, time.perf_counter() - t0)
    finally:
        gc.enable()
    kinds = {"exact": 0, "confusable": 0}
    for m in found:
        if m is not None:
            kinds[m.kind] += 1
    return {
        "name": "hotlist reads/s",
        "value": round(reads / best),
        "unit": "reads/s",
        "better": "higher",
        "anchor": "exact set lookup (read in set) of the same reads, one core",
        "anchor_value": round(reads / anchor_best),
        "target": TARGET_HOTLIST,
        "_plates": plates,
        "_reads": reads,
        "_build_s": build_s,
        "_injected": (exact, confused),
        "_found": kinds,
        "_anchor_hits": sum(hits),
    }


# ---- main ---------------------------------------------------------------------------------------------------


def _public(figure: dict) -> dict:
    return {k: v for k, v in figure.items() if not k.startswith("_")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--pg-queries", type=int, default=2_000)
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--only", choices=["nearest", "hotlist"])
    args = ap.parse_args(argv)
    figures = []
    if args.only != "hotlist":
        nearest = bench_nearest(args.queries, args.pg_queries, postgis=not args.no_postgis)
        print(f"\nnearest-10 ({args.queries:,} queries; PostGIS {args.pg_queries:,} of the same)")
        print(
            f"{'cameras':>10} {'build s':>8} {'median µs':>10} {'p99 µs':>8} {'PostGIS median':>15} "
            f"{'PostGIS p99':>12} {'× faster':>9} {'PG load s':>10} {'same top-10':>12}"
        )
        for f in nearest:
            a = f["_anchor"]
            if a["value"] is None:
                pg = f"{'unavailable':>15} {'':>12} {'':>9} {'':>10} {'':>12}"
            else:
                pg = (
                    f"{a['value']:>15.1f} {a['p99']:>12.1f} {a['value'] / f['value']:>9.1f} "
                    f"{a['load_s']:>10.1f} {a['agree']:>11.1%}"
                )
            print(f"{f['_cameras']:>10,} {f['_build_s']:>8.3f} {f['value']:>10.1f} {f['_p99']:>8.1f} {pg}")
        print(
            f"  kernels loaded once per process before the builds: {nearest[0]['_kernels_s']:.2f} s "
            "(numba import and its disk cache; a first compile takes several seconds)"
        )
        if nearest[0]["anchor_value"] is None:
            print(f"  anchor: {nearest[0]['anchor']}")
        figures += nearest
    if args.only != "nearest":
        h = bench_hotlist()
        print(f"\nhot list ({h['_plates']:,} plates, {h['_reads']:,} reads, best of 3, one thread)")
        print(
            f"  build {h['_build_s']:.2f} s; injected exact/confusable {h['_injected'][0]:,}/{h['_injected'][1]:,}; "
            f"found exact {h['_found']['exact']:,}, confusable {h['_found']['confusable']:,}"
        )
        print(f"  HotList.match {h['value']:>12,} reads/s   anchor (in set) {h['anchor_value']:>12,} reads/s")
        figures.append(h)
    print()
    for f in figures:
        print(json.dumps(_public(f), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
