"""Importing and exporting the national CCTV standard data, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from gwanje.core.audit import Actor, AuditEntry, verify_chain
from gwanje.core.db import Database
from gwanje.policy import load_default
from gwanje.registry import importer
from gwanje.registry.importer import AnnexDefaults, export_geojson, export_standard, import_standard
from gwanje.registry.models import Camera, Site

SEONGDONG = "cctv_standard/seongdong_cctv_standard_2018_utf8.csv"
ACTOR = Actor(id=None, name="importer-test", organisation="district", role="district_manager")


@pytest.fixture(scope="module")
def policy():
    return load_default()


@pytest.fixture
def seongdong(shared_data: Path) -> Path:
    return shared_data / SEONGDONG


def counts(db: Database) -> tuple[int, int, int]:
    with db.reading() as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Site)),
            s.scalar(sa.select(sa.func.count()).select_from(Camera)),
            s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
        )


def audit_rows(db: Database, action: str) -> list[AuditEntry]:
    with db.reading() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def edit_csv(path: Path, edit) -> bytes:  # noqa: ANN001
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    edit(rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_imports_the_real_seongdong_file(db, seongdong, policy):
    summary = import_standard(db, seongdong, ACTOR, policy=policy)
    assert (summary.imported, summary.updated, summary.unchanged, summary.rejected) == (928, 0, 0, [])
    assert summary.cameras_added == 2404
    assert summary.encoding == "utf-8" and summary.form == "standard13"
    assert counts(db) == (928, 2404, 1)

    with db.reading() as s:
        cam = s.scalar(
            sa.select(Camera)
            .join(Site)
            .where(Site.road_address == "서울특별시 성동구 용답길 133")
            .order_by(Camera.management_number)
        )
        assert cam.management_number == f"{cam.site.site_key}-01"
        assert cam.primary_purpose == "crime_prevention"
        assert cam.department == "autonomous_admin"
        assert cam.owner_organisation == "district"
        assert cam.secondary_purposes == ","  # purpose expansion is recorded explicitly, never by import
        assert cam.resolution_mp == 2.0 and cam.retention_days == 30
        assert cam.installed_month == "2007-01"
        assert cam.direction == "360도 전방면"
        assert cam.status == "active" and cam.retired_at is None
        assert "용답길 133" in cam.search_text and cam.management_number.lower() in cam.search_text
        assert cam.site.standard_purpose == "생활방범"
        assert cam.site.data_date.isoformat() == "2018-03-28"
        by_purpose = dict(
            s.execute(sa.select(Camera.primary_purpose, sa.func.count()).group_by(Camera.primary_purpose)).all()
        )
        assert by_purpose == {
            "crime_prevention": 2018,
            "traffic_enforcement": 209,
            "illegal_dumping": 77,
            "facility_management": 100,
        }
        dumping = s.scalar(sa.select(Camera).where(Camera.primary_purpose == "illegal_dumping").limit(1))
        assert (dumping.department, dumping.storage_mode) == ("sanitation", "mobile")
        parking = s.scalar(sa.select(Camera).where(Camera.primary_purpose == "traffic_enforcement").limit(1))
        assert parking.department is None  # Annex 1 has no row for it
        assert verify_chain(s).ok

    (entry,) = audit_rows(db, "registry.import")
    payload = json.loads(entry.after)
    assert payload["file_sha256"] == summary.file_sha256
    assert (payload["imported"], payload["unchanged"], payload["rejected"], payload["cameras_added"]) == (
        928,
        0,
        0,
        2404,
    )
    assert entry.actor_name == "importer-test"


def test_reimporting_the_same_file_changes_nothing(db, seongdong, policy):
    import_standard(db, seongdong, ACTOR, policy=policy)
    sites, cameras, audit = counts(db)
    with db.reading() as s:
        stamp = s.scalar(sa.select(sa.func.max(Camera.updated_at)))
    summary = import_standard(db, seongdong, ACTOR, policy=policy)
    assert (summary.imported, summary.updated, summary.unchanged, len(summary.rejected)) == (0, 0, 928, 0)
    assert summary.cameras_added == summary.cameras_retired == 0
    assert counts(db) == (sites, cameras, audit + 1)
    with db.reading() as s:
        assert s.scalar(sa.select(sa.func.max(Camera.updated_at))) == stamp
    assert len(audit_rows(db, "registry.import")) == 2
    assert audit_rows(db, "registry.site_update") == []


def first_row_with(rows: list[list[str]], count: str) -> int:
    return next(i for i, r in enumerate(rows) if i and r[4] == count)


def test_a_changed_camera_count_updates_the_site_and_retires_the_surplus(db, seongdong, policy, tmp_path):
    import_standard(db, seongdong, ACTOR, policy=policy)
    rows = list(csv.reader(io.StringIO(seongdong.read_text(encoding="utf-8"), newline="")))
    i = first_row_with(rows, "4")

    def fewer(rows):
        rows[i][4] = "2"
        rows[i][9] = "02-2286-0000"

    changed = edit_csv(seongdong, fewer)
    summary = import_standard(db, changed, ACTOR, policy=policy)
    assert (summary.imported, summary.updated, summary.unchanged) == (0, 1, 927)
    assert (summary.cameras_added, summary.cameras_retired) == (0, 2)
    assert counts(db)[:2] == (928, 2404)  # retired, not deleted

    (update,) = audit_rows(db, "registry.site_update")
    assert json.loads(update.before) == {"camera_count": 4, "agency_phone": "02-2286-5879"}
    assert json.loads(update.after) == {"camera_count": 2, "agency_phone": "02-2286-0000"}
    with db.reading() as s:
        site = s.scalar(sa.select(Site).where(Site.site_key == update.object_id))
        assert site.agency_phone == "02-2286-0000"
        cams = {c.management_number[-2:]: c for c in site.cameras}
        assert [cams[n].status for n in ("01", "02", "03", "04")] == ["active", "active", "retired", "retired"]
        assert cams["03"].retired_at is not None and cams["01"].retired_at is None

    # back to four: the retired cameras come back, no new rows
    summary = import_standard(db, seongdong, ACTOR, policy=policy)
    assert (summary.updated, summary.cameras_added, summary.cameras_retired) == (1, 2, 0)
    assert counts(db)[:2] == (928, 2404)
    with db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Camera).where(Camera.status == "retired")) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Camera).where(Camera.retired_at.is_not(None))) == 0
        assert verify_chain(s).ok


def test_a_changed_row_updates_camera_values_and_keeps_a_hand_set_department(db, seongdong, policy):
    import_standard(db, seongdong, ACTOR, policy=policy)
    rows = list(csv.reader(io.StringIO(seongdong.read_text(encoding="utf-8"), newline="")))
    i = first_row_with(rows, "3")
    with db.uow() as uow:  # an operator moved this site's cameras to another department
        key = uow.session.scalar(
            sa.select(Site.site_key).where(Site.road_address == rows[i][1], Site.latitude == float(rows[i][10]))
        )
        uow.session.execute(
            sa.update(Camera).where(Camera.management_number.like(f"{key}-%")).values(department="it_info")
        )
        uow.commit()

    def more(rows):
        rows[i][4] = "5"
        rows[i][7] = "60"

    summary = import_standard(db, edit_csv(seongdong, more), ACTOR, policy=policy)
    assert (summary.updated, summary.cameras_added) == (1, 2)
    with db.reading() as s:
        cams = s.scalars(
            sa.select(Camera).where(Camera.management_number.like(f"{key}-%")).order_by(Camera.management_number)
        ).all()
        assert [c.management_number[-2:] for c in cams] == ["01", "02", "03", "04", "05"]
        assert {c.retention_days for c in cams} == {60}
        assert [c.department for c in cams] == ["it_info"] * 3 + ["autonomous_admin"] * 2
    (update,) = audit_rows(db, "registry.site_update")
    assert json.loads(update.after) == {"camera_count": 5, "retention_days": 60}


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_still_import(db, seongdong, policy):
    def spoil(rows):
        rows[1][10], rows[1][11] = "0", "0"  # line 2
        rows[5][4] = "많음"  # line 6
        rows[10][8] = "someday"  # line 11
        rows.append(list(rows[20]))  # line 930: a repeat of line 21, kept with its cameras

    summary = import_standard(db, edit_csv(seongdong, spoil), ACTOR, policy=policy)
    assert summary.imported == 926
    rejected = {line: [r.code for r in reasons] for line, reasons in summary.rejected}
    assert rejected == {
        2: ["position_zero"],
        6: ["camera_count_invalid"],
        11: ["installed_month_invalid"],
    }
    assert [(line, [r.code for r in reasons]) for line, reasons in summary.warnings] == [(930, ["repeated_row"])]
    assert (summary.repeated_rows, summary.sentinel_positions) == (1, 1)
    assert counts(db)[0] == 926
    payload = json.loads(audit_rows(db, "registry.import")[0].after)
    assert payload["rejected"] == 3
    assert {"line": 6, "reasons": ["camera_count_invalid"]} in payload["rejected_lines"]


def test_cp949_and_bom_variants_import_identically(db, seongdong, policy, tmp_path):
    text = seongdong.read_text(encoding="utf-8")
    first = import_standard(db, text.encode("cp949"), ACTOR, policy=policy)
    assert first.encoding == "cp949" and first.imported == 928
    with db.reading() as s:
        snapshot = s.execute(sa.select(Site.site_key, Site.row_digest, Site.road_address).order_by(Site.site_key)).all()
    for variant, encoding in ((text.encode("utf-8-sig"), "utf-8-sig"), (text.encode("utf-8"), "utf-8")):
        again = import_standard(db, variant, ACTOR, policy=policy)
        assert again.encoding == encoding
        assert (again.imported, again.updated, again.unchanged) == (0, 0, 928)
    with db.reading() as s:
        assert (
            s.execute(sa.select(Site.site_key, Site.row_digest, Site.road_address).order_by(Site.site_key)).all()
            == snapshot
        )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949"])
def test_export_then_reimport_is_a_no_op(db, seongdong, policy, tmp_path, encoding):
    import_standard(db, seongdong, ACTOR, policy=policy)
    path = tmp_path / "export.csv"
    assert export_standard(db, path, encoding=encoding) == 928
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    before = counts(db)
    summary = import_standard(db, path, ACTOR, policy=policy)
    assert (summary.imported, summary.updated, summary.unchanged, summary.rejected) == (0, 0, 928, [])
    assert counts(db) == (before[0], before[1], before[2] + 1)


def test_export_counts_cameras_in_service_and_writes_the_original_purpose(db, seongdong, policy, tmp_path):
    import_standard(db, seongdong, ACTOR, policy=policy)
    with db.uow() as uow:
        site = uow.session.scalar(
            sa.select(Site)
            .join(Camera)
            .where(Camera.primary_purpose == "crime_prevention", Site.standard_purpose == "차량방범")
            .limit(1)
        )
        site_id, key = site.id, site.site_key
        uow.session.execute(sa.update(Camera).where(Camera.management_number == f"{key}-01").values(status="retired"))
        uow.commit()
    path = tmp_path / "export.csv"
    export_standard(db, path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    with db.reading() as s:
        live = s.scalar(
            sa.select(sa.func.count()).select_from(Camera).where(Camera.site_id == site_id, Camera.status != "retired")
        )
        lat = s.scalar(sa.select(Site.latitude).where(Site.id == site_id))
    mine = [r for r in rows if float(r["WGS84위도"]) == lat and r["설치목적구분"] == "차량방범"]
    assert len(mine) == 1 and int(mine[0]["카메라대수"]) == live
    assert sum(int(r["카메라대수"]) for r in rows) == 2403


def test_geojson_export_is_a_valid_feature_collection_of_cameras(db, seongdong, policy, tmp_path):
    import_standard(db, seongdong, ACTOR, policy=policy)
    path = tmp_path / "cameras.geojson"
    assert export_geojson(db, path) == 2404
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 2404
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 124.5 <= lon <= 132 and 33 <= lat <= 38.7  # [lon, lat], RFC 7946 order
        assert all(len(str(v).split(".")[-1]) <= 7 for v in (lon, lat))
        props = feature["properties"]
        assert props["purposes"][0] == props["primary_purpose"]
        assert {"management_number", "site_key", "department", "status", "storage_mode"} <= props.keys()
    with db.reading() as s:
        first = doc["features"][0]["properties"]["management_number"]
        cam = s.scalar(sa.select(Camera).where(Camera.management_number == first))
        assert doc["features"][0]["geometry"]["coordinates"] == [round(cam.longitude, 7), round(cam.latitude, 7)]


def test_an_error_mid_import_leaves_nothing_behind(db, seongdong, policy, monkeypatch):
    calls = {"n": 0}
    original = importer._BulkWriter.insert

    def failing(self, table, columns, payload):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full")
        return original(self, table, columns, payload)

    monkeypatch.setattr(importer._BulkWriter, "insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_standard(db, seongdong, ACTOR, policy=policy, batch_size=100)
    assert counts(db) == (0, 0, 0)
    monkeypatch.setattr(importer._BulkWriter, "insert", original)
    assert import_standard(db, seongdong, ACTOR, policy=policy).imported == 928


def test_progress_is_reported_about_every_two_percent(db, seongdong, policy):
    seen: list[tuple[int, int]] = []
    import_standard(db, seongdong, ACTOR, policy=policy, progress=lambda done, total: seen.append((done, total)))
    assert 40 <= len(seen) <= 60
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (928, 928)


def test_police_cameras_belong_to_the_police_and_a_callable_can_pick_departments(db, seongdong):
    def police(rows):
        for r in rows[1:4]:
            r[0] = "서울성동경찰서"

    summary = import_standard(db, edit_csv(seongdong, police), ACTOR, policy=load_default())
    assert summary.imported == 928
    with db.reading() as s:
        owners = dict(
            s.execute(
                sa.select(Camera.department, Camera.owner_organisation)
                .where(Camera.owner_organisation == "police")
                .distinct()
            ).all()
        )
    assert owners == {"police_station": "police"}

    picks = []

    def lookup(purpose, owner):
        picks.append((purpose, owner))
        return AnnexDefaults("it_info") if purpose == "facility_management" else None

    def police_and_moved(rows):
        police(rows)
        rows[1][10] = "37.1"

    data = edit_csv(seongdong, police_and_moved)
    summary = import_standard(db, data, ACTOR, policy=lookup)
    assert summary.imported == 1  # a moved site is a new site when the file has no 관리번호
    assert picks == [("crime_prevention", "police")]


def test_sites_created_after_an_import_get_fresh_ids(db, seongdong, policy):
    from gwanje.core.clock import utcnow

    import_standard(db, seongdong, ACTOR, policy=policy)
    with db.uow() as uow:
        now = utcnow()
        site = Site(
            site_key="CAM-manual",
            managing_agency="성동구",
            latitude=37.56,
            longitude=127.04,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(site)
        uow.session.flush()
        assert site.id == 929
        uow.commit()
    data = edit_csv(seongdong, lambda rows: rows[1].__setitem__(10, "37.1"))
    assert import_standard(db, data, ACTOR, policy=policy).imported == 1
    with db.reading() as s:
        assert s.scalar(sa.select(sa.func.max(Site.id))) == 930


def hanbit_file() -> bytes:
    """A generated standard file of the second district: it says 주정차단속, but also 교통단속 and 교통정보수집."""
    from gwanje.registry.standard import STANDARD_COLUMNS

    sites = [  # agency, 설치목적구분, latitude
        ("한빛구청", "주정차단속", "37.561"),
        ("한빛경찰서", "방범", "37.562"),
        ("한빛구청", "교통단속", "37.563"),
        ("한빛구청", "교통정보수집", "37.564"),
        ("한빛구청", "쓰레기단속", "37.565"),
    ]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(STANDARD_COLUMNS)
    for agency, purpose, lat in sites:
        out.writerow(
            [
                agency,
                f"한빛시 한빛구 {lat}",
                "",
                purpose,
                "2",
                "200",
                "",
                "30",
                "2019-05",
                "",
                lat,
                "127.04",
                "2026-11-01",
            ]
        )
    return buf.getvalue().encode("utf-8")


def test_another_district_imports_under_its_own_policy_and_reports_the_purposes_it_does_not_map(db):
    from gwanje.policy import load_policy
    from gwanje.registry.schemas import ImportSummaryRead
    from tests.fixtures.districts import HANBIT_POLICY

    hanbit = load_policy(HANBIT_POLICY)
    summary = import_standard(db, hanbit_file(), ACTOR, policy=hanbit)

    assert (summary.imported, summary.rejected, summary.cameras_added) == (5, [], 10)
    assert [(line, [r.code for r in reasons]) for line, reasons in summary.warnings] == [
        (4, ["purpose_unmapped"]),
        (5, ["purpose_unmapped"]),
    ]
    assert "교통단속" in summary.warnings[0][1][0].ko and "교통정보수집" in summary.warnings[1][1][0].en
    with db.reading() as s:
        found = {
            (purpose, primary, owner, department)
            for purpose, primary, owner, department in s.execute(
                sa.select(
                    Site.standard_purpose, Camera.primary_purpose, Camera.owner_organisation, Camera.department
                ).join(Site, Site.id == Camera.site_id)
            )
        }
    assert found == {
        ("주정차단속", "illegal_parking", "gu_office", "parking_div"),
        ("방범", "crime_prevention", "hanbit_police", "hanbit_station"),
        ("교통단속", "other", "gu_office", None),
        ("교통정보수집", "other", "gu_office", None),
        ("쓰레기단속", "illegal_dumping", "gu_office", "cleanup_div"),
    }
    payload = json.loads(audit_rows(db, "registry.import")[0].after)
    assert payload["warnings"] == 2
    assert payload["warned_lines"] == [
        {"line": 4, "warnings": ["purpose_unmapped"]},
        {"line": 5, "warnings": ["purpose_unmapped"]},
    ]
    read = ImportSummaryRead.from_summary(summary)
    assert [w.line for w in read.warnings] == [4, 5] and read.warnings[0].reasons[0].code == "purpose_unmapped"
    assert read.rows == 5 and read.rejected == []


def test_the_import_command_lists_the_warnings_under_the_configured_policy(db, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from gwanje.cli import main
    from tests.fixtures.districts import HANBIT_POLICY

    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    monkeypatch.setenv("GWANJE_POLICY_FILE", str(HANBIT_POLICY))
    source = tmp_path / "hanbit.csv"
    source.write_bytes(hanbit_file())
    result = CliRunner().invoke(main, ["import", "standard", str(source)])
    assert result.exit_code == 0, result.output
    assert "가져옴 / imported: 5" in result.output and "경고 / warnings: 2" in result.output
    assert "4행 / line 4:" in result.output and "교통단속" in result.output and "교통정보수집" in result.output
