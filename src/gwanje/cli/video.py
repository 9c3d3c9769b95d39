"""``gwanje record`` and ``gwanje retention``: the recorder and the destruction of expired video."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from gwanje.cli.common import _database, _policy, _settings
from gwanje.core.crypto import SecretBox
from gwanje.video.recorder import record_forever
from gwanje.video.retention import run_retention


@click.command("record")
@click.option("--poll", default=30.0, show_default=True, help="Seconds between re-reading recording settings.")
@click.option(
    "--retention-every",
    default=3600.0,
    show_default=True,
    help="Seconds between retention passes (0: none here; run `gwanje retention`).",
)
def record_command(poll: float, retention_every: float) -> None:
    """Record every camera set to record (stream copy into segments) until stopped (Ctrl-C, SIGTERM)."""
    settings = _settings()
    db = _database(settings)
    policy = _policy(settings)
    click.echo(f"녹화 시작 / recording into {Path(settings.var_dir).resolve() / 'recordings'}")
    box = SecretBox(settings.resolved_credentials_key())
    asyncio.run(
        record_forever(
            db, policy, Path(settings.var_dir), poll_s=poll, retention_every_s=retention_every, credentials=box
        )
    )


@click.command("retention")
def retention_command() -> None:
    """Destroy recordings and exports past their retention period (unless held); record each."""
    settings = _settings()
    report = run_retention(_database(settings), _policy(settings), Path(settings.var_dir))
    click.echo(json.dumps({k: len(v) for k, v in report.as_dict().items()}, ensure_ascii=False))
    if report.errors:
        for problem in report.errors[:20]:
            click.echo(f"오류 / error: {problem}", err=True)
        raise SystemExit(1)
