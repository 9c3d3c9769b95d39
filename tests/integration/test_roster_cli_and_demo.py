"""The roster from the command line and in the demo (issue 10 §1, Art. 9 ①·②), on both engines."""

from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from click.testing import CliRunner

from gwanje.accounts.demo import create_demo_accounts
from gwanje.center.presence import service as presence
from gwanje.center.roster import service as roster
from gwanje.center.roster.models import Shift
from gwanje.cli import main


def test_the_import_command_keeps_good_lines_and_names_the_bad_ones(harness, monkeypatch, tmp_path):
    harness.user("keeper", "police_officer")
    harness.user("officer1", "police_officer")
    monkeypatch.setenv("GWANJE_DATABASE_URL", harness.db.url)
    monkeypatch.setenv("GWANJE_VAR_DIR", str(tmp_path / "var"))
    source = tmp_path / "december.csv"
    source.write_text("username,date,code\nofficer1,2026-12-24,주\nnobody,2026-12-24,주\nofficer1,2026-12-25,야\n")
    result = CliRunner().invoke(main, ["roster", "import", str(source), "--as", "keeper"])
    assert result.exit_code == 1, result.output
    assert "line 3" in result.output and "unknown person" in result.output
    assert "shifts created 2" in result.output
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Shift)) == 2

    again = CliRunner().invoke(main, ["roster", "import", str(source), "--as", "nobody"])
    assert again.exit_code != 0 and "unknown account" in again.output
    harness.user("auditor1", "auditor")
    refused = CliRunner().invoke(main, ["roster", "import", str(source), "--as", "auditor1"])
    assert refused.exit_code != 0 and "Error" in refused.output
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Shift)) == 2, "nothing added by a refused run"


def test_the_demo_has_a_roster_of_this_month_for_the_people_it_checks_in(harness):
    accounts = create_demo_accounts(harness.db, harness.policy)
    names = [a.username for a in accounts]
    checked_in = presence.seed_demo_presence(harness.db, harness.policy, names)
    today = date(2026, 12, 2)
    added = roster.seed_demo_roster(harness.db, harness.policy, names, today=today)
    assert added > 0
    assert roster.seed_demo_roster(harness.db, harness.policy, names, today=today) == 0, "seeding twice adds nothing"
    with harness.db.reading() as s:
        rows = s.execute(sa.select(Shift.username, Shift.starts_at, Shift.ends_at)).all()
    people = {r.username for r in rows}
    assert people and people <= set(checked_in) | set(names)
    counted = {role for rule in harness.policy.staffing.rules for role in rule.roles}
    assert people == {a.username for a in accounts if a.role in counted}
    first = datetime(2026, 11, 30, 15, tzinfo=timezone.utc)  # 1 December 00:00 KST
    assert all(r.starts_at >= first and r.starts_at < datetime(2026, 12, 31, 15, tzinfo=timezone.utc) for r in rows)
    gaps = roster.read_planned_gaps(harness.db, harness.policy, first, datetime(2026, 12, 8, 15, tzinfo=timezone.utc))
    assert all(g.planned < g.minimum for g in gaps)
