"""Apply Alembic revisions: at start-up and by ``gwanje db upgrade``."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "gwanje:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads", *, credentials_key: bytes | None = None) -> None:
    """Migrate to ``revision``. ``credentials_key`` seals the stream credentials that revision
    0004_camera_credentials moves out of stored addresses (none given: the environment's settings)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        if credentials_key is not None:
            cfg.attributes["credentials_key"] = credentials_key
        command.upgrade(cfg, revision)
    log.debug("database at revision %s", revision)
