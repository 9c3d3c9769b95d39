"""The audit chain on both engines: append-only in the database, tampering named by verify."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gwanje.cli import main
from gwanje.core.audit import Actor, AuditLog, Change, verify_chain
from gwanje.core.db import Database


def _fill(db: Database, n: int = 6) -> None:
    with db.uow() as uow:
        log = AuditLog(uow.session)
        for i in range(n):
            log.append(
                Actor(7, "tester", "district", "district_manager", f"req-{i}"),
                Change(
                    "camera.update",
                    "camera",
                    f"CAM-{i}",
                    {"status": "active"},
                    {"status": "fault"},
                    purpose=None,
                    clause="annex-1",
                ),
            )
        uow.commit()


def _bypass_triggers(db: Database, statements: list[str]) -> None:
    """What an attacker with database access could do: switch the guard off, then edit."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        for statement in statements:
            conn.execute(sa.text(statement))
        if db.dialect == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_a_fresh_chain_verifies_with_row_count_and_head(db):
    _fill(db)
    with db.reading() as s:
        result = verify_chain(s)
    assert result.ok and result.rows == 6 and len(result.head_hash) == 64


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor_name = 'someone else' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ],
)
def test_the_database_itself_refuses_update_and_delete(db, statement):
    _fill(db)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with db.reading() as s:
        assert verify_chain(s).ok


def test_emptying_the_table_is_refused(db):
    _fill(db)
    # SQLite has no TRUNCATE; its equivalent is an unqualified DELETE.
    statement = "TRUNCATE audit_log" if db.dialect == "postgresql" else "DELETE FROM audit_log"
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with db.reading() as s:
        assert verify_chain(s).rows == 6


@pytest.mark.parametrize(
    "statement, bad_seq, word",
    [
        ('UPDATE audit_log SET after = \'{"status":"active"}\' WHERE seq = 3', 3, "edited"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "removed"),
        # Swap two rows' contents (keeping each row's own hashes): the links break at the first.
        ("UPDATE audit_log SET seq = CASE seq WHEN 2 THEN 5 WHEN 5 THEN 2 END WHERE seq IN (2, 5)", 2, "link"),
    ],
)
def test_verify_names_the_first_tampered_row(db, statement, bad_seq, word, monkeypatch):
    _fill(db)
    statements = [statement]
    if "CASE" in statement:
        # Unique keys are checked per row; go through a temporary seq.
        statements = [
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 5",
            "UPDATE audit_log SET seq = 5 WHERE seq = -2",
        ]
    _bypass_triggers(db, statements)
    with db.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.bad_seq == bad_seq
    assert word in result.problem_en

    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    out = CliRunner().invoke(main, ["audit", "verify"])
    assert out.exit_code == 1
    assert f"row {bad_seq}" in out.output


def test_cli_verify_prints_count_and_head_when_intact(db, monkeypatch):
    _fill(db, 3)
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    out = CliRunner().invoke(main, ["audit", "verify"])
    assert out.exit_code == 0, out.output
    assert "3 rows" in out.output


def test_concurrent_appends_never_fork_the_chain(db):
    import threading

    errors = []

    def worker(k: int) -> None:
        try:
            for i in range(10):
                with db.uow() as uow:
                    AuditLog(uow.session).append(Actor(k, f"w{k}"), Change("test.append", "x", f"{k}-{i}"))
                    uow.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.reading() as s:
        result = verify_chain(s)
    assert result.ok and result.rows == 40


def test_a_changed_policy_file_is_recorded_once(db):
    from gwanje.core.audit import record_policy_in_force

    with db.uow() as uow:
        assert record_policy_in_force(uow.session, "seongdong.yaml", "a" * 64)
        uow.commit()
    with db.uow() as uow:
        assert not record_policy_in_force(uow.session, "seongdong.yaml", "a" * 64)
    with db.uow() as uow:
        assert record_policy_in_force(uow.session, "seongdong.yaml", "b" * 64)
        uow.commit()
    with db.reading() as s:
        rows = s.execute(sa.text("SELECT before, after FROM audit_log WHERE action = 'policy.load' ORDER BY seq")).all()
        assert len(rows) == 2 and '"sha256":"a' in rows[1][0] and '"sha256":"b' in rows[1][1]
        assert verify_chain(s).ok
