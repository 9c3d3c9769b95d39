"""``gwanje evidence …``: re-check a package anywhere the package and its password are."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gwanje.evidence.package import signing_key, verify_package


@click.group("evidence")
def evidence_command() -> None:
    """증거영상 패키지 / evidence packages."""


@evidence_command.command("verify")
@click.argument("package", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--password",
    prompt="패키지 비밀번호 / package password",
    hide_input=True,
    help="The password sent to the recipient separately (prompted when omitted).",
)
@click.option(
    "--check-signature",
    is_flag=True,
    help="Also check manifest.sig with this center's secret key (GWANJE_SECRET_KEY or var/secret_key).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(package: Path, password: str, check_signature: bool, as_json: bool) -> None:
    """Exit 0 when every file matches the manifest; 1 naming each file that does not."""
    key = None
    if check_signature:
        from gwanje.core.settings import Settings

        key = signing_key(Settings().resolved_secret_key())
    report = verify_package(package, password, key=key)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for name in report.files_ok:
            click.echo(f"  OK    {name}")
        for problem in report.problems:
            click.echo(f"  FAIL  {problem.line()}", err=True)
        if report.package_sha256:
            click.echo(f"package sha256 {report.package_sha256}")
        if report.manifest_sha256:
            click.echo(f"manifest sha256 {report.manifest_sha256}  signature: {report.signature}")
        if report.ok:
            n = len(report.files_ok)
            click.echo(f"검증 성공: 파일 {n}개 일치 / verified: {n} {'file matches' if n == 1 else 'files match'}")
        else:
            failed = ", ".join(report.failed_files) or "(package)"
            click.echo(f"검증 실패: {failed} / verification failed: {failed}", err=True)
    sys.exit(0 if report.ok else 1)
