"""``gwanje serve``, ``gwanje demo``, ``gwanje db upgrade``."""

from __future__ import annotations

import os
import sys

import click

from gwanje.cli.common import _database, _policy, _settings
from gwanje.core.runtime import freeze_long_lived
from gwanje.core.settings import Settings


@click.command()
@click.option("--host", default=None, help="Bind address (default GWANJE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default GWANJE_PORT or 8000).")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Processes (default GWANJE_WORKERS or 1).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web application (API and console)."""
    import uvicorn

    from gwanje.web.app import create_app
    from gwanje.web.limits import server_options

    settings = _settings()
    workers = workers or settings.workers
    host, port = host or settings.host, port or settings.port
    if workers == 1:
        app = create_app(settings, policy=_policy(settings))
        freeze_long_lived()
        uvicorn.run(app, host=host, port=port, log_level="info", **server_options(access_log=settings.access_log))
        return
    from gwanje.web.app import record_policy

    _refuse_unshared_state(settings, workers)
    # Migrate, make var/'s keys and note the policy once, before the processes start.
    db = _database(settings)
    record_policy(db, _policy(settings))
    db.dispose()
    uvicorn.run(
        "gwanje.web.app:create_worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        **server_options(workers, access_log=settings.access_log),
    )


def _refuse_unshared_state(settings: Settings, workers: int) -> None:
    """Several processes share one database and one live feed, or they would each tell a different story."""
    if settings.resolved_database_url().startswith("sqlite"):
        raise click.ClickException(
            f"웹 프로세스 {workers}개는 PostgreSQL이 필요합니다 (GWANJE_DATABASE_URL) / "
            f"{workers} web processes need PostgreSQL (GWANJE_DATABASE_URL); SQLite serves one"
        )
    if not settings.bus_url:
        raise click.ClickException(
            f"웹 프로세스 {workers}개는 이벤트 버스가 필요합니다 (GWANJE_BUS_URL=nats://…) / "
            f"{workers} web processes need the event bus (GWANJE_BUS_URL=nats://…) to share the live feed"
        )


@click.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def demo(host: str | None, port: int | None) -> None:
    """Seed the Seongdong registry and demo accounts, then serve the console."""
    import uvicorn

    from gwanje.accounts.demo import create_demo_accounts
    from gwanje.registry.seed import seed_seongdong
    from gwanje.web.app import create_app
    from gwanje.web.limits import server_options

    settings = _settings()
    policy = _policy(settings)
    db = _database(settings)
    added = seed_seongdong(db, policy)
    accounts = create_demo_accounts(db, policy)
    # Presence from the first minute (officer and agent checked in, their training on file).
    from gwanje.center.presence.service import seed_demo_presence

    seed_demo_presence(db, policy, [a.username for a in accounts])
    from gwanje.center.roster.service import seed_demo_roster

    seed_demo_roster(db, policy, [a.username for a in accounts])
    # Rooms too: who may enter, a visitor with escort, and the morning's badges at the doors.
    from gwanje.cli.demo_rooms import authorised_badges, seed_demo_rooms

    seeded_rooms = seed_demo_rooms(db, policy, [a.username for a in accounts])
    # The equipment register holds every camera from the first minute (Art. 2 ④, 5), filed by a manager.
    equipment = _seed_demo_equipment(db, policy, [a.username for a in accounts])
    host = host or settings.host
    port = port or settings.port
    org = policy.operator_organisation
    click.echo(f"{org.name_ko} 등록부 / {org.name_en} registry: +{added['sites']} sites, +{added['cameras']} cameras")
    if policy.rooms_access is not None:
        click.echo(
            f"출입관리 / rooms: +{seeded_rooms.granted} authorisations, +{seeded_rooms.visitors} visitors, "
            f"+{seeded_rooms.log_lines} access-log lines  (http://{host}:{port}/center/rooms)"
        )
    if equipment is not None:
        click.echo(
            f"장비 등록부 / equipment register: {equipment.cameras} cameras filed (+{equipment.created} new)  "
            f"(http://{host}:{port}/maintenance/equipment)"
        )
    click.echo(f"\n콘솔 / console: http://{host}:{port}/   (API: http://{host}:{port}/api/docs)")
    click.echo("데모 계정 / demo accounts (password for all: %s):" % accounts[0].password)
    me = os.path.relpath(sys.argv[0]) if sys.argv and os.path.exists(sys.argv[0]) else "gwanje"
    for acct in accounts:
        role = policy.role(acct.role)
        otp = f"  OTP: {me} users otp {acct.username}" if acct.totp_secret else ""
        click.echo(f"  {acct.username:<10} {role.ko} / {role.en}{otp}")
    click.echo(
        "OTP가 필요한 계정은 위 명령으로 현재 코드를 확인하세요 / "
        "accounts marked OTP need a one-time code: run the command shown.\n"
    )
    app = create_app(settings, db=db, policy=policy)
    from gwanje.cli.demo_wiring import howto_lines, report_lines, start_demo_services
    from gwanje.situations.simulator import DEMO_KEEP_FOR, DEMO_RATE, run_simulator_in_background

    services = start_demo_services(db, policy, settings, hotlist=app.state.hotlist.match)
    if services.consumer is not None:
        app.state.mqtt_consumer = services.consumer  # its connection and counts are on the ingest page (/ingest)
    for line in report_lines(services, host, port):
        click.echo(line)
    howto = howto_lines(db, policy, services.broker_url, services.hot_plates)
    if howto:
        click.echo("\n별표2 상황을 직접 일으키기 / raise each Annex 2 situation by hand:")
        for line in howto:
            click.echo(line)
    # The board is alive from the first minute: a simulated feed from real registry sites, at a pace an
    # operator can follow; the simulator cancels its own incidents that nobody touched.
    # Over MQTT only when GWANJE_MQTT_URL is set and its broker answers (the demo consumes it); else direct.
    run_simulator_in_background(
        db,
        policy,
        settings=settings if services.broker_url == settings.mqtt_url else None,
        room_badges=authorised_badges(db, policy),
    )
    per_minute = DEMO_RATE * 60
    click.echo(
        f"\n상황판 / situation board: http://{host}:{port}/board "
        f"(모의 이벤트 분당 약 {per_minute:.0f}건, 응대 없는 모의 상황은 {DEMO_KEEP_FOR.seconds // 60}분 뒤 정리 / "
        f"about {per_minute:.0f} simulated events a minute; untouched simulated incidents are tidied after "
        f"{DEMO_KEEP_FOR.seconds // 60} min)"
    )
    import signal

    def stop_then_exit(signum: int, _frame: object) -> None:
        # uvicorn serves with its own handlers, then restores these and raises the signal again.
        services.stop()
        raise SystemExit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_then_exit)
    freeze_long_lived()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", **server_options(access_log=settings.access_log))
    finally:
        services.stop()


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations."""
    settings = _settings()
    _database(settings)
    click.echo("데이터베이스 최신 / database at head")


def _seed_demo_equipment(db, policy, usernames):
    """Run the register's camera sync as the first demo account that may manage equipment; idempotent."""
    if policy.maintenance is None:
        return None
    import sqlalchemy as sa

    from gwanje.accounts.models import User
    from gwanje.maintenance.equipment.service import sync_cameras

    managers = set(policy.roles_with("equipment.manage"))
    with db.reading() as session:
        users = session.scalars(sa.select(User).where(User.username.in_(list(usernames))).order_by(User.id)).all()
        manager = next((u for u in users if u.role in managers), None)
        if manager is not None:
            session.expunge(manager)
    return sync_cameras(db, policy, manager) if manager is not None else None
