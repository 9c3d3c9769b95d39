"""The camera map page over HTTP: its offline base layer (neighbourhood names from the district's own
policy and data), an optional internal tile server, and the open-incident layer offered only to whoever
may read the situation board. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gwanje.core.db import Database
from gwanje.core.settings import Settings
from gwanje.policy import PolicyError, load_policy
from gwanje.situations import live
from gwanje.web.app import create_app
from tests.conftest import Harness
from tests.fixtures.districts import HANBIT_POLICY

TILES = "https://tiles.center.local/osm/{z}/{x}/{y}.png"
HANBIT_DONG = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"dong": "한빛1동"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[127.0, 37.5], [127.05, 37.5], [127.05, 37.55], [127.0, 37.5]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"dong": "한빛2동"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[127.05, 37.5], [127.1, 37.5], [127.1, 37.55], [127.05, 37.5]]],
            },
        },
    ],
}


def _config(client: TestClient, headers: dict[str, str], lang: str | None = None) -> tuple[dict, str]:
    page = client.get("/map" + (f"?lang={lang}" if lang else ""), headers=headers)
    assert page.status_code == 200, page.text
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', page.text, re.S)
    assert found is not None
    return json.loads(found.group(1)), page.headers["content-security-policy"]


def _hanbit_policy(tmp_path: Path, map_section: str) -> Path:
    text = HANBIT_POLICY.read_text(encoding="utf-8")
    start = text.index("\nmap:\n")
    end = text.index("\n\n", start + 1)
    folder = tmp_path / "policy"
    (folder / "maps").mkdir(parents=True, exist_ok=True)
    (folder / "maps" / "dong.geojson").write_text(json.dumps(HANBIT_DONG, ensure_ascii=False), encoding="utf-8")
    path = folder / "hanbit.yaml"
    path.write_text(text[:start] + map_section + text[end:], encoding="utf-8")
    return path


def test_the_shipped_district_labels_its_neighbourhoods_in_the_reader_s_language_without_tiles(harness):
    reader = harness.token("monitoring_agent")
    config, csp = _config(harness.client, reader)
    assert config["neighbourhoodsUrl"] == "/api/geo/neighbourhoods"
    assert config["neighbourhoodLabel"] == "EMD_KOR_NM"
    english, _ = _config(harness.client, reader, lang="en")
    assert english["neighbourhoodLabel"] == "EMD_ENG_NM"
    # The labels name what the shipped GeoJSON carries: every neighbourhood has both names.
    shapes = harness.client.get("/api/geo/neighbourhoods", headers=reader).json()["features"]
    assert shapes and all(f["properties"]["EMD_KOR_NM"] and f["properties"]["EMD_ENG_NM"] for f in shapes)
    # No tile server configured: nothing but the app itself may serve the map's images.
    assert config["tiles"] is None
    assert "img-src 'self' data:;" in csp


def test_a_second_district_names_its_own_label_property_and_english_falls_back_to_korean(db, tmp_path):
    path = _hanbit_policy(
        tmp_path,
        "\nmap:\n  boundary: seongdong_boundary.geojson\n  neighbourhoods: maps/dong.geojson\n"
        "  neighbourhood_names: {ko: dong}",
    )
    h = Harness(db, load_policy(path), tmp_path)
    with h.client:
        reader = h.token("control_agent")
        config, _ = _config(h.client, reader)
        assert config["neighbourhoodLabel"] == "dong"
        assert _config(h.client, reader, lang="en")[0]["neighbourhoodLabel"] == "dong"
        assert h.client.get("/api/geo/neighbourhoods", headers=reader).json() == HANBIT_DONG


@pytest.mark.parametrize(
    ("section", "ko", "en"),
    [
        (
            "\nmap:\n  boundary: seongdong_boundary.geojson\n  neighbourhoods: maps/dong.geojson\n"
            "  neighbourhood_names: {ko: name}",
            "속성 'name'이 없는 동이 2곳",
            "2 neighbourhood(s) lack the property 'name'",
        ),
        (
            "\nmap:\n  boundary: seongdong_boundary.geojson\n  neighbourhood_names: {ko: dong}",
            "map.neighbourhoods 없이는",
            "needs map.neighbourhoods",
        ),
        (
            "\nmap:\n  boundary: seongdong_boundary.geojson\n  neighbourhoods: maps/dong.geojson\n"
            "  neighbourhood_names: {en: dong}",
            "필수 키 누락 'ko'",
            "missing required key 'ko'",
        ),
    ],
)
def test_the_policy_refuses_neighbourhood_names_the_map_could_not_draw(tmp_path, section, ko, en):
    with pytest.raises(PolicyError) as refused:
        load_policy(_hanbit_policy(tmp_path, section))
    assert ko in str(refused.value) and en in str(refused.value)


def _with_settings(db: Database, tmp_path: Path, **values: object) -> Harness:
    h = Harness(db, load_policy(HANBIT_POLICY), tmp_path)
    h.settings = Settings(database_url=db.url, var_dir=tmp_path / "var", escalation_seconds=0, **values)
    h.app = create_app(h.settings, db=db, policy=h.policy, migrate=False)
    h.client = TestClient(h.app, raise_server_exceptions=False)
    return h


def test_an_internal_tile_server_is_drawn_and_allowed_by_the_page_s_csp(db, tmp_path):
    h = _with_settings(db, tmp_path, map_tile_url=TILES, map_tile_attribution="© 한빛구 GIS", map_tile_max_zoom=18)
    with h.client:
        config, csp = _config(h.client, h.token("control_agent"))
        assert config["tiles"] == {"url": TILES, "attribution": "© 한빛구 GIS", "maxZoom": 18}
        img = next(part for part in csp.split("; ") if part.startswith("img-src"))
        assert img == "img-src 'self' data: https://tiles.center.local"
        # Only the map page names it: other pages keep the console's CSP.
        other = h.client.get("/cameras", headers=h.token("control_agent")).headers["content-security-policy"]
        assert "tiles.center.local" not in other


@pytest.mark.parametrize(
    "url",
    [
        "tiles.center.local/{z}/{x}/{y}.png",
        "ftp://tiles.center.local/{z}/{x}/{y}.png",
        "https://tiles.center.local/{z}/{x}.png",
        "javascript:alert(1)//{z}{x}{y}",
        "https:///{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_that_is_not_an_http_template_is_refused_at_start(url):
    with pytest.raises(ValidationError) as refused:
        Settings(map_tile_url=url)
    text = str(refused.value)
    assert "지도 타일 주소" in text and "map tile URL" in text


def test_open_incidents_are_offered_to_board_readers_only(harness):
    config, csp = _config(harness.client, harness.token("monitoring_agent"))
    incidents = config["incidents"]
    assert incidents["liveUrl"] == live.PATH  # the board's own feed, with its visibility rules
    assert incidents["listUrl"] == "/api/incidents?open_only=true"
    assert set(incidents["open"]) == {"new", "acknowledged", "handed_over", "dispatched"}
    assert incidents["statuses"]["new"]["label"] == "신규"
    assert incidents["types"]["emergency_bell"]
    assert "connect-src 'self' ws://testserver wss://testserver" in csp
    # An investigator reads the registry but not the board: the map offers no incident layer ...
    investigator = harness.token("police_investigator")
    config, _ = _config(harness.client, investigator)
    assert config["incidents"] is None
    # ... and neither the list nor the feed would answer them.
    assert harness.client.get("/api/incidents?open_only=true", headers=investigator).status_code == 403


def test_a_second_district_s_roles_decide_the_incident_layer(db, tmp_path):
    h = Harness(db, load_policy(HANBIT_POLICY), tmp_path)
    with h.client:
        assert _config(h.client, h.token("control_agent"))[0]["incidents"]["liveUrl"] == live.PATH
        assert _config(h.client, h.token("station_detective"))[0]["incidents"] is None
