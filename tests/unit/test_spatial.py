"""The in-memory nearest-camera index: exact against brute force (also across ±180°, near a pole, far
from every camera, and on degenerate layouts), ties by id, input checks."""

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


@pytest.mark.parametrize(
    "lat,lon", [(math.nan, 127.0), (37.5, math.inf), (91.0, 127.0), (37.5, -180.5), ("north", 127.0), (None, 127.0)]
)
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


def _check_everywhere(points, queries, ks=(1, 10), radii=(300, 5000)):
    index = _index(points)
    for lat, lon in queries:
        for k in ks:
            _same(index.nearest(lat, lon, k=k), _brute(points, lat, lon, k=k))
        _same(index.nearest(lat, lon, k=10, max_m=2000), _brute(points, lat, lon, k=10, radius=2000))
        for radius in radii:
            _same(index.within(lat, lon, radius), _brute(points, lat, lon, radius=radius))


def test_queries_far_outside_the_cameras_are_exact():
    rnd = random.Random(31)
    points = _points(rnd, 1500, (37.42, 37.70), (126.76, 127.18))
    queries = [
        (0.0, 0.0),
        (-37.5, -52.0),
        (89.9, 127.0),
        (-90.0, 180.0),
        (37.5, 180.0),
        (37.5, -180.0),
        (37.56, 126.0),
        (38.5, 127.0),
        (36.0, 127.0),
        (37.56, 130.0),
    ]
    _check_everywhere(points, queries, ks=(1, 10, 57), radii=(50_000,))


def test_cameras_across_the_antimeridian_and_near_a_pole_are_exact():
    rnd = random.Random(32)
    points = _points(rnd, 600, (-17.0, -16.0), (179.0, 180.0))
    points += _points(rnd, 600, (-17.0, -16.0), (-180.0, -179.0), first_id=1000)
    points += _points(rnd, 300, (88.5, 90.0), (-180.0, 180.0), first_id=2000)
    queries = [(rnd.uniform(-17.2, -15.8), rnd.choice((-1, 1)) * rnd.uniform(179.5, 180.0)) for _ in range(12)]
    queries += [(rnd.uniform(88.0, 90.0), rnd.uniform(-180, 180)) for _ in range(8)]
    queries += [(-16.5, 180.0), (-16.5, -180.0), (90.0, 0.0)]
    _check_everywhere(points, queries)


def test_degenerate_layouts_are_exact():
    rnd = random.Random(33)
    line_ns = [(1 + i, rnd.uniform(35.0, 38.0), 127.0) for i in range(400)]  # one meridian
    line_ew = [(1000 + i, 37.5, rnd.uniform(126.0, 128.0)) for i in range(400)]  # one parallel
    one_spot = [(2000 + i, 37.5, 127.5) for i in range(50)]  # every camera on one pole
    for points in (line_ns, line_ew, one_spot, line_ns + line_ew + one_spot):
        queries = [(rnd.uniform(34.5, 38.5), rnd.uniform(125.5, 128.5)) for _ in range(6)] + [(37.5, 127.5)]
        _check_everywhere(points, queries, ks=(1, 10, 57))


def test_clustered_poles_with_ties_are_exact_for_many_k():
    # cities dense enough to put many cameras in one grid cell, countryside sparse enough to leave most
    # cells empty, and poles of 1–4 cameras at one position
    rnd = random.Random(34)
    points, cid = [], 1
    for _ in range(2500):
        if rnd.random() < 0.8:
            c_lat, c_lon = rnd.choice([(37.57, 126.98), (35.18, 129.08)])
            lat, lon = c_lat + rnd.gauss(0, 0.004), c_lon + rnd.gauss(0, 0.005)
        else:
            lat, lon = rnd.uniform(33.0, 38.6), rnd.uniform(124.6, 131.9)
        lat, lon = round(lat, 7), round(lon, 7)
        for _ in range(rnd.choice((1, 1, 2, 3, 4))):
            points.append((cid, lat, lon))
            cid += 1
    index = _index(points)
    for _ in range(40):
        if rnd.random() < 0.5:
            _, lat, lon = rnd.choice(points)  # on a pole: ties at distance 0
        else:
            lat, lon = rnd.uniform(33.0, 38.7), rnd.uniform(124.5, 132.0)
        for k in (1, 4, 10, 57, 300):
            _same(index.nearest(lat, lon, k=k), _brute(points, lat, lon, k=k))


def test_millimetre_rounding_matches_python_round():
    # the kernels round metres themselves; ties by id depend on rounding exactly as round(x, 3) does
    from gwanje.registry import spatial

    spatial._kernels()
    rnd = random.Random(36)
    values = [rnd.uniform(0, 50_000) for _ in range(3000)] + [rnd.uniform(0, 2e7) for _ in range(1000)]
    values += [i / 1000 + 0.0005 for i in range(2000)]  # x·1000 lands on or next to a half
    values += [i / 16 for i in range(2000)] + [i / 2048 for i in range(2000)]  # exact halves: ties to even
    values += [0.0, 1.0005, 1.0625, 2.0625, 0.0625, 12345.0005, 20_015_086.796]
    compiled = spatial._round_mm
    plain = getattr(compiled, "py_func", compiled)  # what runs without numba
    for x in values:
        assert compiled(x) == round(x, 3) == plain(x), x


def test_plain_python_kernels_give_the_same_answers(monkeypatch):
    # without numba the same kernels run uncompiled
    from gwanje.registry import spatial

    rnd = random.Random(35)
    points = _points(rnd, 800, (37.50, 37.62), (126.98, 127.10))
    compiled = _index(points)
    monkeypatch.setattr(spatial, "_compiled", (spatial._knn, spatial._ball))
    plain = _index(points)
    assert plain._knn is spatial._knn
    for _ in range(10):
        lat, lon = rnd.uniform(37.48, 37.64), rnd.uniform(126.96, 127.12)
        assert plain.nearest(lat, lon, k=10) == compiled.nearest(lat, lon, k=10)
        assert plain.nearest(lat, lon, k=3, max_m=100) == compiled.nearest(lat, lon, k=3, max_m=100)
        assert plain.within(lat, lon, 400) == compiled.within(lat, lon, 400)


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


@pytest.mark.parametrize(
    "bearing,label",
    [
        (0, ("북", "N")),
        (22.4, ("북", "N")),
        (22.5, ("북동", "NE")),
        (45, ("북동", "NE")),
        (90, ("동", "E")),
        (135, ("남동", "SE")),
        (180, ("남", "S")),
        (225, ("남서", "SW")),
        (270, ("서", "W")),
        (315, ("북서", "NW")),
        (337.4, ("북서", "NW")),
        (337.5, ("북", "N")),
        (359.99, ("북", "N")),
        (360, ("북", "N")),
        (-90, ("서", "W")),
    ],
)
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
