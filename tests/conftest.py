"""Shared fixtures: a fresh, migrated database per test on both engines.

PostgreSQL is real (127.0.0.1:5432). Under CI (``CI=true``) an unreachable PostgreSQL fails
the run; elsewhere the PostgreSQL variants are skipped with the reason printed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import gwanje.bootstrap  # noqa: F401 - registers the handlers of delegated device message types
from gwanje.core.db import Database
from gwanje.core.migrate import upgrade

if TYPE_CHECKING:
    from gwanje.policy.model import Policy

PG_ADMIN_URL = os.environ.get("PGTEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


_UNGROUPED: set[str] = set()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker under ``--dist loadgroup``, xdist marks each ``xdist_group`` test by putting
    ``@group`` at the end of its node id; the scheduler keeps a group on one worker by that suffix. Where
    xdist cannot (pytest-xdist 3.8 on pytest 9.2, pytest-xdist issue 1386) the tests are spread over the
    workers silently and the ones that share an outside resource would race: they fail instead."""
    if getattr(config.option, "loadgroup", False):
        _UNGROUPED.update(i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.nodeid in _UNGROUPED:
        pytest.fail(
            "--dist loadgroup did not keep this xdist_group test on one worker: this pytest-xdist does not work "
            "with this pytest (see the pytest pin in pyproject.toml); run with -n 0 or fix the versions",
            pytrace=False,
        )


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


class PgTemplates:
    """One migrated template database per test run; each test gets a copy."""

    def __init__(self) -> None:
        self.admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.template = f"gwanje_tpl_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.template}"'))
        db = Database(self.url(self.template))
        upgrade(db.engine)
        db.dispose()

    def url(self, name: str) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def fresh(self) -> str:
        name = f"gwanje_t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return self.url(name)

    def drop(self, name_or_url: str) -> None:
        name = name_or_url.rsplit("/", 1)[-1]
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self.created:
            self.drop(name)
        self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_templates():
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required under CI and is unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable (required under CI=true): {problem}")
    templates = PgTemplates()
    yield templates
    templates.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "gwanje.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    templates = request.getfixturevalue("pg_templates")
    url = templates.fresh()
    yield url
    templates.drop(url)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        if IN_CI:
            pytest.fail(f"shared data is required under CI and was not found at {SHARED_DATA}")
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# --- application fixtures -------------------------------------------------------------------

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def policy():
    from gwanje.policy import load_default

    return load_default()


class Harness:
    """An app on a fresh database plus helpers to make accounts and bearer tokens."""

    def __init__(self, db, policy, tmp_path):
        from fastapi.testclient import TestClient

        from gwanje.core.settings import Settings
        from gwanje.web.app import create_app

        self.db = db
        self.policy = policy
        self.settings = Settings(database_url=db.url, var_dir=tmp_path / "var", escalation_seconds=0)
        self.app = create_app(self.settings, db=db, policy=policy, migrate=False)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self._tokens: dict[str, str] = {}

    def user(self, username: str, role: str, department: str | None = None) -> Any:
        from gwanje.accounts import service
        from gwanje.core.audit import Actor

        with self.db.uow() as uow:
            user, _ = service.add_user(
                uow,
                Actor.system("test"),
                self.policy,
                service.NewUser(
                    username=username, display_name=username, role=role, password=PASSWORD, department=department
                ),
            )
            uow.commit()
            return user

    def token(self, role: str, department: str | None = None) -> dict[str, str]:
        key = f"{role}:{department}"
        if key not in self._tokens:
            from gwanje.accounts import service
            from gwanje.core.audit import Actor

            user = self.user(f"u{len(self._tokens)}_{role}"[:60], role, department)
            with self.db.uow() as uow:
                self._tokens[key] = service.issue_token(uow, Actor.system("test"), user, "test")
                uow.commit()
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def counts(self) -> dict[str, int]:
        from gwanje import models

        with self.db.reading() as session:
            return {
                t.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(t))
                for t in (models.Camera, models.Site, models.AuditEntry, models.User, models.ApiToken)
            }


@pytest.fixture
def harness(db: Database, policy: Policy, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(db, policy, tmp_path)
    with h.client:
        yield h


_TOTP_STEPS_USED: dict[str, int] = {}


def fresh_totp(secret: str) -> str:
    """A TOTP code of a time step not used yet in this test run: gwanje accepts each code only once,
    so a second sign-in by the same account within 30 s waits for the next step, as a person would."""
    import time

    import pyotp

    totp = pyotp.TOTP(secret)
    step = int(time.time()) // totp.interval
    if _TOTP_STEPS_USED.get(secret) == step:
        time.sleep((step + 1) * totp.interval - time.time() + 0.05)
        step += 1
    _TOTP_STEPS_USED[secret] = step
    return totp.at(step * totp.interval)
