"""``gwanje seed``, ``import``, ``export`` and ``report``: the registry and its standard data."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gwanje.cli.common import _actor, _database, _policy, _settings


@click.group()
def seed() -> None:
    """Load reference data."""


@seed.command("seongdong")
def seed_seongdong_cmd() -> None:
    """Load the Seongdong registry (Annex 1 at real camera-site positions)."""
    from gwanje.registry.seed import seed_seongdong

    settings = _settings()
    result = seed_seongdong(_database(settings), _policy(settings), _actor())
    if result["sites"]:
        click.echo(f"{result['sites']} sites, {result['cameras']} cameras")
    else:
        click.echo("이미 적재됨, 변경 없음 / already seeded, nothing changed")


@click.group("import")
def import_group() -> None:
    """Import data."""


@import_group.command("standard")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--columns",
    metavar="MAPPING",
    help=(
        "Map a non-standard header onto the standard's columns: FILE=STANDARD pairs "
        '("agency=관리기관명,lat=WGS84위도,…"; English aliases or Korean names), a positional list '
        '("-,관리기관명,소재지도로명주소,…"; - keeps a column as it is), or "standard" for the 13 columns '
        "in the standard order. See docs/standard-data.md."
    ),
)
def import_standard_cmd(file: Path, columns: str | None) -> None:
    """Import a national CCTV standard data file (전국CCTV표준데이터 CSV)."""
    from gwanje.registry.importer import import_standard
    from gwanje.registry.standard import parse_column_mapping

    settings = _settings()
    db = _database(settings)
    policy = _policy(settings)
    interactive = sys.stderr.isatty()
    mapping = parse_column_mapping(columns) if columns is not None else None  # refused before any work

    def progress(done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        end = "" if interactive and done < total else "\n"
        click.echo(f"\r가져오는 중 / importing: {done:,}/{total:,} rows ({pct}%)", err=True, nl=False)
        if end:
            click.echo("", err=True)

    summary = import_standard(db, file, _actor(), policy=policy, progress=progress, columns=mapping)
    click.echo(f"가져옴 / imported: {summary.imported:,}")
    click.echo(f"갱신 / updated: {summary.updated:,}")
    click.echo(f"변경 없음 / unchanged: {summary.unchanged:,}")
    click.echo(f"카메라 추가 / cameras added: {summary.cameras_added:,}")
    click.echo(f"보관일수 기본값 적용 / retention defaulted: {summary.retention_defaulted:,}")
    click.echo(f"반복 행 (카메라 유지) / repeated rows kept: {summary.repeated_rows:,}")
    click.echo(f"좌표 자리표시값 (거부) / sentinel positions (rejected): {summary.sentinel_positions:,}")
    click.echo(f"거부 / rejected: {len(summary.rejected):,}")
    for line, reasons in summary.rejected[:200]:
        text = "; ".join(f"{r.ko} / {r.en}" for r in reasons)
        click.echo(f"  {line}행 / line {line}: {text}")
    if len(summary.rejected) > 200:
        click.echo(f"  … {len(summary.rejected) - 200} more")
    click.echo(f"경고 / warnings: {len(summary.warnings):,}")
    for line, reasons in summary.warnings[:200]:
        text = "; ".join(f"{r.ko} / {r.en}" for r in reasons)
        click.echo(f"  {line}행 / line {line}: {text}")
    if len(summary.warnings) > 200:
        click.echo(f"  … {len(summary.warnings) - 200} more")


@click.group("export")
def export_group() -> None:
    """Export data."""


@export_group.command("standard")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--encoding", type=click.Choice(["utf-8-sig", "utf-8", "cp949"]), default="utf-8-sig", show_default=True)
@click.option(
    "--plain",
    is_flag=True,
    help="Only the 13 standard columns (without 관리번호 and gwanje's department/purpose/group/storage columns).",
)
def export_standard_cmd(file: Path, encoding: str, plain: bool) -> None:
    """Write the registry in the national standard form (13 columns, then gwanje's own for re-import)."""
    from gwanje.registry.importer import export_standard

    settings = _settings()
    n = export_standard(_database(settings), file, encoding=encoding, extended=not plain)
    click.echo(f"{n:,} sites → {file}")


@export_group.command("geojson")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_geojson_cmd(file: Path) -> None:
    """Write all cameras as GeoJSON (RFC 7946)."""
    from gwanje.registry.importer import export_geojson

    settings = _settings()
    n = export_geojson(_database(settings), file)
    click.echo(f"{n:,} cameras → {file}")


@click.group()
def report() -> None:
    """Reports computed from the database."""


@report.command("annex1")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "xlsx"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
def report_annex1(fmt: str, output: Path | None) -> None:
    """Annex 1 (별표1): sites and cameras per department and purpose."""
    from gwanje.registry import report as render
    from gwanje.registry.service import annex1_report

    settings = _settings()
    db = _database(settings)
    with db.reading() as session:
        data = annex1_report(session, _policy(settings))
    if fmt == "text":
        body = render.as_text(data).encode("utf-8")
    elif fmt == "csv":
        body = render.as_csv(data)
    else:
        body = render.as_xlsx(data)
        if output is None and sys.stdout.isatty():
            raise click.UsageError("XLSX는 -o 파일로 저장하세요 / write XLSX to a file with -o")
    if output:
        output.write_bytes(body)
        click.echo(f"→ {output}", err=True)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
