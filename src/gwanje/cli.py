"""The ``gwanje`` command line."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from pathlib import Path

import click

from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.errors import DomainError
from gwanje.core.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError: a bad GWANJE_* variable
        raise click.ClickException(f"설정 오류 / settings error: {exc}") from None


def _policy(settings: Settings):  # noqa: ANN202
    from gwanje.policy.model import PolicyError
    from gwanje.web.app import load_configured_policy

    try:
        return load_configured_policy(settings)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


def _database(settings: Settings, migrate: bool = True) -> Database:
    from gwanje.core.migrate import upgrade

    db = Database(settings.resolved_database_url())
    try:
        if migrate:
            upgrade(db.engine)
    except Exception as exc:  # noqa: BLE001 - unreachable database, bad URL
        raise click.ClickException(f"데이터베이스에 연결할 수 없습니다 / cannot open the database: {exc}") from None
    return db


def _actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = "unknown"
    return Actor.system(f"cli:{user}")


class GwanjeGroup(click.Group):
    """Maps domain errors to a message on stderr and their exit code, never a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            click.echo(f"오류 / error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=GwanjeGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """gwanje (관제): integrated CCTV control center operations."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default=None, help="Bind address (default GWANJE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default GWANJE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web application (API and console)."""
    import uvicorn

    from gwanje.web.app import create_app

    settings = _settings()
    app = create_app(settings, policy=_policy(settings))
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def demo(host: str | None, port: int | None) -> None:
    """Seed the Seongdong registry and demo accounts, then serve the console."""
    import uvicorn

    from gwanje.accounts.demo import create_demo_accounts
    from gwanje.registry.seed import seed_seongdong
    from gwanje.web.app import create_app

    settings = _settings()
    policy = _policy(settings)
    db = _database(settings)
    added = seed_seongdong(db, policy)
    accounts = create_demo_accounts(db, policy)
    host = host or settings.host
    port = port or settings.port
    click.echo(f"성동구 등록부 / Seongdong registry: +{added['sites']} sites, +{added['cameras']} cameras")
    click.echo(f"\n콘솔 / console: http://{host}:{port}/   (API: http://{host}:{port}/api/docs)")
    click.echo("데모 계정 / demo accounts (password for all: %s):" % accounts[0].password)
    me = os.path.relpath(sys.argv[0]) if sys.argv and os.path.exists(sys.argv[0]) else "gwanje"
    for acct in accounts:
        role = policy.role(acct.role)
        otp = f"  OTP: {me} users otp {acct.username}" if acct.totp_secret else ""
        click.echo(f"  {acct.username:<10} {role.ko} / {role.en}{otp}")
    click.echo("OTP가 필요한 계정은 위 명령으로 현재 코드를 확인하세요 / "
               "accounts marked OTP need a one-time code: run the command shown.\n")
    app = create_app(settings, db=db, policy=policy)
    from gwanje.situations.simulator import run_simulator_in_background

    if settings.mqtt_url:
        from gwanje.situations.mqtt import ConsumerConfig, MqttConsumer

        MqttConsumer(db, policy, ConsumerConfig(url=settings.mqtt_url), bus=app.state.bus,
                     hotlist=app.state.hotlist.match).start()
    # The board is alive from the first minute: a simulated feed from real Seongdong sites.
    run_simulator_in_background(db, policy, bus=app.state.bus, settings=settings)
    click.echo("상황판 / situation board: http://%s:%s/board (simulated events every few seconds)" % (host, port))
    uvicorn.run(app, host=host, port=port, log_level="info")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations."""
    settings = _settings()
    _database(settings)
    click.echo("데이터베이스 최신 / database at head")


@main.group()
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


@main.group("import")
def import_group() -> None:
    """Import data."""


@import_group.command("standard")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_standard_cmd(file: Path) -> None:
    """Import a national CCTV standard data file (전국CCTV표준데이터 CSV)."""
    from gwanje.registry.importer import import_standard

    settings = _settings()
    db = _database(settings)
    policy = _policy(settings)
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        end = "" if interactive and done < total else "\n"
        click.echo(f"\r가져오는 중 / importing: {done:,}/{total:,} rows ({pct}%)", err=True, nl=False)
        if end:
            click.echo("", err=True)

    summary = import_standard(db, file, _actor(), policy=policy, progress=progress)
    click.echo(f"가져옴 / imported: {summary.imported:,}")
    click.echo(f"갱신 / updated: {summary.updated:,}")
    click.echo(f"변경 없음 / unchanged: {summary.unchanged:,}")
    click.echo(f"거부 / rejected: {len(summary.rejected):,}")
    for line, reasons in summary.rejected[:200]:
        text = "; ".join(f"{r.ko} / {r.en}" for r in reasons)
        click.echo(f"  {line}행 / line {line}: {text}")
    if len(summary.rejected) > 200:
        click.echo(f"  … {len(summary.rejected) - 200} more")


@main.group("export")
def export_group() -> None:
    """Export data."""


@export_group.command("standard")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--encoding", type=click.Choice(["utf-8-sig", "utf-8", "cp949"]), default="utf-8-sig",
              show_default=True)
def export_standard_cmd(file: Path, encoding: str) -> None:
    """Write the registry in the 13-column national standard form."""
    from gwanje.registry.importer import export_standard

    settings = _settings()
    n = export_standard(_database(settings), file, encoding=encoding)
    click.echo(f"{n:,} sites → {file}")


@export_group.command("geojson")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_geojson_cmd(file: Path) -> None:
    """Write all cameras as GeoJSON (RFC 7946)."""
    from gwanje.registry.importer import export_geojson

    settings = _settings()
    n = export_geojson(_database(settings), file)
    click.echo(f"{n:,} cameras → {file}")


@main.group()
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


@main.group()
def users() -> None:
    """Accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, help="Role code from the policy (e.g. monitoring_agent).")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--department", default=None, help="Department code (department officers).")
@click.option("--password", default=None, help="Password (prompted when omitted).")
def users_add(username: str, role: str, display_name: str | None, department: str | None,
              password: str | None) -> None:
    """Create an account."""
    from gwanje.accounts import service

    settings = _settings()
    policy = _policy(settings)
    db = _database(settings)
    if password is None:
        password = click.prompt("비밀번호 / password", hide_input=True, confirmation_prompt=True)
    with db.uow() as uow:
        user, secret = service.add_user(uow, _actor(), policy, service.NewUser(
            username=username, display_name=display_name or username, role=role, password=password,
            department=department))
        uow.commit()
        click.echo(f"{user.username} ({user.role}, {user.organisation}) 생성 / created")
        if secret:
            click.echo(f"OTP 등록 / enrol TOTP: {service.totp_uri(user)}")


@users.command("list")
def users_list() -> None:
    """List accounts."""
    from gwanje.accounts import service

    settings = _settings()
    with _database(settings).reading() as session:
        for u in service.list_users(session):
            state = "LOCKED" if u.locked else "active"
            click.echo(f"{u.username:<16} {u.organisation:<9} {u.role:<22} {u.department or '-':<18} {state}")


def _set_locked(username: str, locked: bool) -> None:
    from gwanje.accounts import service

    settings = _settings()
    with _database(settings).uow() as uow:
        service.set_locked(uow, _actor(), username, locked)
        uow.commit()
    click.echo(f"{username}: {'잠금 / locked' if locked else '해제 / unlocked'}")


@users.command("lock")
@click.argument("username")
def users_lock(username: str) -> None:
    """Lock an account and end its sessions."""
    _set_locked(username, True)


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Unlock an account and reset its failed-login count."""
    _set_locked(username, False)


@users.command("role")
@click.argument("username")
@click.argument("role")
@click.option("--department", default=None, help="Department code (department officers).")
def users_role(username: str, role: str, department: str | None) -> None:
    """Change an account's role (audited; its sessions end)."""
    from gwanje.accounts import service

    settings = _settings()
    policy = _policy(settings)
    with _database(settings).uow() as uow:
        user = service.set_role(uow, _actor(), policy, username, role, department)
        uow.commit()
        click.echo(f"{user.username}: {user.role} ({user.organisation})")
        if user.totp_secret and policy.role(user.role).totp_required:
            click.echo(f"OTP 등록 / enrol TOTP: {service.totp_uri(user)}")


@users.command("otp")
@click.argument("username")
def users_otp(username: str) -> None:
    """Print the current one-time code of an account (demo and recovery; needs database access)."""
    from gwanje.accounts import service
    from gwanje.accounts.models import User
    from sqlalchemy import select

    settings = _settings()
    with _database(settings).reading() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"사용자 없음 / no such user: {username}")
        code = service.current_totp(user)
    if code is None:
        raise click.ClickException(f"{username}: OTP 미등록 / no TOTP enrolled")
    click.echo(code)


@main.group()
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
    click.echo(f"감사 체인 손상 / audit chain broken at row {result.bad_seq}: "
               f"{result.problem_ko} / {result.problem_en}", err=True)
    sys.exit(1)


def _add_capability_commands() -> None:
    from gwanje.evidence.cli import evidence_command
    from gwanje.situations.mqtt import consume_command
    from gwanje.situations.simulator import simulate_command
    from gwanje.video.recorder import record_command
    from gwanje.video.retention import retention_command

    for command in (consume_command, simulate_command, record_command, retention_command, evidence_command):
        main.add_command(command)


_add_capability_commands()

if __name__ == "__main__":
    main()
