"""``gwanje audit verify | checkpoint | public-key``: the audit chain and its signed checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gwanje.cli.common import _database, _settings


@click.group()
def audit() -> None:
    """The audit chain."""


def _report_broken(result) -> None:  # noqa: ANN001 - gwanje.core.audit.VerifyResult, imported lazily
    where = f"row {result.bad_seq}" if result.bad_seq is not None else "checkpoints"
    click.echo(
        f"감사 체인 손상 / audit chain broken at {where}: {result.problem_ko} / {result.problem_en}",
        err=True,
    )


@audit.command("verify")
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check the checkpoints' signatures against this exported public key (PEM).",
)
def audit_verify(public_key_file: Path | None) -> None:
    """Check the whole chain, its HMACs and the signed checkpoints; exit 1 naming the first bad row,
    the rows missing since a checkpoint, or the altered checkpoint."""
    from gwanje.core.audit import verify_chain
    from gwanje.core.checkpoints import load_public_key

    settings = _settings()
    key = None
    if public_key_file is not None:
        try:
            key = load_public_key(public_key_file.read_text())
        except ValueError as exc:
            raise click.ClickException(f"공개 키를 읽을 수 없습니다 / cannot read the public key: {exc}") from None
    with _database(settings).reading() as session:
        result = verify_chain(session, public_key=key)
    if not result.ok:
        _report_broken(result)
        sys.exit(1)
    keyed = f", keyed since row {result.keyed_since}" if result.keyed_since else ", not keyed yet"
    click.echo(f"감사 체인 정상 / audit chain intact: {result.rows:,} rows, head {result.head_hash}{keyed}")
    if result.checkpoint is None:
        click.echo("서명된 체크포인트 없음 / no signed checkpoint yet (gwanje audit checkpoint)")
    else:
        cp = result.checkpoint
        click.echo(
            f"체크포인트 {result.checkpoints:,}개 일치 / {result.checkpoints:,} signed checkpoints match; latest "
            f"#{cp.number} of {cp.at.isoformat(timespec='seconds')}: {cp.rows:,} rows, head {cp.head}"
        )


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify the chain, then append a signed checkpoint (rows, head, time) to the checkpoint file."""
    from gwanje.audit.service import checkpoint_now

    settings = _settings()
    result, checkpoint = checkpoint_now(_database(settings))
    if checkpoint is None:
        if result is not None:
            _report_broken(result)
        sys.exit(1)
    click.echo(
        f"체크포인트 서명 / checkpoint #{checkpoint.number} signed: {checkpoint.rows:,} rows, head {checkpoint.head}, "
        f"{checkpoint.at.isoformat(timespec='seconds')} → {settings.resolved_audit_checkpoint_file()}"
    )


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the Ed25519 public key (PEM) that verifies the checkpoints; keep a copy off this server."""
    from gwanje.core.checkpoints import CheckpointLog

    settings = _settings()
    log = CheckpointLog(settings.resolved_audit_checkpoint_file(), settings.audit_signing_key_file())
    click.echo(log.public_key_pem().rstrip())
    click.echo(f"# fingerprint {log.signer()}", err=True)
