"""Pure registry rules."""

from gwanje.registry import rules


def test_positions_outside_korea_or_at_zero_are_refused():
    assert rules.inside_korea(37.5636, 127.0369)  # Seongdong-gu office
    assert rules.inside_korea(33.2496, 126.5616)  # Seogwipo
    assert rules.inside_korea(37.2411, 131.8648)  # Dokdo
    assert not rules.inside_korea(0, 0)
    assert not rules.inside_korea(35.6812, 139.7671)  # Tokyo
    assert not rules.inside_korea(127.03, 37.56)  # swapped
    assert not rules.inside_korea(float("nan"), 127.0)


def test_haversine_and_radius_box_agree():
    d = rules.haversine_m(37.5636, 127.0369, 37.5636, 127.0469)
    assert 870 < d < 890
    s, w, n, e = rules.radius_bbox(37.5636, 127.0369, 1000)
    assert rules.haversine_m(37.5636, 127.0369, n, 127.0369) > 999
    assert rules.haversine_m(37.5636, 127.0369, 37.5636, e) > 999


def test_secondary_purposes_round_trip_through_the_stored_form():
    stored = rules.join_purposes(["illegal_parking", "disaster"])
    assert stored == ",illegal_parking,disaster,"
    assert rules.join_purposes([]) == ","
