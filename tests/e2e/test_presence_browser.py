"""Presence in a real browser: an officer checks in, the header names them; they check out and the
header shows the police staffing gap at once (red, "not holding") until covered. Skipped like the
other browser tests where Chromium or Playwright is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.migrate import upgrade
from gwanje.policy import load_default
from tests.conftest import fresh_totp
from tests.e2e.test_board_browser import ROOT, _free_port, _healthy, _wait
from tests.e2e.test_browser import _unavailable, assets, browser  # noqa: F401 - fixtures

# One worker runs this module's tests, in order: they share one module-scoped server and what earlier tests
# left on it (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-presence")]
USERNAME, PASSWORD = "officer.kim", "correct-horse-battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory, assets):  # noqa: F811
    var = tmp_path_factory.mktemp("presence-var")
    url = f"sqlite:///{var / 'gwanje.db'}"
    db = Database(url)
    upgrade(db.engine)
    with db.uow() as uow:
        _, secret = accounts.add_user(
            uow, Actor.system("test"), load_default(), accounts.NewUser(USERNAME, "김경관", "police_officer", PASSWORD)
        )
        uow.commit()
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(GWANJE_DATABASE_URL=url, GWANJE_VAR_DIR=str(var), GWANJE_SECRET_KEY="p" * 48)
    port = _free_port()
    log = var / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.e2e.test_board_browser:app_factory", "--app-dir",
         str(ROOT), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=var,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(proc, lambda: _healthy(base), log, "uvicorn")
        yield base, secret
    finally:
        proc.terminate()
        proc.wait(10)


def test_officer_checks_in_and_out_and_the_header_follows(browser, server):  # noqa: F811
    """art-9-2: the header shows who is on duty and the gap the check-out opens."""
    base, secret = server
    context = browser.new_context(base_url=base, locale="ko-KR", timezone_id="Asia/Seoul")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/center/presence")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.fill("#otp", fresh_totp(secret))
    page.click("button[type=submit]")
    page.goto("/center/presence")
    page.wait_for_selector("#on-duty[data-gaps]")
    assert page.locator("#on-duty .staffing-gap[data-rule=police_on_duty]").count() == 1
    page.click("#check-in")
    page.wait_for_selector("#check-out")
    page.wait_for_selector("#on-duty .on-duty-role[data-role=police_officer]")
    assert "김경관" in page.locator("#on-duty").inner_text()
    assert page.locator("#on-duty .staffing-gap[data-rule=police_on_duty]").count() == 0
    page.click("#check-out")
    page.wait_for_selector("#check-in")
    page.wait_for_selector("#on-duty .staffing-gap[data-rule=police_on_duty]")
    assert "공백" in page.locator("#on-duty .staffing-gap[data-rule=police_on_duty]").inner_text()
    context.close()
