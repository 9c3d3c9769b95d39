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
def test_verify_names_the_first_tampered_row(db, statement, bad_seq, word, monkeypatch, tmp_path):
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
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    out = CliRunner().invoke(main, ["audit", "verify"])
    assert out.exit_code == 1
    assert f"row {bad_seq}" in out.output


def test_cli_verify_prints_count_and_head_when_intact(db, monkeypatch, tmp_path):
    _fill(db, 3)
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
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


# --- the keyed chain and its signed checkpoints (issue 8, finding 5) ---------------------------------

AUDIT_KEY = "test-audit-key-that-is-not-in-the-database"


@pytest.fixture
def keyed(db, tmp_path, monkeypatch):
    """The database as every entry point opens it: HMAC key and checkpoint log from settings, var/ apart."""
    from gwanje.bootstrap import configure_audit
    from gwanje.core.settings import Settings

    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GWANJE_AUDIT_KEY", AUDIT_KEY)
    configure_audit(db, Settings())
    return db


def _cli(*args: str):  # noqa: ANN202
    return CliRunner().invoke(main, ["audit", *args])


def _attack(db: Database, edit) -> None:  # noqa: ANN001
    """Someone past the triggers edits rows and recomputes the SHA-256 chain with the published algorithm.

    ``edit(row)`` changes a row's fields (a dict) in place. The attacker has no HMAC key, so the MACs
    stay as they were (or are dropped, if ``edit`` sets them to None).
    """
    from gwanje.core.audit import GENESIS, HASHED_FIELDS, row_digest

    columns = [*HASHED_FIELDS, "mac", "key_id"]
    with db.engine.connect() as conn:
        rows = [
            dict(r._mapping) for r in conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM audit_log ORDER BY seq"))
        ]
    prev = GENESIS
    updates = []
    for row in rows:
        edit(row)
        fields = {name: row[name] for name in HASHED_FIELDS}
        if isinstance(fields["at"], str):  # SQLite hands back text
            from datetime import datetime, timezone

            fields["at"] = datetime.fromisoformat(fields["at"]).replace(tzinfo=timezone.utc)
        if row["key_id"] is not None:
            fields["key_id"] = row["key_id"]
        digest = row_digest(fields, prev)
        updates.append({**row, "prev_hash": prev, "hash": digest})
        prev = digest
    sets = ", ".join(f"{c} = :{c}" for c in ("actor_name", "after", "prev_hash", "hash", "mac", "key_id"))
    statement = sa.text(f"UPDATE audit_log SET {sets} WHERE seq = :seq")

    def apply(conn) -> None:  # noqa: ANN001
        # Temporary hashes first: the unique index on ``hash`` is checked row by row.
        conn.execute(sa.text("UPDATE audit_log SET hash = 'tmp-' || seq"))
        conn.execute(statement, updates)

    _bypass(db, apply)


def _bypass(db: Database, apply) -> None:  # noqa: ANN001
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        apply(conn)
        if db.dialect == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_rows_before_the_key_keep_verifying_and_every_row_after_is_keyed(db, tmp_path, monkeypatch):
    _fill(db, 3)  # written before the chain was keyed: plain SHA-256
    keyed = db
    from gwanje.bootstrap import configure_audit
    from gwanje.core.settings import Settings

    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GWANJE_AUDIT_KEY", AUDIT_KEY)
    configure_audit(keyed, Settings())
    _fill(keyed, 3)
    with keyed.reading() as s:
        macs = s.execute(sa.text("SELECT mac, key_id FROM audit_log ORDER BY seq")).all()
        result = verify_chain(s)
    assert [m is None for m, _ in macs] == [True, True, True, False, False, False]
    assert len({k for _, k in macs[3:]}) == 1 and AUDIT_KEY not in str(macs)
    assert result.ok and result.rows == 6 and result.keyed_since == 4

    # A writer without the key, after the switch: the downgrade is named.
    plain = Database(db.url)
    _fill(plain, 1)
    plain.dispose()
    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.bad_seq == 7 and result.kind == "unkeyed"
    assert "keyed since row 4" in result.problem_en


