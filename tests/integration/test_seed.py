"""The Seongdong seed reproduces the agreement's Annex 1, computed back from the database."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources

import openpyxl
import sqlalchemy as sa
from click.testing import CliRunner

from gwanje.cli import main
from gwanje.registry.models import Camera, Site
from gwanje.registry.seed import seed_seongdong
from gwanje.registry.service import annex1_report

# As printed in the agreement ([별표 1], 2014.10.): department, label, sites, cameras, remarks.
AGREEMENT_ANNEX1 = [
    ("자치행정과", "방법", 315, 750, ""),
    ("교통지도과", "불법주정차 단속", 77, 167, ""),
    ("교통지도과", "그린파킹", 49, 49, ""),
    ("교통행정과", "자전거보관", 9, 20, "현장저장"),
    ("공원녹지과", "시설물관리", 34, 43, ""),
    ("청소행정과", "쓰레기무단 투기 단속", 33, 33, "이동형"),
    ("성동경찰서", "방법", 7, 7, ""),
]


def test_annex1_computed_from_the_seeded_registry_matches_the_agreement(db, policy):
    seed_seongdong(db, policy)
    with db.reading() as s:
        report = annex1_report(s, policy)
    got = [(r.department_ko, r.label_ko, r.sites, r.cameras, r.remarks_ko) for r in report.rows]
    assert got == AGREEMENT_ANNEX1
    assert (report.total_sites, report.total_cameras) == (524, 1069)
    assert report.title_ko == "[별표 1] 성동구 다목적 CCTV 운영 현황"
    assert report.agreement_ko == policy.agreement.title_ko
    assert report.rows[0].secondary_purposes_ko == ["불법주정차 단속", "쓰레기 무단투기 단속", "시설물 관리", "재난"]


def test_seeded_cameras_carry_the_annex_remarks_and_ownership(db, policy):
    seed_seongdong(db, policy)
    with db.reading() as s:

        def modes(dept):
            return set(s.scalars(sa.select(Camera.storage_mode).where(Camera.department == dept)))

        assert modes("traffic_admin") == {"on_site"}
        assert modes("sanitation") == {"mobile"}
        assert modes("autonomous_admin") == {"central"}
        owners = dict(s.execute(sa.select(Camera.department, Camera.owner_organisation).distinct()).all())
        assert owners["police_station"] == "police"
        assert {o for d, o in owners.items() if d != "police_station"} == {"district"}
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Camera).where(Camera.owner_organisation == "police")) == 7
        )


def test_seeded_sites_stand_at_real_distinct_seongdong_positions(db, policy):
    seed_seongdong(db, policy)
    source = resources.files("gwanje.data").joinpath("seongdong_cctv_standard_2018.csv").read_text("utf-8")
    real = {
        (round(float(r["WGS84위도"]), 6), round(float(r["WGS84경도"]), 6)) for r in csv.DictReader(io.StringIO(source))
    }
    with db.reading() as s:
        positions = [(round(a, 6), round(b, 6)) for a, b in s.execute(sa.select(Site.latitude, Site.longitude))]
    assert len(positions) == 524
    assert len(set(positions)) == 524
    assert set(positions) <= real


def test_seeding_twice_changes_nothing(db, policy):
    first = seed_seongdong(db, policy)
    second = seed_seongdong(db, policy)
    assert first == {"sites": 524, "cameras": 1069} and second == {"sites": 0, "cameras": 0}
    with db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Camera)) == 1069


def test_report_cli_writes_text_csv_and_xlsx(db, policy, monkeypatch, tmp_path):
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    runner = CliRunner()
    assert runner.invoke(main, ["seed", "seongdong"]).exit_code == 0
    text = runner.invoke(main, ["report", "annex1"])
    assert text.exit_code == 0 and "1,069" in text.output and "524" in text.output
    assert text.output.startswith("[별표 1] 성동구 다목적 CCTV 운영 현황")
    out = runner.invoke(main, ["report", "annex1", "--format", "csv"])
    rows = list(csv.reader(io.StringIO(out.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0][:4] == ["부서", "주목적", "개소", "대수"]
    assert rows[-1][:4] == ["합계", "", "524", "1069"]
    target = tmp_path / "annex1.xlsx"
    assert runner.invoke(main, ["report", "annex1", "--format", "xlsx", "-o", str(target)]).exit_code == 0
    ws = openpyxl.load_workbook(target).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "[별표 1] 성동구 다목적 CCTV 운영 현황"
    assert values[-1][:4] == ["합계", None, 524, 1069]
    assert [v[0] for v in values[2:9]] == [r[0] for r in AGREEMENT_ANNEX1]


def test_annex1_api_follows_registry_changes(harness):
    seed_seongdong(harness.db, harness.policy)
    h = harness.token("district_manager")
    report = harness.client.get("/api/reports/annex1", headers=h).json()
    assert (report["total_sites"], report["total_cameras"]) == (524, 1069)
    cam = harness.client.get("/api/cameras", params={"department": "sanitation", "limit": 1}, headers=h).json()
    harness.client.post(f"/api/cameras/{cam['items'][0]['id']}/retire", json={"reason": "분실"}, headers=h)
    after = harness.client.get("/api/reports/annex1", headers=h).json()
    sanitation = next(r for r in after["rows"] if r["department"] == "sanitation")
    assert (sanitation["sites"], sanitation["cameras"]) == (32, 32)
    assert after["total_cameras"] == 1068
    denied = harness.client.get("/api/reports/annex1", headers=harness.token("maintenance_staff"))
    assert denied.status_code == 403 and json.loads(denied.text)["clause"]
