"""Camera credentials never leave the video service (issue 8, finding 1), on SQLite and PostgreSQL.

A stream address given with ``user:password@`` in it, or with ``stream_username``/``stream_password``
apart, is stored without them; they are sealed (AES-256-GCM) in ``cameras.stream_credentials`` and
opened only by ``video.service.stream_source`` — the address ffmpeg and the ONVIF client receive.
Registry readers (API, console, map GeoJSON, standard export, audit chain) see ``stream_configured``,
never the password, the user name or where the stream is.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from gwanje.core.crypto import SecretBox, derive_key
from gwanje.core.migrate import alembic_config, upgrade
from gwanje.registry import service as registry
from gwanje.registry.models import Camera
from gwanje.registry.rules import StreamCredentials, join_stream_url, split_stream_url
from gwanje.video import service as video
from tests.conftest import Harness
from tests.e2e.test_console import login

PASSWORD = "Secr3t!pw"
USERNAME = "camadmin"
HOST = "10.20.30.40"
URL = f"rtsp://{USERNAME}:Secr3t%21pw@{HOST}:554/Streaming/Channels/101"

CAMERA = {
    "management_number": "SD-CRED-001",
    "site": {"road_address": "서울특별시 성동구 왕십리로 1"},
    "department": "autonomous_admin",
    "primary_purpose": "crime_prevention",
    "latitude": 37.5612,
    "longitude": 127.0371,
    "stream_url": URL,
}
READERS = ("police_officer", "auditor", "department_officer", "monitoring_agent", "district_manager")


def _leaks(text: str) -> list[str]:
    return [s for s in (PASSWORD, "Secr3t%21pw", "Secr3t", USERNAME, HOST) if s in text]


def _create(harness: Harness, body: dict | None = None) -> dict:
    resp = harness.client.post("/api/cameras", json=body or CAMERA, headers=harness.token("district_manager"))
    assert resp.status_code == 201, resp.text
    return resp.json()


def _box(harness: Harness) -> SecretBox:
    return harness.app.state.credentials


def _stored(harness: Harness, camera_id: int) -> Camera:
    with harness.db.reading() as session:
        return session.get(Camera, camera_id)


def test_registry_api_never_shows_stream_credentials_or_address_to_any_reader(harness):
    created = _create(harness)
    assert _leaks(json.dumps(created)) == []
    assert created["stream_configured"] is True and created["stream_credentials_set"] is True
    assert "stream_url" not in created
    for role in READERS:
        headers = harness.token(role, "autonomous_admin" if role == "department_officer" else None)
        one = harness.client.get(f"/api/cameras/{created['id']}", headers=headers)
        assert one.status_code == 200, (role, one.text)
        assert _leaks(one.text) == [], role
        page = harness.client.get("/api/cameras", params={"q": "SD-CRED"}, headers=headers)
        assert page.status_code == 200 and page.json()["total"] == 1 and _leaks(page.text) == [], role
        geo = harness.client.get("/api/cameras.geojson", headers=headers)
        assert geo.status_code == 200 and len(geo.json()["features"]) == 1 and _leaks(geo.text) == [], role
    spec = harness.client.get("/api/openapi.json").json()["components"]["schemas"]
    assert "stream_url" not in spec["CameraRead"]["properties"]


def test_credentials_are_sealed_at_rest_and_the_audit_chain_holds_only_that_they_are_set(harness):
    created = _create(harness)
    stored = _stored(harness, created["id"])
    assert stored.stream_url == f"rtsp://{HOST}:554/Streaming/Channels/101"
    assert stored.stream_credentials.startswith("v1.") and PASSWORD not in stored.stream_credentials
    with harness.db.engine.connect() as conn:
        dump = json.dumps([list(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM cameras")).all()])
        audit_rows = json.dumps([list(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM audit_log")).all()])
    assert PASSWORD not in dump and "Secr3t" not in dump and USERNAME not in dump
    assert "Secr3t" not in audit_rows and USERNAME not in audit_rows
    entries = harness.client.get(
        "/api/audit", params={"action": "camera.create"}, headers=harness.token("auditor")
    ).json()
    assert entries and json.loads(entries[0]["after"])["stream_credentials"] == "set"
    assert _leaks(json.dumps(entries)) == [HOST]  # the auditor sees which address, never who or with what

    # Another key (GWANJE_CREDENTIALS_KEY changed) does not open them: a clear 409, not a wrong login.
    with pytest.raises(registry.CredentialsUnreadable):
        video.stream_source(harness.db, created["id"], SecretBox(derive_key("another key " * 4, "camera credentials")))


def test_video_opens_the_stream_with_the_credentials(harness):
    created = _create(harness)
    assert video.stream_source(harness.db, created["id"], _box(harness)) == URL
    plain = _create(
        harness, {**CAMERA, "management_number": "SD-CRED-002", "stream_url": "rtsp://10.1.1.1/s", "site": None}
    )
    assert plain["stream_credentials_set"] is False
    assert video.stream_source(harness.db, plain["id"], _box(harness)) == "rtsp://10.1.1.1/s"


def test_credentials_given_apart_replace_kept_or_cleared_and_each_change_is_audited(harness):
    writer = harness.token("district_manager")
    body = {**CAMERA, "stream_url": f"rtsp://{HOST}/live", "stream_username": "op", "stream_password": "pw:1@x"}
    created = _create(harness, body)
    cid = created["id"]
    assert video.stream_source(harness.db, cid, _box(harness)) == f"rtsp://op:pw%3A1%40x@{HOST}/live"

    moved = harness.client.patch(f"/api/cameras/{cid}", json={"stream_url": "rtsp://10.9.9.9/live"}, headers=writer)
    assert moved.status_code == 200 and moved.json()["stream_credentials_set"] is True
    assert video.stream_source(harness.db, cid, _box(harness)) == "rtsp://op:pw%3A1%40x@10.9.9.9/live"

    replaced = harness.client.patch(
        f"/api/cameras/{cid}", json={"stream_username": "op", "stream_password": "new-" + PASSWORD}, headers=writer
    )
    assert replaced.status_code == 200 and _leaks(replaced.text) == []
    assert video.stream_source(harness.db, cid, _box(harness)) == "rtsp://op:new-Secr3t%21pw@10.9.9.9/live"
    entries = harness.client.get(
        "/api/audit", params={"action": "camera.update"}, headers=harness.token("auditor")
    ).json()
    assert [json.loads(e["after"]).get("stream_credentials") for e in entries][:1] == ["replaced"]
    assert "Secr3t" not in json.dumps(entries) and "pw:1@x" not in json.dumps(entries)

    cleared = harness.client.patch(f"/api/cameras/{cid}", json={"stream_username": None}, headers=writer)
    assert cleared.json()["stream_credentials_set"] is False
    assert video.stream_source(harness.db, cid, _box(harness)) == "rtsp://10.9.9.9/live"

    harness.client.patch(f"/api/cameras/{cid}", json={"stream_url": URL}, headers=writer)
    gone = harness.client.patch(f"/api/cameras/{cid}", json={"stream_url": None}, headers=writer)
    assert gone.json()["stream_configured"] is False and gone.json()["stream_credentials_set"] is False
    assert _stored(harness, cid).stream_credentials is None


@pytest.mark.parametrize(
    "extra",
    [
        {"stream_username": "op", "stream_password": "x"},  # embedded and apart: which one?
        {"stream_url": None, "stream_username": "op"},  # credentials without an address
        {"stream_url": "rtsp://10.1.1.1/s", "stream_password": "x"},  # a password without a user name
    ],
)
def test_ambiguous_credentials_are_refused_with_422(harness, extra):
    resp = harness.client.post("/api/cameras", json={**CAMERA, **extra}, headers=harness.token("district_manager"))
    assert resp.status_code == 422, resp.text
    assert PASSWORD not in resp.text


def test_console_page_and_exports_never_show_the_credentials(harness, tmp_path):
    from gwanje.registry.importer import export_geojson, export_standard

    created = _create(harness)
    login(harness, "monitoring_agent")
    page = harness.client.get(f"/cameras/{created['id']}")
    assert page.status_code == 200 and "SD-CRED-001" in page.text
    assert _leaks(page.text) == []
    listing = harness.client.get("/cameras", params={"q": "SD-CRED"})
    assert listing.status_code == 200 and _leaks(listing.text) == []
    export_standard(harness.db, tmp_path / "standard.csv")
    export_geojson(harness.db, tmp_path / "cameras.geojson")
    for name in ("standard.csv", "cameras.geojson"):
        assert _leaks((tmp_path / name).read_text(encoding="utf-8-sig")) == [], name


def test_stream_url_split_and_join_round_trip():
    bare, creds = split_stream_url("rtsp://a%40b:p%3Aw%40@h:554/x?y=1")
    assert (bare, creds) == ("rtsp://h:554/x?y=1", StreamCredentials("a@b", "p:w@"))
    assert join_stream_url(bare, creds) == "rtsp://a%40b:p%3Aw%40@h:554/x?y=1"
    assert split_stream_url("rtsp://h/x") == ("rtsp://h/x", None)
    assert "p:w@" not in repr(creds)


def test_revision_0004_moves_embedded_credentials_out_and_back(db):
    key = derive_key("migration test key " * 3, "camera credentials")
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003_evidence")
        conn.execute(
            sa.text(
                "INSERT INTO sites (site_key, managing_agency, latitude, longitude, created_at, updated_at) "
                "VALUES ('S1', '성동구청', 37.56, 127.03, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        site_id = conn.execute(sa.text("SELECT id FROM sites WHERE site_key = 'S1'")).scalar_one()
        for number, url in (("M-1", URL), ("M-2", "rtsp://10.0.0.2/s"), ("M-3", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO cameras (management_number, site_id, owner_organisation, primary_purpose, "
                    "secondary_purposes, storage_mode, latitude, longitude, retention_days, status, stream_url, "
                    "search_text, created_at, updated_at) VALUES (:n, :s, 'district', 'crime_prevention', ',', "
                    "'central', 37.56, 127.03, 30, 'active', :u, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"n": number, "s": site_id, "u": url},
            )
    upgrade(db.engine, credentials_key=key)
    with db.reading() as session:
        cams = {c.management_number: c for c in session.scalars(sa.select(Camera))}
        assert cams["M-1"].stream_url == f"rtsp://{HOST}:554/Streaming/Channels/101"
        assert "Secr3t" not in cams["M-1"].stream_credentials
        assert registry.stream_address(SecretBox(key), cams["M-1"]) == URL
        assert (cams["M-2"].stream_url, cams["M-2"].stream_credentials) == ("rtsp://10.0.0.2/s", None)
        assert cams["M-3"].stream_url is None
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["credentials_key"] = key
        command.downgrade(cfg, "0003_evidence")
        back = conn.execute(sa.text("SELECT stream_url FROM cameras WHERE management_number = 'M-1'")).scalar_one()
    assert back == URL
    upgrade(db.engine, credentials_key=key)
