"""``gwanje roster import FILE --as USERNAME [--month YYYY-MM]``: a center's own roster file (XLSX or CSV)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gwanje.cli.common import _database, _policy, _settings


@click.group()
def roster() -> None:
    """The shift roster (Art. 9 ①)."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The account keeping the roster (it must hold roster.manage).")
@click.option("--month", default=None, help="YYYY-MM, for a month grid whose columns are day numbers.")
def import_command(file: Path, username: str, month: str | None) -> None:
    """Import a month grid or a long-format file: good rows are kept, bad rows named by line (exit 1)."""
    from sqlalchemy import select

    from gwanje.accounts.models import User
    from gwanje.center.roster.service import import_roster
    from gwanje.core.errors import DomainError
    from gwanje.policy import decisions

    settings = _settings()
    policy = _policy(settings)
    db = _database(settings)
    with db.reading() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise click.ClickException(f"알 수 없는 계정 / unknown account: {username}")
    verdict = decisions.role_has_permission(policy, user.role, "roster.manage")
    if not verdict.allowed:
        raise click.ClickException(f"{verdict.reason_ko} / {verdict.reason_en}")
    try:
        report = import_roster(db, policy, user, file.read_bytes(), filename=file.name, month=month)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message_ko} / {exc.message_en}") from None
    click.echo(
        f"{report.filename}: 읽은 행 {report.rows_read}, 새 근무 {report.shifts_created}, 그대로 {report.unchanged} / "
        f"rows read {report.rows_read}, shifts created {report.shifts_created}, unchanged {report.unchanged}"
    )
    for line, ko, en in report.errors:
        click.echo(f"  {line}행 / line {line}: {ko} / {en}", err=True)
    if report.errors:
        click.echo(f"{len(report.errors)}개 행을 받지 않았습니다 / {len(report.errors)} line(s) refused", err=True)
        sys.exit(1)
