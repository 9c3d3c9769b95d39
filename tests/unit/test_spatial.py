"""The in-memory nearest-camera index: exact against brute force, ties by id, input checks."""

from __future__ import annotations

import contextlib
import math
import random
import threading

import numpy as np
import pytest

from gwanje.registry import rules
from gwanje.registry.spatial import (
    EARTH_RADIUS_M,
    CameraIndex,
    CameraIndexCache,
    bearing_deg,
    compass_ko_en,
    haversine_m,
)

SEONGDONG = (37.5636, 127.0369)


def _brute(points, lat, lon, k=None, radius=None):
    dists = sorted((round(haversine_m(lat, lon, plat, plon), 3), cid) for cid, plat, plon in points)
    if radius is not None:
        dists = [d for d in dists if d[0] <= radius]
    if k is not None:
        dists = dists[:k]
    return [(cid, d) for d, cid in dists]


def _same(got, want):
    assert [cid for cid, _ in got] == [cid for cid, _ in want]
    for (_, a), (_, b) in zip(got, want):
        assert a == pytest.approx(b, abs=1e-3)


def _points(rnd, n, lat_range, lon_range, first_id=1):
    return [(first_id + i, rnd.uniform(*lat_range), rnd.uniform(*lon_range)) for i in range(n)]


def _index(points):
    ids, lats, lons = zip(*points) if points else ((), (), ())
    return CameraIndex.build(list(ids), list(lats), list(lons))


@pytest.mark.parametrize("k", [1, 3, 10, 57])
def test_k_nearest_equals_brute_force_around_seoul(k):
    rnd = random.Random(11 + k)
    points = _points(rnd, 3000, (37.42, 37.70), (126.76, 127.18), first_id=1000)
    index = _index(points)
    assert len(index) == 3000
    for _ in range(60):
        lat, lon = rnd.uniform(37.40, 37.72), rnd.uniform(126.74, 127.20)
        _same(index.nearest(lat, lon, k=k), _brute(points, lat, lon, k=k))


def test_k_nearest_equals_brute_force_across_korea():
    rnd = random.Random(5)
    points = _points(rnd, 4000, (33.1, 38.6), (124.6, 131.9))
    # and some dense clusters (cities) inside the sparse spread
    for c_lat, c_lon in [(35.18, 129.08), (37.57, 126.98), (33.50, 126.53)]:
        base = len(points) + 1
        points += [(base + i, c_lat + rnd.gauss(0, 0.01), c_lon + rnd.gauss(0, 0.01)) for i in range(500)]
    index = _index(points)
    for _ in range(80):
        lat, lon = rnd.uniform(33.0, 38.7), rnd.uniform(124.5, 132.0)
        _same(index.nearest(lat, lon, k=10), _brute(points, lat, lon, k=10))


def test_distances_are_haversine_metres_on_the_mean_radius():
    index = CameraIndex.build([1], [37.5636], [127.0469])
    [(cid, metres)] = index.nearest(*SEONGDONG, k=1)
    assert cid == 1
    assert metres == round(rules.haversine_m(37.5636, 127.0369, 37.5636, 127.0469), 3)
    assert EARTH_RADIUS_M == 6_371_008.8


def test_cameras_at_one_position_are_ordered_by_id_even_across_the_kth_place():
    # a pole with 30 cameras at one position and a few farther away; the k-th place falls inside the tie
    pole = [(cid, 37.55, 127.04) for cid in rnd_ids(30)]
    others = [(1, 37.551, 127.04), (2, 37.56, 127.04)]
    index = _index(pole + others)
    got = index.nearest(37.55, 127.04, k=10)
    assert [cid for cid, _ in got] == sorted(cid for cid, *_ in pole)[:10]
    assert all(d == 0.0 for _, d in got)
    got = index.nearest(37.5502, 127.04, k=31)  # 30 tied cameras, then the nearer of the others
    assert [cid for cid, _ in got] == sorted(cid for cid, *_ in pole) + [1]


def rnd_ids(n):
    ids = list(range(100, 100 + 7 * n, 7))
    random.Random(3).shuffle(ids)
    return ids


def test_equidistant_cameras_are_ordered_by_id():
    # two cameras mirrored across the query's meridian are at exactly the same distance
    index = CameraIndex.build([9, 4, 7], [37.5, 37.5, 37.6], [127.01, 126.99, 127.0])
    got = index.nearest(37.5, 127.0, k=2)
    assert [cid for cid, _ in got] == [4, 9]
    assert got[0][1] == got[1][1]


