"""What every command shares: wiring from :mod:`gwanje.bootstrap`, errors as messages and exit codes."""

from __future__ import annotations

import getpass
import sys

import click

from gwanje import bootstrap
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.errors import DomainError
from gwanje.core.settings import Settings
from gwanje.policy.model import Policy


def _settings() -> Settings:
    try:
        return bootstrap.load_settings()
    except bootstrap.ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def _policy(settings: Settings) -> Policy:
    try:
        return bootstrap.load_configured_policy(settings)
    except bootstrap.ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def _database(settings: Settings, migrate: bool = True) -> Database:
    try:
        return bootstrap.open_database(settings, migrate=migrate)
    except bootstrap.ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


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