def test_deleting_the_newest_rows_is_a_truncation_against_the_signed_checkpoint(keyed):
    _fill(keyed, 6)
    out = _cli("checkpoint")
    assert out.exit_code == 0, out.output
    assert "checkpoint #1 signed: 6 rows" in out.output
    _bypass(keyed, lambda conn: conn.execute(sa.text("DELETE FROM audit_log WHERE seq > 4")))

    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.kind == "truncated" and result.bad_seq == 5
    assert "rows 5…6 missing since checkpoint 1 of" in result.problem_en
    out = _cli("verify")
    assert out.exit_code == 1 and "rows 5…6 missing since checkpoint 1 of" in out.output
    # A broken chain is never checkpointed over.
    out = _cli("checkpoint")
    assert out.exit_code == 1 and "missing since checkpoint" in out.output


def test_an_edited_row_with_the_plain_chain_recomputed_is_named_by_its_hmac(keyed):
    _fill(keyed, 6)

    def edit(row: dict) -> None:
        if row["seq"] == 3:
            row["after"] = '{"status":"active"}'

    _attack(keyed, edit)
    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.bad_seq == 3 and result.kind == "resigned"
    assert "HMAC does not match although the hashes link" in result.problem_en
    out = _cli("verify")
    assert out.exit_code == 1 and "row 3" in out.output


