"""The ``gwanje`` command line: thin commands over the capabilities, wired by :mod:`gwanje.bootstrap`.

Commands import the capability they drive inside the command function, so that ``gwanje --help`` and
small commands (``users otp``, ``audit verify``) start without loading the web app, numba or OpenCV.
These imports point down the layers like every other; the import contracts check them too.
"""

from __future__ import annotations

import logging

import click

from gwanje.cli import accounts, audit, doctor, evidence, registry, roster, serve, situations, video
from gwanje.cli.common import GwanjeGroup


@click.group(cls=GwanjeGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """gwanje (관제): integrated CCTV control center operations."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


COMMANDS = (
    serve.serve,
    serve.demo,
    serve.db,
    registry.seed,
    registry.import_group,
    registry.export_group,
    registry.report,
    accounts.users,
    audit.audit,
    situations.consume_command,
    situations.simulate_command,
    doctor.doctor_command,
    video.record_command,
    video.retention_command,
    evidence.evidence_command,
    roster.roster,
)
for _command in COMMANDS:
    main.add_command(_command)

__all__ = ["main"]
