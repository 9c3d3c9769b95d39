"""Standard data beyond the shipped Seongdong file: a generated city file with real files' traps, a
renamed header and ``--columns``, and the Seongdong registry's export → import round trip (Annex 1)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gwanje.cli import main
from gwanje.core.audit import Actor, AuditEntry
from gwanje.core.db import Database
from gwanje.policy import load_default, load_policy
from gwanje.registry.importer import export_standard, import_standard
from gwanje.registry.models import Camera, Site
from gwanje.registry.seed import annex_counts, seed_reference_data, seed_seongdong
from gwanje.registry.service import annex1_report
from gwanje.registry.standard import STANDARD_COLUMNS
from tests.fixtures.districts import HANBIT_POLICY
from tests.fixtures.standard_files import ENGLISH_HEADER, city_file

ACTOR = Actor(id=None, name="importer-test", organisation="gu_office", role="district_manager")


@pytest.fixture(scope="module")
def hanbit():
    return load_policy(HANBIT_POLICY)


def registry(db: Database) -> tuple[list, list]:
    """Every site and camera row, whole (ids, timestamps and all)."""
    with db.reading() as s:
        sites = [tuple(r) for r in s.execute(sa.select(Site.__table__).order_by(Site.id)).all()]
        cams = [tuple(r) for r in s.execute(sa.select(Camera.__table__).order_by(Camera.id)).all()]
    return sites, cams


def camera_count(db: Database) -> int:
    with db.reading() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Camera))


def test_a_city_file_with_every_trap_keeps_every_camera(db, hanbit):
    f = city_file()
    assert f.shared_position_rows and f.retention_unknown and f.repeated and f.sentinel_lines  # the traps are there
    summary = import_standard(db, f.data, ACTOR, policy=hanbit)
    assert summary.form == "numbered" and summary.encoding == "utf-8"
    assert summary.imported == f.kept_rows
    assert summary.cameras_added == f.cameras == camera_count(db)
    assert {line for line, _ in summary.rejected} == f.sentinel_lines
    assert summary.sentinel_positions == len(f.sentinel_lines)
    assert summary.retention_defaulted == f.retention_unknown
    assert summary.repeated_rows == f.repeated
    with db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Site)) == f.kept_rows
        # the unknown retentions got Hanbit's default (21 days), not a number of the code's own
        defaulted = s.scalar(sa.select(sa.func.count(sa.distinct(Camera.site_id))).where(Camera.retention_days == 21))
        assert defaulted == f.retention_unknown
        police = s.scalars(sa.select(Camera.owner_organisation).join(Site).where(Site.managing_agency == "한빛경찰서"))
        assert set(police) == {"hanbit_police"}
    payload = json.loads(
        db_audit(db, "registry.import")[0].after  # the audit entry says the same
    )
    assert (payload["retention_defaulted"], payload["repeated_rows"], payload["sentinel_positions"]) == (
        f.retention_unknown,
        f.repeated,
        len(f.sentinel_lines),
    )


def db_audit(db: Database, action: str) -> list[AuditEntry]:
    with db.reading() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_reimporting_the_city_file_changes_nothing(db, hanbit):
    f = city_file(seed=11)
    import_standard(db, f.data, ACTOR, policy=hanbit)
    before = registry(db)
    again = import_standard(db, f.data, ACTOR, policy=hanbit)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, f.kept_rows)
    assert (again.cameras_added, again.cameras_retired) == (0, 0)
    assert registry(db) == before


def test_the_import_command_reports_what_it_kept_and_refuses_a_renamed_header(db, monkeypatch, tmp_path):
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    monkeypatch.setenv("GWANJE_POLICY_FILE", str(HANBIT_POLICY))
    f = city_file(seed=3, english_header=True)
    source = tmp_path / "renamed.csv"
    source.write_bytes(f.data)
    runner = CliRunner()

    refused = runner.invoke(main, ["import", "standard", str(source)])
    assert refused.exit_code != 0
    for name in STANDARD_COLUMNS:
        assert name in refused.output
    assert "--columns" in refused.output and "필수 열이 없습니다" in refused.output and "missing" in refused.output
    assert camera_count(db) == 0

    bad = runner.invoke(main, ["import", "standard", str(source), "--columns", "agency=owner"])
    assert bad.exit_code != 0 and "owner" in bad.output and "알 수 없습니다" in bad.output
    assert camera_count(db) == 0

    pairs = ",".join(f"{e}={k}" for e, k in zip(ENGLISH_HEADER, STANDARD_COLUMNS, strict=True))
    done = runner.invoke(main, ["import", "standard", str(source), "--columns", pairs])
    assert done.exit_code == 0, done.output
    assert f"가져옴 / imported: {f.kept_rows:,}" in done.output
    assert f"보관일수 기본값 적용 / retention defaulted: {f.retention_unknown}" in done.output
    assert f"repeated rows kept: {f.repeated}" in done.output
    assert f"sentinel positions (rejected): {len(f.sentinel_lines)}" in done.output
    assert camera_count(db) == f.cameras

    positional = "-," + ",".join(STANDARD_COLUMNS)  # the leading 번호 stays as it is
    again = runner.invoke(main, ["import", "standard", str(source), "--columns", positional])
    assert again.exit_code == 0, again.output
    assert "가져옴 / imported: 0" in again.output and "갱신 / updated: 0" in again.output
    assert f"변경 없음 / unchanged: {f.kept_rows:,}" in again.output


# ---- the Seongdong registry, exported and imported elsewhere --------------------------------------


@pytest.fixture
def other_db(database_url, request, tmp_path):
    """A second, empty database on the same engine."""
    if database_url.startswith("sqlite"):
        target = tmp_path / "other.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        url, templates = f"sqlite:///{target}", None
    else:
        templates = request.getfixturevalue("pg_templates")
        url = templates.fresh()
    database = Database(url)
    yield database
    database.dispose()
    if templates is not None:
        templates.drop(url)


def annex_rows(db: Database, policy) -> list[tuple]:  # noqa: ANN001
    with db.reading() as s:
        report = annex1_report(s, policy)
    return [(r.department, r.primary_purpose, r.camera_group, r.sites, r.cameras) for r in report.rows]


def test_export_then_import_of_the_seongdong_registry_reproduces_annex_1(db, other_db, tmp_path):
    policy = load_default()
    seed_seongdong(db, policy)
    printed = [(c.department, c.primary_purpose, c.camera_group, c.sites, c.cameras) for c in annex_counts()]
    assert annex_rows(db, policy) == printed
    path = tmp_path / "seongdong.csv"
    assert export_standard(db, path) == sum(c.sites for c in annex_counts())

    with other_db.uow() as uow:  # departments and organisations come from the policy, as `gwanje seed` does
        seed_reference_data(uow.session, policy)
        uow.commit()
    summary = import_standard(other_db, path, ACTOR, policy=policy)
    assert summary.rejected == [] and summary.warnings == []
    assert annex_rows(other_db, policy) == printed
    with db.reading() as a, other_db.reading() as b:
        cols = (Camera.department, Camera.camera_group, Camera.storage_mode, Camera.primary_purpose)
        here = a.execute(sa.select(Site.site_key, *cols).join(Site).order_by(Site.site_key, Camera.id)).all()
        there = b.execute(sa.select(Site.site_key, *cols).join(Site).order_by(Site.site_key, Camera.id)).all()
        assert here == there

    again = import_standard(other_db, path, ACTOR, policy=policy)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, summary.imported)


def test_a_plain_export_still_writes_only_the_13_columns(db, tmp_path):
    seed_seongdong(db, load_default())
    path = tmp_path / "plain.csv"
    export_standard(db, path, extended=False)
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == ",".join(STANDARD_COLUMNS)


def test_sites_imported_under_the_old_key_are_taken_over_not_duplicated(db, shared_data):
    """A registry imported before addresses and month were part of a site's identity keeps its sites."""
    policy = load_default()
    seongdong = shared_data / "cctv_standard/seongdong_cctv_standard_2018_utf8.csv"
    import_standard(db, seongdong, ACTOR, policy=policy)
    with db.reading() as s:
        now = {r.id: r.site_key for r in s.execute(sa.select(Site.id, Site.site_key))}
        cam_ids = sorted(s.scalars(sa.select(Camera.id)))
    with db.uow() as uow:  # as the previous release stored them: sha1(agency|purpose|lat|lon), cameras KEY-NN
        sites = uow.session.execute(
            sa.select(
                Site.id, Site.site_key, Site.managing_agency, Site.standard_purpose, Site.latitude, Site.longitude
            )
        ).all()
        for site in sites:
            basis = f"{site.managing_agency}|{site.standard_purpose}|{site.latitude:.6f}|{site.longitude:.6f}"
            old = "STD-" + hashlib.sha1(basis.encode()).hexdigest()[:20]
            uow.session.execute(sa.update(Site).where(Site.id == site.id).values(site_key=old))
            for cam in uow.session.scalars(sa.select(Camera).where(Camera.site_id == site.id)):
                cam.management_number = old + cam.management_number[len(site.site_key) :]
        uow.commit()

    summary = import_standard(db, seongdong, ACTOR, policy=policy)
    assert (summary.imported, summary.updated, summary.cameras_added, summary.cameras_retired) == (0, 928, 0, 0)
    with db.reading() as s:
        assert {r.id: r.site_key for r in s.execute(sa.select(Site.id, Site.site_key))} == now
        assert sorted(s.scalars(sa.select(Camera.id))) == cam_ids
        numbers = s.execute(sa.select(Camera.management_number, Site.site_key).join(Site)).all()
        assert all(number.startswith(key + "-") for number, key in numbers)
    update = json.loads(db_audit(db, "registry.site_update")[0].after)
    assert update["site_key"].startswith("STD-")
    again = import_standard(db, seongdong, ACTOR, policy=policy)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 928)


def test_the_seeded_registry_reimports_its_own_export_without_a_change(db, tmp_path):
    policy = load_default()
    seed_seongdong(db, policy)
    path = tmp_path / "seongdong.csv"
    export_standard(db, path)

    def rows() -> tuple[list, list]:
        sites, cams = registry(db)
        digest = list(Site.__table__.c.keys()).index("row_digest")
        return [s[:digest] + s[digest + 1 :] for s in sites], cams

    before = rows()
    for _ in range(2):
        summary = import_standard(db, path, ACTOR, policy=policy)
        assert (summary.imported, summary.updated, summary.unchanged) == (0, 0, 524)
        assert (summary.cameras_added, summary.cameras_retired) == (0, 0)
        assert rows() == before  # the cameras the seed numbered KEY-N are found, not added again
    assert db_audit(db, "registry.site_update") == []