def test_on_postgresql_a_replica_role_session_that_skips_the_triggers_is_still_caught(keyed):
    if keyed.dialect != "postgresql":
        pytest.skip("session_replication_role is PostgreSQL's")
    _fill(keyed, 6)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), keyed.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor_name = 'x' WHERE seq = 2"))

    from gwanje.core.audit import GENESIS, HASHED_FIELDS, row_digest

    with keyed.engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM audit_log ORDER BY seq"))]
        prev = GENESIS
        conn.execute(sa.text("UPDATE audit_log SET hash = 'tmp-' || seq"))
        for row in rows:
            if row["seq"] == 2:
                row["actor_name"] = "someone else"
            fields = {name: row[name] for name in HASHED_FIELDS} | {"key_id": row["key_id"]}
            digest = row_digest(fields, prev)
            conn.execute(
                sa.text("UPDATE audit_log SET actor_name = :n, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"n": row["actor_name"], "p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.bad_seq == 2 and result.kind == "resigned"


@pytest.mark.parametrize("drop_key_id, kind", [(False, "unkeyed"), (True, "rewritten")])
def test_stripping_the_hmacs_and_recomputing_is_caught(keyed, drop_key_id, kind):
    _fill(keyed, 6)
    assert _cli("checkpoint").exit_code == 0

    def strip(row: dict) -> None:
        row["mac"] = None
        if drop_key_id:
            row["key_id"] = None  # the chain now looks as if it had never been keyed

    _attack(keyed, strip)
    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.kind == kind
    assert result.bad_seq == (1 if kind == "unkeyed" else 6)


def test_a_tampered_checkpoint_file_is_reported(keyed, tmp_path):
    _fill(keyed, 3)
    assert _cli("checkpoint").exit_code == 0
    _fill(keyed, 3)
    out = _cli("checkpoint")
    assert out.exit_code == 0, out.output
    with keyed.reading() as s:
        result = verify_chain(s)
    assert result.ok and result.checkpoints == 2 and result.checkpoint.rows == 6
    out = _cli("verify")
    assert out.exit_code == 0 and "2 signed checkpoints match" in out.output

    path = tmp_path / "var" / "audit-checkpoints.jsonl"
    first, second = path.read_text().splitlines()
    # Someone lowers the last checkpoint's row count to hide rows they will delete: the signature fails.
    path.write_text(first + "\n" + second.replace('"rows":6', '"rows":5') + "\n")
    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and result.kind == "checkpoint_file"
    assert "checkpoint 2 of" in result.problem_en and "signature does not verify" in result.problem_en
    out = _cli("verify")
    assert out.exit_code == 1 and "signature does not verify" in out.output

    # Or removes the first line: the link of the next one shows it.
    path.write_text(second + "\n")
    with keyed.reading() as s:
        result = verify_chain(s)
    assert not result.ok and "removed or reordered" in result.problem_en

    # Or re-signs the whole file with a key of their own: the exported public key tells.
    path.write_text(first + "\n" + second + "\n")
    exported = tmp_path / "public.pem"
    exported.write_text(_cli("public-key").stdout)
    assert exported.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    out = _cli("verify", "--public-key", str(exported))
    assert out.exit_code == 0, out.output
    from Cryptodome.PublicKey import ECC

    other = tmp_path / "other.pem"
    other.write_text(ECC.generate(curve="Ed25519").public_key().export_key(format="PEM"))
    out = _cli("verify", "--public-key", str(other))
    assert out.exit_code == 1 and "signature does not verify" in out.output


def test_the_periodic_job_signs_a_checkpoint_when_due_and_the_chain_grew(keyed, caplog):
    from gwanje.audit.service import checkpoint_if_due
    from gwanje.web.jobs import PERIODIC_JOBS

    assert checkpoint_if_due in PERIODIC_JOBS
    _fill(keyed, 2)
    first = checkpoint_if_due(keyed, None)
    assert first is not None and first.rows == 2 and first.keyed_since == 1
    assert checkpoint_if_due(keyed, None) is None  # not due yet
    keyed.audit_checkpoints.interval_seconds = 0.000_001
    assert checkpoint_if_due(keyed, None) is None  # due, but nothing new
    _fill(keyed, 2)
    second = checkpoint_if_due(keyed, None)
    assert second is not None and (second.number, second.rows) == (2, 4)

    _bypass(keyed, lambda conn: conn.execute(sa.text("DELETE FROM audit_log WHERE seq > 3")))
    _fill(keyed, 2)  # the chain grows again, over a gap
    assert checkpoint_if_due(keyed, None) is None
    assert "audit chain broken" in caplog.text


def test_the_console_api_shows_the_checkpoint_and_exports_the_public_key(harness):
    from gwanje.audit.service import checkpoint_now

    headers = harness.token("auditor")
    result, checkpoint = checkpoint_now(harness.db)
    assert result.ok and checkpoint is not None
    body = harness.client.get("/api/audit/verify", headers=headers).json()
    assert body["ok"] and body["checkpoints"] == 1 and body["keyed_since"] == 1
    assert body["checkpoint"]["rows"] == checkpoint.rows and body["checkpoint"]["head"] == checkpoint.head
    key = harness.client.get("/api/audit/public-key", headers=headers).json()
    assert key["pem"].startswith("-----BEGIN PUBLIC KEY-----") and key["fingerprint"] == body["signer"]
    entries = harness.client.get("/api/audit", headers=headers).json()
    assert all(e["mac"] and e["key_id"] for e in entries)


def test_the_key_comes_from_settings_or_is_derived_from_the_secret_key_file(tmp_path):
    from gwanje.bootstrap import ConfigurationError, configure_audit
    from gwanje.core.settings import Settings

    var = tmp_path / "var"
    derived = Settings(var_dir=var, audit_key="").resolved_audit_key()
    assert derived == Settings(var_dir=var, audit_key="").resolved_audit_key()  # stable across restarts
    secret = (var / "secret_key").read_text().strip()
    assert len(derived) == 32 and secret.encode() not in derived
    assert Settings(var_dir=var, audit_key=AUDIT_KEY).resolved_audit_key() == AUDIT_KEY.encode()
    plain = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigurationError, match="32"):
        configure_audit(plain, Settings(var_dir=var, audit_key="short"))
    plain.dispose()
