"""``gwanje doctor``: what can be observed of the MQTT path from here, OK/WARN/FAIL in Korean and English.

Exits 1 when anything is not OK, so a deployment check can stop on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gwanje.cli.common import _settings
from gwanje.core.settings import Settings


@click.command("doctor")
@click.option("--url", default=None, help="Broker (default GWANJE_MQTT_URL or mqtt://127.0.0.1:1883).")
@click.option("--client-id", default=None, help="The consumer's client id (default gwanje-consumer).")
@click.option(
    "--broker-conf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The broker's mosquitto.conf (default: /etc/mosquitto/mosquitto.conf for a broker on this machine).",
)
@click.option("--no-db", is_flag=True, help="Do not read the devices' sequence counts from the database.")
def doctor_command(url: str | None, client_id: str | None, broker_conf: Path | None, no_db: bool) -> None:
    """Check the broker, the consumer's persistent session, the broker's queue settings and message loss."""
    from gwanje.situations import doctor
    from gwanje.situations.mqtt import DEFAULT_CLIENT_ID, DEFAULT_URL, ConsumerConfig

    settings = _settings()
    url = url or settings.mqtt_url or DEFAULT_URL
    config = ConsumerConfig(url=url, client_id=client_id or DEFAULT_CLIENT_ID)
    checks = [
        *doctor.check_broker(url),
        *doctor.check_consumer(config),
        *doctor.check_queue_settings(url, broker_conf),
    ]
    if not no_db:
        checks.extend(_loss_checks(settings))
    for check in checks:
        click.echo(check.line())
    problems = [c for c in checks if not c.ok]
    if problems:
        click.echo(f"문제 {len(problems)}건 / {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("이상 없음 / all OK", err=True)


def _loss_checks(settings: Settings) -> list:
    from gwanje import bootstrap
    from gwanje.situations import doctor, service

    try:
        db = bootstrap.open_database(settings, migrate=False)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return [doctor.Check("WARN", f"데이터베이스를 열 수 없습니다: {exc}", f"cannot open the database: {exc}")]
    try:
        totals = service.ingest_health(db).totals
    except Exception as exc:  # noqa: BLE001 - e.g. not migrated yet
        return [doctor.Check("WARN", f"수신 순번을 읽을 수 없습니다: {exc}", f"cannot read the sequence counts: {exc}")]
    finally:
        db.dispose()
    if totals["missing"]:
        return [
            doctor.Check(
                "WARN",
                f"장치 {totals['devices_with_loss']}대에서 메시지 {totals['missing']}건 유실 (GET /api/ingest/health)",
                f"{totals['missing']} message(s) lost from {totals['devices_with_loss']} device(s) "
                "(GET /api/ingest/health)",
            )
        ]
    return [
        doctor.Check(
            "OK",
            f"유실 없음: 장치 {totals['devices']}대, 순번 있는 메시지 {totals['received']}건",
            f"no loss: {totals['devices']} device(s), {totals['received']} sequenced message(s)",
        )
    ]
