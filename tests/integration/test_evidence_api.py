"""Evidence over HTTP: recipient-only expiring links, custody appended, custody rows immutable."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa


from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor, AuditEntry
from gwanje.evidence import package as pkg
from gwanje.evidence import service
from gwanje.evidence.models import DownloadLink
from tests.conftest import Harness

NOW = datetime.now(timezone.utc)


class Evidence:
    def __init__(self, harness, tmp_path):
        from gwanje.evidence.api import router

        if not any(getattr(r, "path", "").startswith("/api/evidence") for r in harness.app.routes):
            harness.app.include_router(router)  # the lead wires it into create_app
        self.h = harness
        self.recipient = harness.user("inv_kim", "police_investigator")
        self.other = harness.user("inv_lee", "police_investigator")
        self.preparer = harness.user("it_park", "district_it_officer")
        self.store = harness.settings.var_dir / "evidence"
        self.clip = tmp_path / "cut.mp4"
        self.clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)

    def bearer(self, user) -> dict[str, str]:  # noqa: ANN001
        with self.h.db.uow() as uow:
            token = accounts.issue_token(uow, Actor.system("test"), user, "test")
            uow.commit()
        return {"Authorization": f"Bearer {token}"}

    def create(self) -> service.Package:
        return service.create_evidence_package(
            self.h.db,
            clips=[pkg.ClipInput(self.clip, "SD-T-001", NOW - timedelta(minutes=3), NOW)],
            request_ref="성동서-2026-117",
            recipient_user_id=self.recipient.id,
            recipient_name=None,
            purpose="crime_prevention",
            mask_faces=False,
            watermark=False,
            actor=accounts.actor_of(self.preparer),
            store_dir=self.store,
            secret_key=self.h.app.state.secret_key,
            password_channel="전화",
        )

    def custody_actions(self, package_id: int) -> list[str]:
        with self.h.db.reading() as session:
            return [e.action for e in service.list_custody(session, package_id)]


@pytest.fixture
def ev(harness: Harness, tmp_path: Path) -> Evidence:
    return Evidence(harness, tmp_path)


def _download(ev: Evidence, package_id: int, token: str, user):  # noqa: ANN001, ANN202
    return ev.h.client.get(f"/api/evidence/{package_id}/download", params={"token": token}, headers=ev.bearer(user))


def test_recipient_downloads_the_sealed_package_and_it_verifies(ev):
    created = ev.create()
    resp = _download(ev, created.id, created.download_token, ev.recipient)
    assert resp.status_code == 200, resp.text
    assert hashlib.sha256(resp.content).hexdigest() == created.sha256 == resp.headers["x-content-sha256"]
    saved = ev.store / "copy.zip"
    saved.write_bytes(resp.content)
    assert pkg.verify_package(saved, created.password).ok
    assert ev.custody_actions(created.id) == ["created", "link_issued", "downloaded"]


def test_the_password_and_token_are_never_stored(ev):
    created = ev.create()
    with ev.h.db.reading() as session:
        dumped = " ".join(
            str(v)
            for table in ("evidence_packages", "evidence_download_links", "evidence_custody", "audit_log")
            for row in session.execute(sa.text(f"SELECT * FROM {table}"))
            for v in row
        )
    assert created.password not in dumped
    assert created.download_token not in dumped
    assert hashlib.sha256(created.download_token.encode()).hexdigest() in dumped


def test_another_user_with_the_recipients_link_is_refused_and_it_is_logged(ev):
    created = ev.create()
    resp = _download(ev, created.id, created.download_token, ev.other)
    assert resp.status_code == 403
    assert resp.json()["message"]["en"] == "only the package's recipient may download it"
    assert ev.custody_actions(created.id)[-1] == "download_refused"
    with ev.h.db.reading() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "evidence.download_refused")
            )
            == 1
        )


def test_a_wrong_token_is_refused(ev):
    created = ev.create()
    assert _download(ev, created.id, "gwe_not-the-token", ev.recipient).status_code == 403


def test_an_expired_link_answers_410(ev):
    created = ev.create()
    with ev.h.db.uow() as uow:
        uow.session.execute(sa.update(DownloadLink).values(expires_at=NOW - timedelta(minutes=1)))
        uow.commit()
    resp = _download(ev, created.id, created.download_token, ev.recipient)
    assert resp.status_code == 410
    assert resp.json()["error"] == "link_expired"


def test_a_reissued_single_use_link_works_once(ev):
    created = ev.create()
    resp = ev.h.client.post(
        f"/api/evidence/{created.id}/links", json={"link_hours": 1, "max_uses": 1}, headers=ev.bearer(ev.preparer)
    )
    assert resp.status_code == 201, resp.text
    url = resp.json()["download_url"]
    assert ev.h.client.get(url, headers=ev.bearer(ev.recipient)).status_code == 200
    assert ev.h.client.get(url, headers=ev.bearer(ev.recipient)).status_code == 410
    assert (
        ev.h.client.post(f"/api/evidence/{created.id}/links", json={}, headers=ev.bearer(ev.recipient)).status_code
        == 403
    )


def test_custody_log_is_readable_by_the_center_and_chained(ev):
    created = ev.create()
    _download(ev, created.id, created.download_token, ev.recipient)
    _download(ev, created.id, created.download_token, ev.other)
    resp = ev.h.client.get(f"/api/evidence/{created.id}/custody", headers=ev.bearer(ev.preparer))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [e["action"] for e in body["entries"]] == ["created", "link_issued", "downloaded", "download_refused"]
    assert body["entries"][0]["details"]["sha256"] == created.sha256
    assert body["chain"]["ok"] is True
    assert ev.h.client.get(f"/api/evidence/{created.id}/custody", headers=ev.bearer(ev.recipient)).status_code == 403


def test_database_refuses_update_and_delete_of_custody_rows(ev):
    created = ev.create()
    for statement in ("UPDATE evidence_custody SET action = 'downloaded'", "DELETE FROM evidence_custody"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), ev.h.db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert ev.custody_actions(created.id) == ["created", "link_issued"]


def test_anonymous_callers_are_refused_on_every_evidence_route(ev):
    for method, path in (
        ("POST", "/api/evidence"),
        ("GET", "/api/evidence"),
        ("GET", "/api/evidence/1"),
        ("POST", "/api/evidence/1/links"),
        ("GET", "/api/evidence/1/download?token=x"),
        ("GET", "/api/evidence/1/custody"),
    ):
        assert ev.h.client.request(method, path, headers={"accept": "application/json"}).status_code == 401


def test_post_prepares_a_package_from_a_cut_clip_through_access_and_video(ev, monkeypatch):
    """The glue: access decides for the recipient, video hands the clip, provision is marked exported."""
    from gwanje.access import service as access
    from gwanje.access.provisions import service as provisions
    from gwanje.video import service as video

    calls: list[tuple] = []
    monkeypatch.setattr(
        access,
        "authorize_video",
        lambda db, policy, user, camera_id, purpose, action, **kw: calls.append(
            ("authorize", user.id, camera_id, purpose, action, kw.get("provision_id"))
        ),
    )
    monkeypatch.setattr(
        provisions,
        "mark_exported",
        lambda db, policy, actor, provision_id, *, export_ref, now=None: calls.append(
            ("exported", provision_id, export_ref)
        ),
    )
    fake_clip = SimpleNamespace(camera_id=5, start_at=NOW - timedelta(minutes=2), end_at=NOW)
    monkeypatch.setattr(video, "clip_file", lambda db, var_dir, clip_id: (fake_clip, ev.clip))

    body = {
        "request_ref": "성동서-2026-118",
        "recipient_user_id": ev.recipient.id,
        "purpose": "crime_prevention",
        "items": [{"clip_id": 9}],
        "provision_id": 3,
        "mask_faces": False,
        "watermark": False,
    }
    assert ev.h.client.post("/api/evidence", json=body, headers=ev.bearer(ev.other)).status_code == 403
    resp = ev.h.client.post("/api/evidence", json=body, headers=ev.bearer(ev.preparer))
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert calls[0] == ("authorize", ev.recipient.id, 5, "crime_prevention", "export", 3)
    assert calls[1] == ("exported", 3, made["package_uid"])
    got = ev.h.client.get(made["download_url"], headers=ev.bearer(ev.recipient))
    assert got.status_code == 200
    saved = ev.store / "via-api.zip"
    saved.write_bytes(got.content)
    assert pkg.verify_package(saved, made["password"], key=pkg.signing_key(ev.h.app.state.secret_key)).ok
    assert "password" not in ev.h.client.get(f"/api/evidence/{made['id']}", headers=ev.bearer(ev.preparer)).json()