def test_k_larger_than_the_registry_returns_everything():
    index = CameraIndex.build([3, 1, 2], [37.50, 37.51, 37.52], [127.0, 127.0, 127.0])
    assert [cid for cid, _ in index.nearest(37.50, 127.0, k=10)] == [3, 1, 2]
    assert [cid for cid, _ in CameraIndex.build([8], [37.5], [127.0]).nearest(37.6, 127.1, k=1)] == [8]


def test_empty_index_answers_nothing():
    index = CameraIndex.build([], [], [])
    assert len(index) == 0
    assert index.nearest(*SEONGDONG) == []
    assert index.within(*SEONGDONG, 1000) == []


def test_max_m_limits_nearest_to_a_radius():
    rnd = random.Random(21)
    points = _points(rnd, 2000, (37.50, 37.62), (126.98, 127.10))
    index = _index(points)
    for _ in range(40):
        lat, lon = rnd.uniform(37.5, 37.62), rnd.uniform(126.98, 127.10)
        want = [p for p in _brute(points, lat, lon, k=10) if p[1] <= 150]
        _same(index.nearest(lat, lon, k=10, max_m=150), want)
    assert index.nearest(37.0, 127.0, k=5, max_m=100) == []


def test_within_radius_equals_brute_force_and_is_inclusive():
    rnd = random.Random(8)
    points = _points(rnd, 5000, (37.45, 37.65), (126.90, 127.15))
    index = _index(points)
    for radius in (50, 300, 1000, 5000):
        for _ in range(15):
            lat, lon = rnd.uniform(37.45, 37.65), rnd.uniform(126.90, 127.15)
            _same(index.within(lat, lon, radius), _brute(points, lat, lon, radius=radius))
    # a camera exactly on the circle is inside
    cid, lat, lon = points[0]
    on_circle = dict(index.within(lat + 0.001, lon, 500))[cid]
    assert cid in [c for c, _ in index.within(lat + 0.001, lon, on_circle)]


def test_within_sorts_ties_by_id():
    index = CameraIndex.build([5, 2, 9, 1], [37.5, 37.5, 37.5, 37.6], [127.0, 127.0, 127.0, 127.0])
    assert index.within(37.5, 127.0, 10) == [(2, 0.0), (5, 0.0), (9, 0.0)]


def test_build_accepts_numpy_arrays():
    index = CameraIndex.build(np.arange(5), np.full(5, 37.5) + np.arange(5) * 1e-3, np.full(5, 127.0))
    assert [cid for cid, _ in index.nearest(37.5, 127.0, k=2)] == [0, 1]
    assert all(type(cid) is int and type(d) is float for cid, d in index.nearest(37.5, 127.0, k=3))


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True, "3"])
def test_nearest_refuses_a_bad_k(k):
    index = CameraIndex.build([1], [37.5], [127.0])
    with pytest.raises(ValueError, match="k"):
        index.nearest(37.5, 127.0, k=k)


@pytest.mark.parametrize("lat,lon", [(math.nan, 127.0), (37.5, math.inf), (91.0, 127.0), (37.5, -180.5),
                                     ("north", 127.0), (None, 127.0)])
def test_queries_refuse_bad_positions(lat, lon):
    index = CameraIndex.build([1], [37.5], [127.0])
    with pytest.raises(ValueError):
        index.nearest(lat, lon)
    with pytest.raises(ValueError):
        index.within(lat, lon, 100)


@pytest.mark.parametrize("radius", [0, -5, 50_000.1, math.nan, math.inf])
def test_within_refuses_a_radius_outside_0_to_50_km(radius):
    index = CameraIndex.build([1], [37.5], [127.0])
    with pytest.raises(ValueError, match="radius_m"):
        index.within(37.5, 127.0, radius)
    assert index.within(37.5, 127.0, 50_000) == [(1, 0.0)]


def test_nearest_refuses_a_bad_max_m():
    index = CameraIndex.build([1], [37.5], [127.0])
    for bad in (0, -1, math.nan):
        with pytest.raises(ValueError, match="max_m"):
            index.nearest(37.5, 127.0, max_m=bad)


