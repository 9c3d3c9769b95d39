"""``gwanje audit verify``: the audit chain."""

from __future__ import annotations

import sys

import click

from gwanje.cli.common import _database, _settings


@click.group()
def audit() -> None:
    """The audit chain."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the whole chain; exit 1 naming the first edited, removed or reordered row."""
    from gwanje.core.audit import verify_chain

    settings = _settings()
    with _database(settings).reading() as session:
        result = verify_chain(session)
    if result.ok:
        click.echo(f"감사 체인 정상 / audit chain intact: {result.rows:,} rows, head {result.head_hash}")
        return
    click.echo(
        f"감사 체인 손상 / audit chain broken at row {result.bad_seq}: {result.problem_ko} / {result.problem_en}",
        err=True,
    )
    sys.exit(1)
