"""In-memory nearest-camera index: k-nearest and within-radius over the whole registry.

Cameras are bucketed in a uniform latitude/longitude grid (points sorted by cell, one offsets array,
about two cameras per cell on average) and each query is a ring search from the query's cell,
compiled with numba: the cells of ring 0, 1, 2, ... are scanned, keeping the best candidates by
the straight-line (chord) distance between unit vectors on the sphere, until no camera outside the
rings scanned can be nearer than the k-th found. That bound is exact on the sphere: a camera beyond
a parallel is at least the latitude difference away, one beyond a meridian at least
``asin(cos φ · sin Δλ)``, with the wrap at ±180° taken into account. The chord is a monotone
function of the great-circle distance, ``d = 2R·asin(chord/2)``, so the k nearest by chord are
exactly the k nearest by haversine distance, and the metres returned are that same haversine
distance (R = 6,371,008.8 m, the mean radius also used by :func:`gwanje.registry.rules.haversine_m`).

Without numba the same kernels run as plain Python (identical answers, far slower); a warning is
logged once.

Ties are common in real data (a pole carries several cameras at one position); distances are
rounded to the millimetre and results sorted by distance, then camera id, so a tie at the k-th
place is resolved by id rather than by the scan's visiting order.

:class:`CameraIndex` is pure (no I/O). :class:`CameraIndexCache` is the one piece that reads the
database: it builds the index lazily and rebuilds it after :meth:`CameraIndexCache.invalidate`,
so request handlers can share one index.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gwanje.korean import with_particle
from gwanje.registry.events import CAMERA_SET_CHANGES
from gwanje.registry.rules import bearing_deg, compass_ko_en

if TYPE_CHECKING:
    from gwanje.core.db import Database

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
MAX_K = 1000
MAX_RADIUS_M = 50_000.0
# Metres are rounded to the millimetre, so two cameras at the same distance compare equal whatever
# the rounding of their coordinates, and the tie goes to the lower id. Candidates whose chord is
# within this margin (≈1.3 mm on the ground) of the k-th are fetched and ranked in metres too.
_TIE_MARGIN = 2e-10
_EXTRA = 3  # candidates beyond k: a pole rarely carries more than 4 cameras, so a tie at the k-th
# place seldom needs a second query

# ---- helpers --------------------------------------------------------------------------------------


def _coordinate(lat: float, lon: float) -> tuple[float, float]:
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValueError(
            f"위경도는 숫자여야 합니다 / latitude and longitude must be numbers: {lat!r}, {lon!r}"
        ) from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        raise ValueError(f"위경도가 유한한 값이 아닙니다 / latitude and longitude must be finite: {lat!r}, {lon!r}")
    if not (-90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0):
        raise ValueError(
            f"위경도 범위를 벗어났습니다 / latitude must be in [-90, 90] and longitude in [-180, 180]: {lat_f}, {lon_f}"
        )
    return lat_f, lon_f


def _positive_metres(value: float, name: str, upper: float | None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{with_particle(name, '은/는')} 숫자여야 합니다 / {name} must be a number: {value!r}"
        ) from None
    if not math.isfinite(v) or v <= 0 or (upper is not None and v > upper):
        bound = f"0 < {name} ≤ {upper:,.0f} m" if upper is not None else f"{name} > 0"
        raise ValueError(f"{name} 값이 범위를 벗어났습니다 / {name} out of range ({bound}): {value!r}")
    return v


def _chord_of(metres: float) -> float:
    return 2.0 * math.sin(min(metres / (2.0 * EARTH_RADIUS_M), math.pi / 2))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on the mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# ---- the kernels ----------------------------------------------------------------------------------
#
# Written in the subset of Python that numba compiles; :func:`_kernels` compiles them on first use
# (cached on disk), or hands them back as they are when numba is missing. The grid is
# ``(lat0, lon0, dlat, dlon, nlat, nlon)``: cell (i, j) holds latitudes from lat0 + i·dlat and
# longitudes from lon0 + j·dlon, cell number i·nlon + j; ``start[c]:start[c + 1]`` are its points
# in ``pts`` (unit vectors, sorted by cell).

_ANGLE_SLACK = 1e-11  # radians (0.06 mm) off every bound, for the rounding of cell edges and vectors


def _outside_bound2(qlat, qlon, cosq, ci, cj, r, nlat, nlon, lat0, lon0, dlat, dlon):
    """The chord² that every point outside rings 0..r around cell (ci, cj) is at least away from
    the query; -1 when no cell is outside (the whole grid has been scanned)."""
    ang = 10.0
    if ci + r < nlat - 1:  # rows above: latitude ≥ that edge
        a = math.radians(lat0 + (ci + r + 1) * dlat - qlat)
        if a < ang:
            ang = a
    if ci - r > 0:  # rows below
        a = math.radians(qlat - (lat0 + (ci - r) * dlat))
        if a < ang:
            ang = a
    if cj + r < nlon - 1:  # columns east, up to the grid's east edge (or west of the query across ±180°)
        d = min(lon0 + (cj + r + 1) * dlon - qlon, 360.0 - (lon0 + nlon * dlon - qlon))
        a = math.asin(cosq * math.sin(math.radians(min(max(d, 0.0), 90.0))))
        if a < ang:
            ang = a
    if cj - r > 0:  # columns west
        d = min(qlon - (lon0 + (cj - r) * dlon), 360.0 - (qlon - lon0))
        a = math.asin(cosq * math.sin(math.radians(min(max(d, 0.0), 90.0))))
        if a < ang:
            ang = a
    if ang == 10.0:
        return -1.0
    ang -= _ANGLE_SLACK
    if ang <= 0.0:
        return 0.0
    c = 2.0 * math.sin(0.5 * ang)
    return c * c


def _query_cell(grid, qlat, qlon):
    lat0, lon0, dlat, dlon = grid[0], grid[1], grid[2], grid[3]
    nlat, nlon = int(grid[4]), int(grid[5])
    la, lo = math.radians(qlat), math.radians(qlon)
    cosq = math.cos(la)
    ci = min(max(int(math.floor((qlat - lat0) / dlat)), 0), nlat - 1)
    cj = min(max(int(math.floor((qlon - lon0) / dlon)), 0), nlon - 1)
    return cosq * math.cos(lo), cosq * math.sin(lo), math.sin(la), cosq, ci, cj


def _round_mm(x):
    """``round(x, 3)`` exactly as Python rounds (the exact binary value to the nearest thousandth,
    ties to even), for 0 ≤ x < 2**42."""
    y = x * 1000.0
    f = math.floor(y)
    d = y - f  # exact
    if d > 0.5:
        f += 1.0
    elif d == 0.5:  # x·1000 rounded onto a half: its rounding error (Dekker's product) decides
        t = 134217729.0 * x
        hi = t - (t - x)
        err = (hi * 1000.0 - y) + (x - hi) * 1000.0
        if err > 0.0 or (err == 0.0 and f % 2.0 == 1.0):
            f += 1.0
    return f / 1000.0


def _metres(d2):
    c = math.sqrt(d2) * 0.5
    return _round_mm(2.0 * EARTH_RADIUS_M * math.asin(c if c < 1.0 else 1.0))


def _scan_nearest(pts, start, grid, qlat, qlon, k, cap, max2, bd, bi):
    """Fill bd/bi with the (up to) ``cap`` points nearest the query by chord², sorted; return how many.
    Points beyond ``max2`` are skipped. Exact for every point within _TIE_MARGIN of the k-th chord,
    as long as fewer than ``cap`` points are that near."""
    lat0, lon0, dlat, dlon = grid[0], grid[1], grid[2], grid[3]
    nlat, nlon = int(grid[4]), int(grid[5])
    qx, qy, qz, cosq, ci, cj = _query_cell(grid, qlat, qlon)
    m = 0
    r = 0
    while True:
        for i in range(max(ci - r, 0), min(ci + r, nlat - 1) + 1):
            step = 1 if (i == ci - r or i == ci + r) else 2 * r  # inner rows: only the two ends
            for j in range(cj - r, cj + r + 1, step):
                if j < 0 or j >= nlon:
                    continue
                c = i * nlon + j
                for p in range(start[c], start[c + 1]):
                    dx = pts[p, 0] - qx
                    dy = pts[p, 1] - qy
                    dz = pts[p, 2] - qz
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 > max2:
                        continue
                    if m < cap:
                        s = m
                        m += 1
                    elif d2 < bd[cap - 1]:
                        s = cap - 1
                    else:
                        continue
                    while s > 0 and bd[s - 1] > d2:
                        bd[s] = bd[s - 1]
                        bi[s] = bi[s - 1]
                        s -= 1
                    bd[s] = d2
                    bi[s] = p
        b2 = _outside_bound2(qlat, qlon, cosq, ci, cj, r, nlat, nlon, lat0, lon0, dlat, dlon)
        if b2 < 0.0:
            return m
        limit = max2
        if m >= k:
            t = math.sqrt(bd[k - 1]) + _TIE_MARGIN
            if t * t < limit:
                limit = t * t
        if b2 > limit:
            return m
        r += 1


def _knn(pts, start, ids, grid, qlat, qlon, k, max_m, max2):
    """The k nearest: (camera ids, metres to the millimetre), sorted by metres then id, only those
    within ``max_m`` metres; chord² ``max2`` bounds the search (a little beyond max_m)."""
    n = len(ids)
    cap = min(k + _EXTRA, n)
    while True:
        bd = np.empty(cap)
        bi = np.empty(cap, dtype=np.int64)
        m = _scan_nearest(pts, start, grid, qlat, qlon, k, cap, max2, bd, bi)
        if m < cap or cap >= n:
            break
        t = math.sqrt(bd[k - 1]) + _TIE_MARGIN
        if bd[cap - 1] > t * t:
            break
        cap = min(cap * 2, n)  # the k-th place is tied with everything kept: keep more
    use = m
    if m > k:  # the k-th and anything that may round to its millimetre
        t = math.sqrt(bd[k - 1]) + _TIE_MARGIN
        use = k
        while use < m and bd[use] <= t * t:
            use += 1
    out_id = np.empty(use, dtype=np.int64)
    out_m = np.empty(use)
    for s in range(use):  # insertion sort by (metres, id): ties are rare and short
        metres = _metres(bd[s])
        cid = ids[bi[s]]
        u = s
        while u > 0 and (out_m[u - 1] > metres or (out_m[u - 1] == metres and out_id[u - 1] > cid)):
            out_m[u] = out_m[u - 1]
            out_id[u] = out_id[u - 1]
            u -= 1
        out_m[u] = metres
        out_id[u] = cid
    keep = min(use, k)
    while keep > 0 and out_m[keep - 1] > max_m:
        keep -= 1
    return out_id[:keep], out_m[:keep]


def _ball(pts, start, ids, grid, qlat, qlon, radius_m, max2):
    """Every camera within ``radius_m`` metres: (camera ids, metres), unsorted; chord² ``max2``
    bounds the search (a little beyond radius_m)."""
    lat0, lon0, dlat, dlon = grid[0], grid[1], grid[2], grid[3]
    nlat, nlon = int(grid[4]), int(grid[5])
    qx, qy, qz, cosq, ci, cj = _query_cell(grid, qlat, qlon)
    size = 64
    bi = np.empty(size, dtype=np.int64)
    bd = np.empty(size)
    m = 0
    r = 0
    while True:
        for i in range(max(ci - r, 0), min(ci + r, nlat - 1) + 1):
            step = 1 if (i == ci - r or i == ci + r) else 2 * r
            for j in range(cj - r, cj + r + 1, step):
                if j < 0 or j >= nlon:
                    continue
                c = i * nlon + j
                for p in range(start[c], start[c + 1]):
                    dx = pts[p, 0] - qx
                    dy = pts[p, 1] - qy
                    dz = pts[p, 2] - qz
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 <= max2:
                        if m == size:
                            size *= 2
                            nbi = np.empty(size, dtype=np.int64)
                            nbd = np.empty(size)
                            nbi[:m] = bi[:m]
                            nbd[:m] = bd[:m]
                            bi, bd = nbi, nbd
                        bi[m] = p
                        bd[m] = d2
                        m += 1
        b2 = _outside_bound2(qlat, qlon, cosq, ci, cj, r, nlat, nlon, lat0, lon0, dlat, dlon)
        if b2 < 0.0 or b2 > max2:
            break
        r += 1
    found_id = np.empty(m, dtype=np.int64)
    found_m = np.empty(m)
    keep = 0
    for s in range(m):
        metres = _metres(bd[s])
        if metres <= radius_m:
            found_id[keep] = ids[bi[s]]
            found_m[keep] = metres
            keep += 1
    return found_id[:keep], found_m[:keep]


_compiled: tuple | None = None
_compile_lock = threading.Lock()


def _kernels() -> tuple:
    """(k-nearest, ball) kernels: compiled by numba on first use (cached on disk) and warmed up, or
    the plain Python functions when numba is missing."""
    global _compiled, _outside_bound2, _query_cell, _round_mm, _metres, _scan_nearest
    if _compiled is not None:
        return _compiled
    with _compile_lock:
        if _compiled is not None:
            return _compiled
        try:
            import numba
        except ImportError:
            log.warning(
                "numba가 없어 카메라 색인이 느리게 동작합니다 / numba is not installed: "
                "the camera index runs as plain Python, far slower"
            )
            _compiled = (_knn, _ball)
            return _compiled

        def jit(f, **kw):
            try:
                return numba.njit(cache=True, **kw)(f)
            except RuntimeError:  # no writable cache directory: compile in memory every time
                return numba.njit(**kw)(f)

        # the kernels call these helpers through the module's names, so those are compiled first
        _outside_bound2 = jit(_outside_bound2)
        _query_cell = jit(_query_cell)
        _round_mm = jit(_round_mm)
        _metres = jit(_metres)
        _scan_nearest = jit(_scan_nearest)
        knn, ball = jit(_knn), jit(_ball)
        pts, start, ids = np.zeros((1, 3)), np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int64)
        grid = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
        knn(pts, start, ids, grid, 0.5, 0.5, 1, math.inf, math.inf)
        ball(pts, start, ids, grid, 0.5, 0.5, 1.0, 1.0)
        _compiled = (knn, ball)
        return _compiled


# ---- the index ------------------------------------------------------------------------------------

_PER_CELL = 2.0  # cameras per cell on average over the bounding box (measured: 1 to 8 query about alike)


class CameraIndex:
    """An immutable k-nearest / within-radius index over camera positions."""

    __slots__ = ("_ids", "_pts", "_start", "_grid", "_n", "_knn", "_ball")

    def __init__(self, ids: np.ndarray, lat: np.ndarray, lon: np.ndarray):
        """``ids`` int64, ``lat``/``lon`` float64 degrees, all checked (see :meth:`build`)."""
        n = self._n = len(ids)
        self._knn, self._ball = _kernels()
        if n == 0:
            self._ids = ids
            self._pts, self._start = np.zeros((0, 3)), np.zeros(2, dtype=np.int64)
            self._grid = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
            return
        lat0, lat1 = float(lat.min()), float(lat.max())
        lon0, lon1 = float(lon.min()), float(lon.max())
        h = max(lat1 - lat0, 1e-6)
        w = max(lon1 - lon0, 1e-6)
        aspect = max(math.cos(math.radians((lat0 + lat1) / 2)), 0.05)  # ground length of a degree of longitude
        cells = max(1, int(n / _PER_CELL))
        side = math.sqrt(h * w * aspect / cells)  # in degrees of latitude
        nlat = min(max(int(h / side), 1), cells)  # ≤ 3·cells + 1 cells in all, however elongated
        nlon = min(max(int(w * aspect / side), 1), cells)
        dlat, dlon = h / nlat * (1 + 1e-12), w / nlon * (1 + 1e-12)
        key = np.floor((lat - lat0) * (1 / dlat)).astype(np.int64)
        np.clip(key, 0, nlat - 1, out=key)
        key *= nlon
        cj = np.floor((lon - lon0) * (1 / dlon)).astype(np.int64)
        np.clip(cj, 0, nlon - 1, out=cj)
        key += cj
        del cj
        order = np.argsort(key, kind="stable")
        start = np.zeros(nlat * nlon + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=nlat * nlon), out=start[1:])
        del key
        la, lo = np.radians(lat[order]), np.radians(lon[order])
        cos_la = np.cos(la)
        pts = np.empty((n, 3))
        pts[:, 0] = cos_la * np.cos(lo)
        pts[:, 1] = cos_la * np.sin(lo)
        pts[:, 2] = np.sin(la)
        self._pts, self._start = pts, start
        self._grid = np.array([lat0, lon0, dlat, dlon, float(nlat), float(nlon)])
        self._ids = ids[order]

    @classmethod
    def build(cls, ids: Sequence[int], lats: Sequence[float], lons: Sequence[float]) -> CameraIndex:
        """Build from parallel sequences (lists or arrays); ids must be unique integers."""
        id_arr = np.asarray(ids)
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        if id_arr.ndim != 1 or lat.ndim != 1 or lon.ndim != 1 or not (len(id_arr) == len(lat) == len(lon)):
            raise ValueError(
                "ids, lats, lons는 같은 길이의 1차원 목록이어야 합니다 / "
                f"ids, lats and lons must be 1-D and equally long ({len(id_arr)}, {len(lat)}, {len(lon)})"
            )
        if len(id_arr) == 0:
            return cls(np.empty(0, dtype=np.int64), lat, lon)
        if not np.issubdtype(id_arr.dtype, np.integer):
            raise ValueError(f"카메라 id는 정수여야 합니다 / camera ids must be integers (got {id_arr.dtype})")
        id_arr = id_arr.astype(np.int64, copy=False)
        # ids from the table are usually increasing: check that in O(n) before sorting a copy
        if not (id_arr[1:] > id_arr[:-1]).all() and (np.diff(np.sort(id_arr)) == 0).any():
            raise ValueError("카메라 id가 중복되었습니다 / camera ids must be unique")
        bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"카메라 {int(id_arr[i])}의 위경도가 잘못되었습니다 / camera {int(id_arr[i])} has an "
                f"invalid position: {lat[i]}, {lon[i]}"
            )
        return cls(id_arr, lat, lon)

    def __len__(self) -> int:
        return self._n

    bearing_deg = staticmethod(bearing_deg)
    compass_ko_en = staticmethod(compass_ko_en)

    def nearest(self, lat: float, lon: float, k: int = 10, max_m: float | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest cameras as (camera id, metres to the millimetre), sorted by distance then
        id; only those within ``max_m`` metres when given (fewer than k, possibly none)."""
        # The common call (int k, float position) is checked with plain comparisons, which also
        # refuse NaN and infinities; anything else goes through the full conversion and messages.
        if k.__class__ is not int:
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
                raise ValueError(f"k는 정수여야 합니다 / k must be an integer: {k!r}")
            k = int(k)
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k는 1 이상 {MAX_K} 이하여야 합니다 / k must be between 1 and {MAX_K}: {k}")
        if not (lat.__class__ is float and lon.__class__ is float and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            lat, lon = _coordinate(lat, lon)
        if max_m is None:
            max_m, bound2 = math.inf, math.inf
        else:
            max_m = _positive_metres(max_m, "max_m", None)
            bound2 = (_chord_of(max_m + 0.001) * (1 + 1e-9)) ** 2  # + rounding slack; filtered in metres
        if self._n == 0:
            return []
        ids, metres = self._knn(self._pts, self._start, self._ids, self._grid, lat, lon, k, max_m, bound2)
        return list(zip(ids.tolist(), metres.tolist()))

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[int, float]]:
        """Every camera within ``radius_m`` metres (inclusive) as (camera id, metres), sorted by
        distance then id."""
        lat, lon = _coordinate(lat, lon)
        radius_m = _positive_metres(radius_m, "radius_m", MAX_RADIUS_M)
        if self._n == 0:
            return []
        bound2 = (_chord_of(radius_m + 0.001) * (1 + 1e-9)) ** 2
        ids, metres = self._ball(self._pts, self._start, self._ids, self._grid, lat, lon, radius_m, bound2)
        order = np.lexsort((ids, metres))  # by metres, then id
        return list(zip(ids[order].tolist(), metres[order].tolist()))