def test_build_refuses_bad_input():
    with pytest.raises(ValueError, match="unique"):
        CameraIndex.build([1, 1], [37.5, 37.6], [127.0, 127.0])
    with pytest.raises(ValueError, match="equally long"):
        CameraIndex.build([1, 2], [37.5], [127.0, 127.1])
    with pytest.raises(ValueError, match="camera 2"):
        CameraIndex.build([1, 2], [37.5, math.nan], [127.0, 127.1])
    with pytest.raises(ValueError, match="camera 3"):
        CameraIndex.build([3], [37.5], [200.0])
    with pytest.raises(ValueError, match="integers"):
        CameraIndex.build([1.5], [37.5], [127.0])


def test_bearing_points_north_east_south_west():
    lat, lon = SEONGDONG
    assert bearing_deg(lat, lon, lat + 0.01, lon) == pytest.approx(0.0, abs=1e-9)
    assert bearing_deg(lat, lon, lat, lon + 0.01) == pytest.approx(90.0, abs=0.01)
    assert bearing_deg(lat, lon, lat - 0.01, lon) == pytest.approx(180.0, abs=1e-9)
    assert bearing_deg(lat, lon, lat, lon - 0.01) == pytest.approx(270.0, abs=0.01)
    # north-east on the ground, not in degrees: a degree of longitude is shorter at 37.5°N
    ne = bearing_deg(lat, lon, lat + 0.01, lon + 0.01 / math.cos(math.radians(lat)))
    assert ne == pytest.approx(45.0, abs=0.05)
    assert bearing_deg(lat, lon, lat, lon) == 0.0
    assert CameraIndex.bearing_deg(lat, lon, lat + 0.01, lon) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("bearing,label", [
    (0, ("북", "N")), (22.4, ("북", "N")), (22.5, ("북동", "NE")), (45, ("북동", "NE")), (90, ("동", "E")),
    (135, ("남동", "SE")), (180, ("남", "S")), (225, ("남서", "SW")), (270, ("서", "W")), (315, ("북서", "NW")),
    (337.4, ("북서", "NW")), (337.5, ("북", "N")), (359.99, ("북", "N")), (360, ("북", "N")), (-90, ("서", "W")),
])
def test_compass_labels_have_eight_points(bearing, label):
    assert compass_ko_en(bearing) == label


def test_compass_refuses_a_non_finite_bearing():
    with pytest.raises(ValueError):
        compass_ko_en(math.nan)


# ---- the cache ------------------------------------------------------------------------------------


class _FakeLoader:
    def __init__(self):
        self.rows = [(1, 37.5, 127.0), (2, 37.6, 127.0)]
        self.calls = 0

    def __call__(self):
        self.calls += 1
        ids, lats, lons = zip(*self.rows)
        return list(ids), list(lats), list(lons)


def test_cache_builds_once_and_rebuilds_after_invalidate():
    loader = _FakeLoader()
    cache = CameraIndexCache(loader=loader)
    first = cache.get()
    assert cache.get() is first and loader.calls == 1
    loader.rows.append((3, 37.5001, 127.0))
    cache.invalidate()
    second = cache.get()
    assert loader.calls == 2 and len(second) == 3
    assert [cid for cid, _ in second.nearest(37.5, 127.0, k=2)] == [1, 3]


def test_cache_builds_once_for_concurrent_callers():
    loader = _FakeLoader()
    cache = CameraIndexCache(loader=loader)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loader.calls == 1 and all(g is got[0] for g in got)


def test_an_invalidation_during_a_build_is_not_lost():
    cache = None
    calls = []

    def loader():
        calls.append(1)
        if len(calls) == 1:
            cache.invalidate()  # a camera changed while the first build was reading
        return [1], [37.5], [127.0]

    cache = CameraIndexCache(loader=loader)
    cache.get()
    cache.get()
    assert len(calls) == 2


def test_cache_reads_only_non_retired_cameras_through_a_database():
    class Session:
        def execute(self, statement):
            sql = str(statement)
            assert "cameras.status !=" in sql and "cameras.latitude" in sql and "cameras.name" not in sql
            return iter([(5, 37.5, 127.0), (6, 37.6, 127.1)])

    class Db:
        @contextlib.contextmanager
        def reading(self):
            yield Session()

    index = CameraIndexCache(Db()).get()
    assert [cid for cid, _ in index.nearest(37.6, 127.1, k=2)] == [6, 5]


def test_cache_needs_a_database_or_a_loader():
    with pytest.raises(ValueError):
        CameraIndexCache()
