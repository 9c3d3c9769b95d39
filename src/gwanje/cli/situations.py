"""``gwanje consume`` and ``gwanje simulate``: device events in over MQTT, and a realistic feed."""

from __future__ import annotations

import logging
import signal
import threading

import click

from gwanje import bootstrap
from gwanje.bootstrap import BackgroundBus
from gwanje.cli.common import _database, _policy, _settings
from gwanje.core.errors import Forbidden
from gwanje.core.runtime import freeze_long_lived
from gwanje.situations.mqtt import (
    DEFAULT_CLIENT_ID,
    DEFAULT_URL,
    TOPIC_ROOT,
    ConsumerConfig,
    parse_broker_url,
    run_consumer,
)
from gwanje.situations.simulator import (
    EventMix,
    HttpSender,
    MqttSender,
    load_cameras,
    load_hot_plates,
    packaged_cameras,
    room_mix,
    simulate,
)


@click.command("consume")
@click.option("--url", default=None, help=f"Broker (default GWANJE_MQTT_URL or {DEFAULT_URL}).")
@click.option(
    "--client-id",
    default=DEFAULT_CLIENT_ID,
    show_default=True,
    help="Fixed client id: the broker keeps this id's session while the consumer is down.",
)
@click.option("--topic-root", default=TOPIC_ROOT, show_default=True, help="Subscribe to ROOT/#.")
@click.option(
    "--batch-max", default=ConsumerConfig.batch_max, show_default=True, help="Most messages stored per transaction."
)
@click.option("--batch-ms", default=0, show_default=True, help="Longest wait to fill a batch.")
def consume_command(url: str | None, client_id: str, topic_root: str, batch_max: int, batch_ms: int) -> None:
    """Consume device events from MQTT into the inbox (QoS 1, persistent session, ack after commit)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    url = url or settings.mqtt_url or DEFAULT_URL
    try:
        parse_broker_url(url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db = _database(settings)
    policy = _policy(settings)
    background = BackgroundBus(settings)
    bus = background.bus
    if bus is not None:
        db.publish_to(bus.publish_many)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    config = ConsumerConfig(
        url=url, client_id=client_id, topic_root=topic_root, batch_max=batch_max, batch_wait_s=batch_ms / 1000
    )
    click.echo(f"MQTT 수신 / consuming {topic_root}/# from {url} as {client_id}", err=True)
    try:
        freeze_long_lived()
        run_consumer(db, policy, config, stop_event=stop)
    finally:
        background.close()
        db.dispose()


@click.command("simulate")
@click.option("--via", type=click.Choice(["mqtt", "http"]), default="mqtt", show_default=True)
@click.option(
    "--url",
    default=None,
    help=f"Broker (mqtt, default GWANJE_MQTT_URL or {DEFAULT_URL}) or app (http://127.0.0.1:8000).",
)
@click.option("--rate", default=5.0, show_default=True, help="Events per second.")
@click.option("--count", default=None, type=int, help="Stop after this many events.")
@click.option("--duration", default=None, type=float, help="Stop after this many seconds.")
@click.option("--token", default=None, help="Device bearer token (--via http).")
@click.option("--with-bad", is_flag=True, help="About 1% malformed, oversized, bad-topic and replayed messages.")
@click.option("--seed", default=None, type=int, help="Random seed (same seed, same events).")
@click.option("--topic-root", default=TOPIC_ROOT, show_default=True)
@click.option(
    "--packaged-registry",
    is_flag=True,
    help="Use the packaged Seongdong seed's cameras instead of reading the database.",
)
def simulate_command(
    via: str,
    url: str | None,
    rate: float,
    count: int | None,
    duration: float | None,
    token: str | None,
    with_bad: bool,
    seed: int | None,
    topic_root: str,
    packaged_registry: bool,
) -> None:
    """Publish a realistic mix of device events at real registry sites."""
    from gwanje.cli.demo_rooms import authorised_badges, demo_badges

    settings = _settings()
    policy = _policy(settings)
    if packaged_registry:
        cameras, hot, badges = packaged_cameras(), [], demo_badges(policy)
    else:
        try:
            db = bootstrap.open_database(settings, migrate=False)
            cameras, hot = load_cameras(db), load_hot_plates(db)
            badges = authorised_badges(db, policy) or demo_badges(policy)
        except Exception as exc:  # noqa: BLE001 - no database (ConfigurationError) or no registry: say what to do
            raise click.ClickException(
                f"등록부를 읽을 수 없습니다 / cannot read the registry ({exc}); use --packaged-registry"
            ) from None
        else:
            db.dispose()
    if not cameras:
        raise click.ClickException(
            "등록된 카메라가 없습니다 / no cameras: run `gwanje seed seongdong` or use --packaged-registry"
        )
    mix = EventMix(cameras, hot, seed=seed, with_bad=with_bad, **room_mix(policy, badges))
    if via == "http":
        if not token:
            raise click.UsageError("--via http needs --token (a device account's bearer token)")
        sender = HttpSender(url or f"http://{settings.host}:{settings.port}", token)
    else:
        target = url or settings.mqtt_url or DEFAULT_URL
        try:
            sender = MqttSender(target, topic_root)
        except (OSError, ValueError) as exc:
            raise click.ClickException(
                f"브로커에 연결할 수 없습니다 / cannot reach the broker {target}: {exc}"
            ) from None
    if count is None and duration is None:
        click.echo("Ctrl-C로 멈춤 / Ctrl-C to stop", err=True)
    stop = threading.Event()
    try:
        report = simulate(sender, mix, rate, count=count, duration=duration, stop_event=stop)
    except Forbidden as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        stop.set()
        report = None
    finally:
        sender.close()
    if report is not None:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.by_type.items()))
        click.echo(
            f"보냄 / sent {report.sent:,} in {report.seconds:.1f}s ({report.sent / max(report.seconds, 1e-9):.0f}/s): "
            f"{kinds}; {report.incident_raising} should raise incidents"
        )
        if isinstance(sender, HttpSender):
            click.echo("HTTP: " + ", ".join(f"{k}×{v}" for k, v in sorted(sender.statuses.items())))