# ---- the shared, lazily built index ----------------------------------------------------------------


def load_camera_positions(db: Database) -> tuple[list[int], list[float], list[float]]:
    """Ids and positions of every camera that is not retired (id, latitude, longitude only)."""
    from sqlalchemy import select

    from gwanje.registry.models import Camera

    ids: list[int] = []
    lats: list[float] = []
    lons: list[float] = []
    with db.reading() as session:
        rows = session.execute(select(Camera.id, Camera.latitude, Camera.longitude).where(Camera.status != "retired"))
        for cid, lat, lon in rows:
            ids.append(cid)
            lats.append(lat)
            lons.append(lon)
    return ids, lats, lons


class CameraIndexCache:
    """One shared :class:`CameraIndex`, built on first use and rebuilt after :meth:`invalidate`.

    Safe to call from concurrent request handlers: one thread builds while the others wait, and
    an invalidation that arrives during a build makes the next :meth:`get` build again, so a camera
    change is never lost to a build that read the table just before it.
    """

    def __init__(
        self,
        db: Database | None = None,
        *,
        loader: Callable[[], tuple[Sequence[int], Sequence[float], Sequence[float]]] | None = None,
    ):
        if loader is None:
            if db is None:
                raise ValueError("db 또는 loader가 필요합니다 / a database or a loader is required")
            loader = lambda: load_camera_positions(db)  # noqa: E731
        self._loader = loader
        self._lock = threading.Lock()
        self._index: CameraIndex | None = None
        self._generation = 0  # bumped by invalidate(), under its own lock so no bump is lost
        self._generation_lock = threading.Lock()
        self._built_generation = -1

    def get(self) -> CameraIndex:
        index = self._index
        if index is not None and self._built_generation == self._generation:
            return index
        with self._lock:
            if self._index is not None and self._built_generation == self._generation:
                return self._index
            generation = self._generation
            ids, lats, lons = self._loader()
            index = CameraIndex.build(ids, lats, lons)
            self._index = index
            self._built_generation = generation
            log.info("camera index built: %d cameras", len(index))
            return index

    def invalidate(self) -> None:
        """Mark the index stale (a camera was added, moved, retired); the next get() rebuilds."""
        with self._generation_lock:
            self._generation += 1

    def on_event(self, event: object) -> None:
        """A bus listener: a registry event that may move, add or remove a camera makes the index stale."""
        if isinstance(event, CAMERA_SET_CHANGES):
            self.invalidate()


def warm_up() -> None:
    """Compile the kernels now (the wiring root calls this off the request path at start-up)."""
    _kernels()
