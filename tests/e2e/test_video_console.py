"""The video console over HTTP (both engines): the access pages render in Korean, are gated by
the policy's permissions, and their forms go through the access use cases with the CSRF token.

The browser test at the end (``browser`` marker) drives the situation board: a police officer
attaches a nearby camera to the incident they respond to and watches it live from the real RTSP
test server; a camera the police may not open shows why, with the clause.
"""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta, timezone

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gwanje.access import service as access
from gwanje.access.models import ProvisionRequest
from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from gwanje.ui.forms import parse_kst
from tests.conftest import PASSWORD, Harness, fresh_totp

HTML = {"accept": "text/html,application/xhtml+xml"}
PDF = b"%PDF-1.4\n% official document scan\n"


@pytest.fixture
def h(harness):
    return harness


def _camera(
    h: Harness,
    number: str,
    *,
    department: str = "autonomous_admin",
    purpose: str = "crime_prevention",
    secondary: tuple[str, ...] = ("disaster",),
    lat: float = 37.5636,
    lon: float = 127.0369,
    stream_url: str | None = None,
) -> int:
    with h.db.uow() as uow:
        camera = registry.create_camera(
            uow,
            Actor.system("test"),
            h.policy,
            CameraCreate(
                management_number=number,
                department=department,
                primary_purpose=purpose,
                secondary_purposes=list(secondary),
                latitude=lat,
                longitude=lon,
                stream_url=stream_url,
                site={"road_address": f"서울특별시 성동구 {number}"},
                installed_by="police" if department == "police_station" else "district",
            ),
        )
        uow.commit()
        return camera.id


class Session:
    """A browser-like client signed in through the login form (with a TOTP code where the role needs one)."""

    def __init__(self, h: Harness, role: str, username: str | None = None) -> None:
        from fastapi.testclient import TestClient

        self.client = TestClient(h.app, raise_server_exceptions=False)
        username = username or f"v_{role}"[:60]
        with h.db.uow() as uow:
            _, secret = accounts.add_user(
                uow,
                Actor.system("test"),
                h.policy,
                accounts.NewUser(username=username, display_name=username, role=role, password=PASSWORD),
            )
            uow.commit()
        page = self.client.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
        otp = fresh_totp(secret) if secret else ""
        resp = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "otp": otp, "next": "/cameras", "login_csrf": token},
            follow_redirects=False,
        )
        assert resp.status_code == 303, resp.text
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.client.get("/cameras").text).group(1)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=HTML, **kw)

    def post(self, path: str, data: dict, files: dict | None = None, csrf: bool = True) -> httpx.Response:
        body = {**data, **({"csrf_token": self.csrf} if csrf else {})}
        return self.client.post(path, data=body, files=files, headers=HTML, follow_redirects=False)


def _bell_incident(h: Harness, message_id: str = "bell-1") -> int:
    resp = h.client.post(
        "/api/events",
        headers=h.token("device"),
        json={
            "message_id": message_id,
            "type": "emergency_bell",
            "payload": {"bell_id": "B-1", "latitude": 37.5636, "longitude": 127.0369},
        },
    )
    assert resp.status_code == 202, resp.text
    return resp.json()["incident_id"]


# ---------------------------------------------------------------- rendering and permissions


PAGES = [
    ("/access/provisions", "police_investigator", "영상정보 제공 요청"),
    ("/access/provisions", "district_it_officer", "승인 대기"),
    ("/access/emergency", "police_officer", "긴급 우선 열람"),
    ("/access/usage-results", "police_officer", "CCTV 활용결과"),
    ("/access/statistics", "police_officer", "CCTV 활용 실적"),
    ("/access/subject-requests", "district_it_officer", "개인영상정보 열람 청구"),
    ("/ledgers", "auditor", "개인영상정보 관리대장"),
]


@pytest.mark.parametrize(("path", "role", "heading"), PAGES)
def test_each_access_page_renders_in_korean_for_a_role_the_policy_allows(h, path, role, heading):
    s = Session(h, role)
    resp = s.get(path)
    assert resp.status_code == 200, resp.text
    assert '<html lang="ko">' in resp.text and heading in resp.text
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    assert 'id="nav-video"' in resp.text and 'aria-current="page">' in resp.text
    assert "video." not in re.sub(r'(href|src|action)="[^"]*"', "", resp.text)  # no raw i18n keys


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/ledgers", "police_officer"),
        ("/access/subject-requests", "monitoring_agent"),
        ("/access/emergency", "police_investigator"),
        ("/access/provisions", "monitoring_agent"),
        ("/access/usage-results", "auditor"),
        ("/access/statistics", "maintenance_staff"),
    ],
)
def test_each_access_page_refuses_roles_without_its_permission_with_the_clause(h, path, role):
    resp = Session(h, role).get(path)
    assert resp.status_code == 403
    # the clause is cited by its text (the error page shows no bare ids such as "policy-rbac:")
    assert any(c.ko in resp.text for c in h.policy.clauses)
    assert not any(f"{c.id}:" in resp.text for c in h.policy.clauses)


def test_anonymous_browsers_are_sent_to_sign_in(h):
    for path in ("/access/provisions", "/ledgers", "/access", "/cameras/1/video-panel"):
        resp = h.client.get(path, headers=HTML, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")


def test_the_video_nav_entry_and_tabs_follow_the_permissions(h):
    police = Session(h, "police_officer").get("/cameras").text
    assert 'id="nav-video"' in police
    maintenance = Session(h, "maintenance_staff").get("/cameras").text
    assert 'id="nav-video"' not in maintenance  # no video-governance permission at all
    tabs = Session(h, "police_investigator").get("/access/provisions").text
    assert 'href="/access/usage-results"' in tabs and 'href="/ledgers"' not in tabs
    assert 'href="/access/emergency"' not in tabs  # investigators have no emergency access
    hub = Session(h, "auditor").client.get("/access", follow_redirects=False)
    assert hub.status_code == 303 and hub.headers["location"] == "/access/statistics"
    # Statistics alone (reports.read) is no video governance: no nav entry, but the page opens.
    agent = Session(h, "monitoring_agent")
    assert 'id="nav-video"' not in agent.get("/cameras").text
    assert agent.get("/access/statistics").status_code == 200
    assert agent.client.get("/access", follow_redirects=False).headers["location"] == "/access/statistics"


def test_english_switch_translates_every_page(h):
    s = Session(h, "district_manager")
    s.client.get("/lang/en", follow_redirects=False)
    resp = s.get("/access/provisions")
    assert '<html lang="en">' in resp.text and "Waiting for a decision" in resp.text
    for path, heading in (
        ("/access/emergency", "Emergency first access"),
        ("/access/usage-results", "CCTV usage results"),
        ("/access/statistics", "CCTV performance"),
        ("/access/subject-requests", "Data-subject"),
        ("/ledgers", "Video ledgers"),
    ):
        page = s.get(path)
        assert page.status_code == 200 and heading in page.text, path
        assert "video." not in re.sub(r'(href|src|action)="[^"]*"', "", page.text), path  # no raw i18n keys


# ---------------------------------------------------------------- provision to the police


def test_kst_form_times_are_stored_in_utc():
    assert parse_kst("2026-11-20T10:00", "x") == datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)
    assert parse_kst("2026-11-20 00:30", "x") == datetime(2026, 11, 19, 15, 30, tzinfo=timezone.utc)


def _request_form(number: str = "SD-P-1", **extra: str) -> dict:
    return {
        "cameras": number,
        "period_start": "2026-11-20T10:00",
        "period_end": "2026-11-20T11:00",
        "purpose": "crime_prevention",
        "legal_ground": "crime_investigation",
        "reason": "절도 사건 수사",
        "document_number": "성동서 수사과-1234",
        **extra,
    }


def test_a_police_request_with_its_scan_round_trips_and_the_it_officer_approves_it(h):
    cam = _camera(h, "SD-P-1")
    police = Session(h, "police_investigator")
    resp = police.post(
        "/access/provisions/document", _request_form(), files={"file": ("scan.pdf", PDF, "application/pdf")}
    )
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"].startswith("/access/provisions?done=requested&id=")
    page = police.get(resp.headers["location"])
    assert "제공 요청을 접수했습니다" in page.text and "SD-P-1" in page.text

    listed = police.client.get("/api/access/provisions").json()
    assert len(listed) == 1
    p = listed[0]
    assert p["camera_ids"] == [cam] and p["status"] == "requested" and p["document_sha256"]
    assert p["period_start"].startswith("2026-11-20 01:00") or p["period_start"].startswith("2026-11-20T01:00")

    it = Session(h, "district_it_officer")
    queue = it.get("/access/provisions").text
    assert f'action="/access/provisions/{p["id"]}/decision"' in queue
    decided = it.post(f"/access/provisions/{p['id']}/decision", {"decision": "approve", "reason": "적법한 요청"})
    # Approval prepares the export; nothing was recorded then, so the approval stands and the page says why.
    assert decided.status_code == 200, decided.text
    assert 'data-prepared="no"' in decided.text and "제공 요청을 승인했습니다" in decided.text
    assert "승인은 유효하나 반출 영상을 준비하지 못했습니다" in decided.text
    assert "요청 기간에 녹화된 영상이 없습니다: SD-P-1" in decided.text
    assert f'action="/access/provisions/{p["id"]}/export"' in decided.text  # the retry button
    retried = it.post(f"/access/provisions/{p['id']}/export?lang=en", {"mask_faces": "yes"})
    assert retried.status_code == 422 and 'id="export-error"' in retried.text
    assert "The approval stands, but the export could not be prepared:" in retried.text
    assert "nothing was recorded in the requested period: SD-P-1" in retried.text
    after = it.client.get(f"/api/access/provisions/{p['id']}").json()
    assert after["status"] == "approved" and after["decision_reason"] == "적법한 요청"
    # The requester now gets playback links for the provision's cameras.
    links = police.get("/access/provisions").text
    assert f"/cameras/{cam}?purpose=crime_prevention&amp;provision_id={p['id']}#video" in links


def _record(h: Harness, cam: int, start: datetime, seconds: int = 4) -> None:
    """A real recorded segment (ffmpeg test pattern, H.264 MP4) indexed as the recorder would."""
    import shutil
    import subprocess

    from gwanje.video import recorder

    if not shutil.which("ffmpeg"):
        from tests.conftest import IN_CI

        (pytest.fail if IN_CI else pytest.skip)("ffmpeg not installed (apt-get install ffmpeg)")
    folder = recorder.recordings_dir(h.settings.var_dir, cam)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"seg-{start:%Y%m%dT%H%M%S}.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=160x120:rate=10:duration={seconds}",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "10",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    assert (
        recorder.index_segment(h.db, h.settings.var_dir, cam, path, start, start + timedelta(seconds=seconds), "h264")
        is not None
    )


def _requested(h: Harness, number: str):  # noqa: ANN202
    police = Session(h, "police_investigator")
    resp = police.post(
        "/access/provisions/document", _request_form(number), files={"file": ("scan.pdf", PDF, "application/pdf")}
    )
    assert resp.status_code == 303, resp.text
    return police, police.client.get("/api/access/provisions").json()[0]["id"]


def test_approval_prepares_the_export_for_the_requester_who_alone_can_download_it(h):
    from gwanje.accounts.models import User
    from gwanje.evidence import package as pkg
    from gwanje.evidence.models import EvidencePackage

    cam = _camera(h, "SD-X-1")
    _record(h, cam, datetime(2026, 11, 20, 1, 10, tzinfo=timezone.utc))  # 10:10 KST, inside the period
    police, pid = _requested(h, "SD-X-1")
    it = Session(h, "district_it_officer")
    decided = it.post(f"/access/provisions/{pid}/decision", {"decision": "approve", "reason": "적법한 요청"})
    assert decided.status_code == 200, decided.text
    assert 'data-prepared="yes"' in decided.text and "반출 패키지를 준비했습니다" in decided.text
    password = html.unescape(re.search(r'<code id="export-password">([^<]+)</code>', decided.text).group(1))
    package_id = int(re.search(r'data-package-id="(\d+)"', decided.text).group(1))
    assert "다시 볼 수 없습니다" in decided.text

    after = it.client.get(f"/api/access/provisions/{pid}").json()
    assert after["status"] == "exported"
    with h.db.reading() as session:
        row = session.get(EvidencePackage, package_id)
        assert after["export_ref"] == row.package_uid
        recipient = session.scalar(sa.select(User).where(User.username == "v_police_investigator"))
        assert row.recipient_user_id == recipient.id and row.recipient_name == "v_police_investigator"
        assert row.request_ref == "성동서 수사과-1234" and row.purpose == "crime_prevention"
        assert row.watermarked is True and row.masked is False and row.camera_ids == "SD-X-1"
        stored = h.settings.var_dir / "evidence" / row.file_name
        sha = row.sha256
    report = pkg.verify_package(stored, password, key=pkg.signing_key(h.app.state.secret_key))
    assert report.ok, report
    assert pkg.verify_package(stored, "not-the-password").ok is False
    # The password is shown once: not on the approver's page afterwards, nor on the requester's.
    assert password not in it.get("/access/provisions").text

    page = police.get("/access/provisions").text
    assert password not in page
    assert f'action="/access/provisions/{pid}/download"' in page
    got = police.post(f"/access/provisions/{pid}/download", {})
    assert got.status_code == 303, got.text
    link = got.headers["location"]
    assert link.startswith(f"/api/evidence/{package_id}/download?token=gwe_")
    file = police.client.get(link)
    assert file.status_code == 200, file.text
    import hashlib

    assert hashlib.sha256(file.content).hexdigest() == sha
    assert police.client.get(link).status_code == 410  # a fresh link is single-use

    other = Session(h, "police_investigator", "v_other_investigator")
    assert f'action="/access/provisions/{pid}/download"' not in other.get("/access/provisions").text
    assert other.post(f"/access/provisions/{pid}/download", {}).status_code == 404
    stolen = police.post(f"/access/provisions/{pid}/download", {}).headers["location"]
    assert other.client.get(stolen).status_code == 403  # the recipient's link is no use to anyone else
    assert it.post(f"/access/provisions/{pid}/download", {}).status_code == 403  # approvers don't download


def test_the_api_approval_stands_without_recordings_and_the_export_can_be_retried(h):
    from gwanje.evidence import package as pkg

    cam = _camera(h, "SD-X-2")
    police, pid = _requested(h, "SD-X-2")
    it = h.token("district_it_officer")
    approved = h.client.post(
        f"/api/access/provisions/{pid}/decision",
        headers=it,
        json={"decision": "approve", "reason": "적법", "mask_faces": False},
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    assert body["export"]["prepared"] is False and "password" not in body["export"]
    assert body["export"]["message"]["en"].startswith(
        "Approved, but the export could not be prepared: nothing was recorded in the requested period: SD-X-2"
    )
    assert body["export"]["retry"] == f"/api/access/provisions/{pid}/export"

    _record(h, cam, datetime(2026, 11, 20, 1, 30, tzinfo=timezone.utc))
    assert (
        h.client.post(
            f"/api/access/provisions/{pid}/export", headers=h.token("police_investigator"), json={}
        ).status_code
        == 403
    )
    made = h.client.post(f"/api/access/provisions/{pid}/export", headers=it, json={"mask_faces": False})
    assert made.status_code == 201, made.text
    out = made.json()
    stored = h.settings.var_dir / "evidence" / out["package"]["file_name"]
    assert pkg.verify_package(stored, out["password"], key=pkg.signing_key(h.app.state.secret_key)).ok
    assert (
        h.client.get(f"/api/access/provisions/{pid}", headers=it).json()["export_ref"] == out["package"]["package_uid"]
    )
    again = h.client.post(f"/api/access/provisions/{pid}/export", headers=it, json={})
    assert again.status_code == 422  # prepared once; the provision is now 'exported'
    # The link in the answer works for the requester only.
    assert police.client.get(out["download_url"]).status_code == 200
    assert h.client.get(out["download_url"], headers=h.token("police_officer")).status_code == 403


def test_a_form_post_without_the_csrf_token_is_refused_and_records_nothing(h):
    _camera(h, "SD-P-1")
    police = Session(h, "police_investigator")
    resp = police.post(
        "/access/provisions/document", _request_form(), csrf=False, files={"file": ("scan.pdf", PDF, "application/pdf")}
    )
    assert resp.status_code == 403
    with h.db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProvisionRequest)) == 0


def test_a_refused_request_shows_the_korean_reason_and_keeps_what_was_typed(h):
    _camera(h, "SD-P-1")
    police = Session(h, "police_investigator")
    unknown = police.post(
        "/access/provisions/document", _request_form("SD-NOPE-9"), files={"file": ("scan.pdf", PDF, "application/pdf")}
    )
    assert unknown.status_code == 404
    assert "CCTV를 찾을 수 없습니다: SD-NOPE-9" in unknown.text
    assert "절도 사건 수사" in unknown.text and 'value="성동서 수사과-1234"' in unknown.text
    not_a_scan = police.post(
        "/access/provisions/document", _request_form(), files={"file": ("scan.pdf", b"hello", "application/pdf")}
    )
    assert not_a_scan.status_code == 422 and "PDF, JPEG, PNG 파일만 받습니다" in not_a_scan.text
    with h.db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProvisionRequest)) == 0


def test_a_rejection_needs_a_reason_and_only_the_district_decides(h):
    _camera(h, "SD-P-1")
    police = Session(h, "police_investigator")
    police.post("/access/provisions/document", _request_form(), files={"file": ("scan.pdf", PDF, "application/pdf")})
    pid = police.client.get("/api/access/provisions").json()[0]["id"]
    assert police.post(f"/access/provisions/{pid}/decision", {"decision": "approve", "reason": "x"}).status_code == 403
    it = Session(h, "district_it_officer")
    # Rejecting cannot be undone: the button asks first (static/js/confirm.js reads data-confirm).
    listing = it.get("/access/provisions").text
    assert re.search(r'value="reject" class="danger" data-confirm="[^"]*되돌릴 수 없습니다', listing)
    assert '<script src="/static/js/confirm.js" defer></script>' in listing
    blank = it.post(f"/access/provisions/{pid}/decision", {"decision": "reject", "reason": " "})
    assert blank.status_code == 422 and 'role="alert"' in blank.text
    rejected = it.post(f"/access/provisions/{pid}/decision", {"decision": "reject", "reason": "범죄 관련성 불명"})
    assert rejected.status_code == 303
    assert it.client.get(f"/api/access/provisions/{pid}").json()["status"] == "rejected"


# ---------------------------------------------------------------- emergency access and deadlines


def test_emergency_access_opens_at_once_and_its_missing_document_turns_overdue(h):
    _camera(h, "SD-EM-1")
    officer = Session(h, "police_officer")
    bell = h.client.post(
        "/api/events",
        headers=h.token("device"),
        json={
            "message_id": "em-bell",
            "type": "emergency_bell",
            "payload": {"bell_id": "B-EM", "latitude": 37.5636, "longitude": 127.0369},
        },
    )
    assert bell.status_code == 202, bell.text
    resp = officer.post(
        "/access/emergency",
        {
            "incident_id": str(bell.json()["incident_id"]),
            "cameras": "SD-EM-1",
            "period_start": "2026-11-20T10:00",
            "period_end": "2026-11-20T11:00",
            "purpose": "crime_prevention",
            "legal_ground": "urgent_life_body_property",
            "reason": "실종 아동 긴급 수색",
        },
    )
    assert resp.status_code == 303, resp.text
    pid = int(re.search(r"id=(\d+)", resp.headers["location"]).group(1))
    page = officer.get("/access/emergency").text
    assert f'id="p{pid}"' in page and 'data-overdue="false"' in page and "공문 제출 대기" in page

    with h.db.uow() as uow:  # the 24 hours pass without the document
        uow.session.get(ProvisionRequest, pid).document_due_at = datetime.now(timezone.utc) - timedelta(hours=1)
        uow.commit()
    overdue = officer.get("/access/emergency").text
    assert 'data-overdue="true"' in overdue and "기한 경과" in overdue
    it_view = Session(h, "district_it_officer").get("/access/usage-results").text
    assert 'data-kind="document"' in it_view and "협약 제11조 제1항 — " in it_view and "[art-11-1]" not in it_view

    sent = officer.post(
        f"/access/provisions/{pid}/document?from=emergency",
        {"document_number": "성동서-77"},
        files={"file": ("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")},
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith("/access/emergency?done=document")
    assert officer.client.get(f"/api/access/provisions/{pid}").json()["status"] == "document_received"
    assert 'data-overdue="true"' not in officer.get("/access/emergency").text


def test_a_district_officer_cannot_open_emergency_access(h):
    it = Session(h, "district_it_officer")
    assert it.get("/access/emergency").status_code == 200  # reads the pending documents
    assert 'id="emergency-form"' not in it.get("/access/emergency").text
    assert it.post("/access/emergency", {"cameras": "X"}).status_code == 403


# ---------------------------------------------------------------- usage results and statistics


def test_usage_result_entered_on_the_page_counts_in_the_statistics(h):
    cam = _camera(h, "SD-U-1")
    police = Session(h, "police_investigator")
    police.post(
        "/access/provisions/document", _request_form("SD-U-1"), files={"file": ("scan.pdf", PDF, "application/pdf")}
    )
    pid = police.client.get("/api/access/provisions").json()[0]["id"]
    it = Session(h, "district_it_officer")
    it.post(f"/access/provisions/{pid}/decision", {"decision": "approve", "reason": "적법"})
    access.mark_exported(h.db, h.policy, Actor.system("evidence"), pid, export_ref="pkg-1")

    awaiting = police.get("/access/usage-results").text
    assert f'action="/access/provisions/{pid}/usage-result"' in awaiting
    bad = police.post(f"/access/provisions/{pid}/usage-result", {"outcome": "made_up", "used_for": "x"})
    assert bad.status_code == 422 and "허용되지 않는 활용 결과" in bad.text
    ok = police.post(f"/access/provisions/{pid}/usage-result", {"outcome": "arrest", "used_for": "피의자 특정 후 검거"})
    assert ok.status_code == 303, ok.text
    assert police.client.get(f"/api/access/provisions/{pid}").json()["usage_outcome"] == "arrest"

    stats = Session(h, "monitoring_agent").get("/access/statistics")
    assert stats.status_code == 200
    month = datetime.now(timezone.utc).astimezone(timezone(timedelta(hours=9))).strftime("%Y-%m")
    assert f'data-camera="SD-U-1" data-month="{month}" data-purpose="crime_prevention"' in stats.text
    assert "검거 1" in stats.text
    assert cam  # the row links the camera
    assert Session(h, "auditor").get("/access/statistics?since=2026-13").status_code == 422


# ---------------------------------------------------------------- data-subject requests


def _intake(**extra: str) -> dict:
    return {
        "requester_name": "홍길동",
        "requester_contact": "010-0000-0000",
        "identity_method": "resident_card",
        "cameras": "SD-S-1",
        "period_start": "2026-11-20T10:00",
        "period_end": "2026-11-20T10:30",
        "description": "파란 외투",
        "identity_checked": "yes",
        **extra,
    }


def test_subject_request_intake_needs_the_identity_check_and_invalid_refusals_are_explained(h):
    _camera(h, "SD-S-1")
    it = Session(h, "district_it_officer")
    unchecked = it.post("/access/subject-requests", _intake(identity_checked=""))
    assert unchecked.status_code == 422 and "본인 여부를 확인" in unchecked.text
    taken = it.post("/access/subject-requests", _intake())
    assert taken.status_code == 303, taken.text
    sid = int(re.search(r"id=(\d+)", taken.headers["location"]).group(1))
    listing = it.get("/access/subject-requests").text
    assert "홍길동" in listing
    # the decision form's method options read their labels, not a Python object (issue 9, §5)
    assert "built-in method" not in listing and "<built-in" not in html.unescape(listing)
    methods = re.search(r'<select name="method"[^>]*>(.*?)</select>', listing, re.S).group(1)
    assert [v for v in re.findall(r'value="(\w+)"', methods)] == ["viewing_in_person", "copy"]
    labels = [html.unescape(x).strip() for x in re.findall(r">([^<>]+)</option>", methods)]
    assert all(labels) and all("method" not in label for label in labels), labels

    refused = it.post(f"/access/subject-requests/{sid}/decision", {"outcome": "refused", "reason": "others_in_frame"})
    assert refused.status_code == 422
    assert "다른 사람이 찍혀 있다는 것은 거절 사유가 아닙니다" in refused.text
    assert "개인정보 보호법 제35조 — " in refused.text and "[pipa-35]" not in refused.text
    it.client.get("/lang/en", follow_redirects=False)
    refused_en = it.post(
        f"/access/subject-requests/{sid}/decision", {"outcome": "refused", "reason": "no_police_present"}
    )
    assert refused_en.status_code == 422
    assert "'no police present' is not a ground to refuse viewing" in html.unescape(refused_en.text)

    provided = it.post(f"/access/subject-requests/{sid}/decision", {"outcome": "provided", "method": "copy"})
    assert provided.status_code == 303
    assert it.client.get(f"/api/access/subject-requests/{sid}").json()["status"] == "provided"


# ---------------------------------------------------------------- ledgers


def _viewed(h: Harness, cam: int, action: str, role: str = "monitoring_agent", **extra: Any) -> None:
    """A viewing delivered, as the video routes record it: the decision, then the delivery."""
    user = h.user(f"viewer-{role}-{cam}-{action}", role)
    grant = access.authorize_video(h.db, h.policy, user, cam, "crime_prevention", action, **extra)
    access.record_delivery(h.db, h.policy, grant)


def test_ledgers_filter_by_kind_and_link_the_xlsx_and_pdf_of_the_same_filter(h):
    cam = _camera(h, "SD-L-1")
    _viewed(h, cam, "snapshot")
    auditor = Session(h, "auditor")
    page = auditor.get("/ledgers?kind=use&since=2020-01-01")
    assert page.status_code == 200 and 'data-kind="use"' in page.text and "SD-L-1" in page.text
    xlsx = re.search(r'id="download-xlsx" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert xlsx.startswith("/api/ledgers/export.xlsx?kind=use&since=2019-12-31T15")
    got = auditor.client.get(xlsx)
    assert got.status_code == 200 and got.content[:2] == b"PK"
    pdf = re.search(r'id="download-pdf" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert auditor.client.get(pdf).content[:5] == b"%PDF-"
    assert 'data-kind="use"' not in auditor.get("/ledgers?kind=provision").text


def _ledger_cells(html_text: str) -> dict[int, list[str]]:
    """The ledger table's rows: entry id → the text of each cell (tags dropped, entities unescaped)."""
    rows = {}
    for entry, body in re.findall(r'<tr data-kind="[^"]*" data-entry="(\d+)">(.*?)</tr>', html_text, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        rows[int(entry)] = [html.unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in cells]
    return {k: [" ".join(c) for c in v] for k, v in rows.items()}


def _referenced_rows(h: Harness, cam: int) -> tuple[int, int]:
    """Two rows as the emergency and incident viewings write them: a provision and an incident reference."""
    from gwanje.access.choices import LegalGround
    from gwanje.access.ledger import service as ledger
    from gwanje.access.rules import clause_label
    from gwanje.core.clock import utcnow

    police = h.policy.organisation("police").name_ko
    with h.db.uow() as uow:
        by_provision = ledger.append(
            uow.session,
            kind="viewing",
            items="CCTV SD-L-2",
            method="playback",
            handler_id=None,
            handler_name="p112",
            occurred_at=utcnow(),
            recipient="p112",
            recipient_organisation=police,
            purpose="crime_prevention",
            legal_ground=f"{clause_label(h.policy, 'art-11-1')}; {LegalGround.label('urgent_life_body_property')}",
            camera_ids=[cam],
            reference_type="provision",
            reference_id=7,
            clause="art-11-1",
        ).id
        by_incident = ledger.append(
            uow.session,
            kind="viewing",
            items="CCTV SD-L-2",
            method="live_view",
            handler_id=None,
            handler_name="officer",
            occurred_at=utcnow(),
            recipient_organisation=police,
            purpose="crime_prevention",
            legal_ground=clause_label(h.policy, "art-9-5"),
            camera_ids=[cam],
            reference_type="incident",
            reference_id=39,
            clause="art-9-5",
        ).id
        uow.commit()
    return by_provision, by_incident


HANGUL = re.compile("[가-힣]")


def test_the_ledger_page_shows_references_methods_and_clauses_in_the_pages_language(h):
    from gwanje.access.choices import LegalGround

    cam = _camera(h, "SD-L-2")  # registered without a name
    _viewed(h, cam, "snapshot")
    by_provision, by_incident = _referenced_rows(h, cam)
    auditor = Session(h, "auditor")
    ko = _ledger_cells(auditor.get("/ledgers").text)
    [snap] = [k for k in ko if k not in (by_provision, by_incident)]
    # columns: #, kind, when, items, purpose, recipient, legal ground, method, handler, reference
    assert ko[snap][3] == "CCTV SD-L-2" and "()" not in " ".join(" ".join(r) for r in ko.values())
    assert ko[snap][7] == "정지영상" and ko[snap][9].startswith("감사기록 ")
    assert ko[by_provision][9] == "제공 요청 7" and ko[by_incident][9] == "사건 39"
    assert ko[by_incident][6] == " ".join(("[art-9-5] " + h.policy.clause("art-9-5").ko).split())
    assert ko[by_provision][5].endswith("성동경찰서")

    auditor.client.get("/lang/en", follow_redirects=False)
    en = _ledger_cells(auditor.get("/ledgers").text)
    assert en[by_provision][9] == "provision request 7" and en[by_incident][9] == "incident 39"
    assert en[snap][9].startswith("audit ")
    assert (en[snap][7], en[by_provision][7], en[by_incident][7]) == ("snapshot", "playback", "live view")
    assert en[by_incident][6] == " ".join(("[art-9-5] " + h.policy.clause("art-9-5").en).split())
    assert en[by_provision][6] == " ".join(
        f"[art-11-1] {h.policy.clause('art-11-1').en}; {LegalGround.label('urgent_life_body_property', 'en')}".split()
    )
    assert en[by_provision][5].endswith(h.policy.organisation("police").name_en)
    for row in en.values():
        for column in (1, 6, 7, 9):  # kind, legal ground, method, reference: no Korean left
            assert not HANGUL.search(row[column]), row


def test_the_ledger_xlsx_numbers_its_rows_and_the_downloads_are_named_by_the_kst_day(h, monkeypatch):
    from openpyxl import load_workbook

    from gwanje.access.ledger import api as ledger_api

    cam = _camera(h, "SD-L-3")
    _viewed(h, cam, "snapshot")
    _viewed(h, cam, "live")
    # 16:30 UTC on 30 November is already 1 December in Korea.
    monkeypatch.setattr(ledger_api, "utcnow", lambda: datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc))
    auditor = Session(h, "auditor")
    xlsx = auditor.client.get("/api/ledgers/export.xlsx")
    assert xlsx.status_code == 200
    assert 'filename="video-ledger-all-20261201.xlsx"' in xlsx.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws["A3"].value == "번호"
    numbers = [ws.cell(row=r, column=1).value for r in range(4, ws.max_row + 1)]
    assert len(numbers) == 2 and all(type(n) is int for n in numbers) and numbers == sorted(numbers)
    assert all(ws.cell(row=r, column=1).data_type == "n" for r in range(4, ws.max_row + 1))
    pdf = auditor.client.get("/api/ledgers/export.pdf?kind=use")
    assert 'filename="video-ledger-use-20261201.pdf"' in pdf.headers["content-disposition"]


# ---------------------------------------------------------------- the camera page's video panel


def test_the_camera_panel_offers_only_the_purposes_the_role_may_use(h):
    cam = _camera(h, "SD-V-1", secondary=("illegal_parking", "disaster", "facility_management"))
    agent = Session(h, "monitoring_agent")
    detail = agent.get(f"/cameras/{cam}?purpose=disaster").text
    assert f'hx-get="/cameras/{cam}/video-panel?purpose=disaster"' in detail
    panel = agent.get(f"/cameras/{cam}/video-panel?purpose=disaster").text
    assert 'value="disaster" selected' in panel and 'value="illegal_parking"' in panel
    assert 'data-video-action="live"' in panel and 'name="incident_id"' not in panel
    investigator = Session(h, "police_investigator").get(f"/cameras/{cam}/video-panel").text
    assert 'value="crime_prevention"' in investigator and 'value="disaster"' not in investigator
    assert 'name="incident_id"' in investigator and "제9조 ⑤" in investigator
    auditor = Session(h, "auditor").get(f"/cameras/{cam}/video-panel").text
    assert 'data-role="panel-refused"' in auditor and h.policy.clause("policy-rbac").ko in auditor
    assert "[policy-rbac]" not in auditor


def test_the_board_carries_the_live_view_and_the_attach_permission(h):
    board = Session(h, "police_officer").get("/board").text
    assert 'id="live-view"' in board and "/static/js/video.js" in board
    config = re.search(r'<script type="application/json" id="board-video">(.*?)</script>', board, re.S).group(1)
    assert '"canAttach": true' in config and '"art-9-5"' in config
    auditor = Session(h, "auditor").get("/board").text
    assert '"canAttach": false' in auditor


# ---------------------------------------------------------------- in a real browser

BROWSER_USERS = {
    "police": ("officer.park", "police_officer"),
    "it": ("it.lee", "district_it_officer"),
    "agent": ("agent.kim", "monitoring_agent"),
}
BOARD_CAMERAS = [  # management number, department, primary purpose, lat, lon, streams
    ("SD-VB-001", "autonomous_admin", "crime_prevention", 37.5638, 127.0370, True),
    ("SD-VB-002", "parks_green", "facility_management", 37.5634, 127.0366, False),
    ("SD-VB-003", "autonomous_admin", "crime_prevention", 37.5601, 127.0301, False),  # away; no stream
]
SCREENSHOTS = "VIDEO_CONSOLE_SCREENSHOTS"  # a folder to keep the screenshots in (default: the test's var dir)


def app_factory():
    """The app the browser test's uvicorn serves: the wiring root, console pages included."""
    from gwanje.web.app import create_app

    return create_app()


@pytest.fixture(scope="module")
def video_stack(tmp_path_factory, assets, rtsp):  # noqa: F811 - fixtures imported below
    import os
    import subprocess
    import sys
    import urllib.request

    from gwanje.core.db import Database
    from gwanje.core.migrate import upgrade
    from gwanje.policy import load_default
    from tests.e2e.test_browser import ROOT, _free_port
    from tests.support import wait_healthy

    var = tmp_path_factory.mktemp("video-console")
    url = f"sqlite:///{var / 'gwanje.db'}"
    db = Database(url)
    upgrade(db.engine)
    policy = load_default()
    system = Actor.system("test-seed")
    secrets, ids = {}, {}
    with db.uow() as uow:
        for key, (username, role) in BROWSER_USERS.items():
            _, secrets[key] = accounts.add_user(
                uow, system, policy, accounts.NewUser(username, username, role, PASSWORD)
            )
        device, _ = accounts.add_user(uow, system, policy, accounts.NewUser("bell-vc", "bell", "device", PASSWORD))
        device_token = accounts.issue_token(uow, system, device, "video console test")
        for number, dept, purpose, lat, lon, streams in BOARD_CAMERAS:
            cam = registry.create_camera(
                uow,
                system,
                policy,
                CameraCreate(
                    management_number=number,
                    department=dept,
                    primary_purpose=purpose,
                    latitude=lat,
                    longitude=lon,
                    site={"road_address": f"서울특별시 성동구 {number}"},
                    installed_by="district",
                    stream_url=rtsp("person") if streams else None,
                ),
            )
            ids[number] = cam.id
        uow.commit()
    db.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(GWANJE_DATABASE_URL=url, GWANJE_VAR_DIR=str(var), GWANJE_SECRET_KEY="v" * 48)
    port = _free_port()
    log = var / "server.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.e2e.test_video_console:app_factory",
            "--app-dir",
            str(ROOT),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=var,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, log)
        bell = urllib.request.Request(
            base + "/api/events",
            method="POST",
            headers={"authorization": f"Bearer {device_token}", "content-type": "application/json"},
            data=b'{"message_id": "vc-bell-1", "type": "emergency_bell", "payload": '
            b'{"bell_id": "B-VC-1", "latitude": 37.5636, "longitude": 127.0369}}',
        )
        with urllib.request.urlopen(bell, timeout=10) as r:
            assert r.status == 202
        shots = os.environ.get(SCREENSHOTS) or str(var)
        yield {"base": base, "secrets": secrets, "ids": ids, "var": var, "shots": shots}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _stack_ledger(stack: dict) -> list[tuple[str, str, str]]:
    """The served app's ledger rows: (kind, method, camera ids)."""
    from gwanje.access.models import LedgerEntry
    from gwanje.core.db import Database

    db = Database(f"sqlite:///{stack['var'] / 'gwanje.db'}")
    try:
        with db.reading() as s:
            return [
                (e.kind, e.method, e.camera_ids) for e in s.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id))
            ]
    finally:
        db.dispose()


def _signed_in(browser: Any, stack: dict, who: str, path: str):  # noqa: ANN202, F811 - the browser fixture
    context = browser.new_context(
        base_url=stack["base"], viewport={"width": 1600, "height": 1000}, locale="ko-KR", timezone_id="Asia/Seoul"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: page.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: page.problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.goto(path)
    page.fill("#username", BROWSER_USERS[who][0])
    page.fill("#password", PASSWORD)
    if stack["secrets"][who]:  # a role without two-factor sign-in has no secret
        page.fill("#otp", fresh_totp(stack["secrets"][who]))
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    return context, page


@pytest.mark.browser
@pytest.mark.xdist_group("browser-video-console")  # one worker, in order: one module-scoped stack
def test_police_attach_a_camera_and_watch_it_live_while_a_refused_camera_shows_its_clause(browser, video_stack):  # noqa: F811 - the browser fixture
    import os

    stack = video_stack
    context, page = _signed_in(browser, stack, "police", "/board")
    try:
        page.wait_for_selector("#board[data-live=open]")
        row = page.locator("#incident-list tr.incident", has_text="B-VC-1")
        row.wait_for()
        row.click()
        near = "#nearby-list li[data-camera='SD-VB-001']"
        page.wait_for_selector(f"{near} button[data-attach]")
        # Still new: nobody judges it, so it grants the officer nothing until they take it (Art. 9 ⑤).
        assert "판단·대응하는 상태가 아닙니다" in page.locator(f"{near} .near-why").inner_text()
        page.click("#detail-actions button[data-action=acknowledge]")
        page.wait_for_function(
            "() => { const w = document.querySelector(\"#nearby-list li[data-camera='SD-VB-001'] .near-why\"); "
            "return w && w.textContent.includes('연결되지 않았습니다'); }"
        )
        assert page.locator(f"{near} button[data-view]").count() == 0  # not attached: Art. 9 ⑤
        assert "art-9-5" in page.locator(f"{near} .near-why").inner_text()

        page.click(f"{near} button[data-attach]")
        page.wait_for_selector(f"{near}[data-attached=true] button[data-view]")
        page.click(f"{near} button[data-view]")
        page.wait_for_function(
            "() => { const i = document.querySelector('#live-view img[data-role=live]'); "
            "return i && i.naturalWidth > 0; }",
            timeout=45_000,
        )
        page.wait_for_selector("#live-view[data-state=live]")  # the panel noticed the first frame
        assert "SD-VB-001" in page.locator("#live-view [data-role=title]").inner_text()
        width = page.evaluate("document.querySelector('#live-view img[data-role=live]').naturalWidth")
        assert width == 768  # the sample clip, transcoded as it is
        # One click, one viewing on the ledger, written with the first frame.
        assert _stack_ledger(stack) == [("viewing", "live_view", f",{stack['ids']['SD-VB-001']},")]

        # The parks camera is not approved for crime prevention: the row says why, with the clause.
        refused = page.locator("#nearby-list li[data-camera='SD-VB-002']")
        assert refused.get_attribute("data-may-open") == "false"
        why = refused.locator(".near-why").inner_text()
        assert "[annex-1]" in why and "별표1" in why
        assert refused.locator("button[data-view]").count() == 0
        page.screenshot(path=os.path.join(stack["shots"], "board-live-view.png"), full_page=False)

        # Opening the same camera without an incident is refused by the API; the page shows the clause.
        page.goto(f"/cameras/{stack['ids']['SD-VB-001']}")
        page.wait_for_selector("[data-video-panel] [data-video-action=live]")
        page.click("[data-video-panel] [data-video-action=live]")
        page.wait_for_selector("[data-video-stage][data-state=refused]", timeout=20_000)
        box = page.locator("[data-video-stage] [data-role=refusal]")
        assert box.get_attribute("data-clause") == "art-9-5"
        assert "근거 조항: [art-9-5]" in box.inner_text() and "대응 중인 사건을 지정해야" in box.inner_text()
        page.locator("#video").screenshot(path=os.path.join(stack["shots"], "camera-video-refused.png"))
        # The refusal itself is the only failed request (the <img>, then the fetch that reads why).
        unexpected = [p for p in page.problems if "live.mjpeg" not in p and "status of 403" not in p]
        assert unexpected == [], page.problems
        assert sum("HTTP 403" in p and "live.mjpeg" in p for p in page.problems) == 2
        assert len(_stack_ledger(stack)) == 1  # the refusal is on the audit chain, not the ledger
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.xdist_group("browser-video-console")  # one worker, in order: one module-scoped stack
def test_each_click_on_the_camera_panel_is_one_ledger_row_and_a_failed_view_none(browser, video_stack):  # noqa: F811 - the browser fixture
    stack = video_stack
    cam, dead = stack["ids"]["SD-VB-001"], stack["ids"]["SD-VB-003"]
    before = len(_stack_ledger(stack))
    context, page = _signed_in(browser, stack, "agent", f"/cameras/{cam}")
    try:
        panel = "[data-video-panel]"
        page.wait_for_selector(f"{panel} [data-video-action=snapshot]")
        page.click(f"{panel} [data-video-action=snapshot]")
        page.wait_for_selector("[data-video-stage][data-state=snapshot]", timeout=45_000)
        page.click(f"{panel} [data-video-action=live]")
        page.wait_for_selector("[data-video-stage][data-state=live]", timeout=45_000)
        page.click(f"{panel} [data-video-action=stop]")
        rows = _stack_ledger(stack)[before:]
        assert rows == [("use", "snapshot", f",{cam},"), ("use", "live_view", f",{cam},")]

        # A camera with no stream: the click fails (409), the page says so, the ledger is unchanged.
        page.goto(f"/cameras/{dead}")
        page.wait_for_selector(f"{panel} [data-video-action=live]")
        page.click(f"{panel} [data-video-action=live]")
        page.wait_for_selector("[data-video-stage][data-state=failed]", timeout=20_000)
        assert "HTTP 409" in page.locator("[data-video-stage] [data-role=refusal]").inner_text()
        assert _stack_ledger(stack)[before:] == rows
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.xdist_group("browser-video-console")  # one worker, in order: one module-scoped stack
def test_a_provision_request_with_its_scan_goes_from_the_police_form_to_the_it_officers_queue(browser, video_stack):  # noqa: F811 - the browser fixture
    import os

    stack = video_stack
    scan = stack["var"] / "official.pdf"
    scan.write_bytes(PDF)
    context, page = _signed_in(browser, stack, "police", "/access/provisions")
    try:
        page.fill("#request-form textarea[name=cameras]", "SD-VB-001")
        page.fill("#request-form input[name=period_start]", "2026-11-20T10:00")
        page.fill("#request-form input[name=period_end]", "2026-11-20T11:00")
        page.select_option("#request-form select[name=legal_ground]", "crime_investigation")
        page.fill("#request-form input[name=document_number]", "성동서 형사과-2026-311")
        page.fill("#request-form textarea[name=reason]", "편의점 절도 사건 용의자 동선 확인")
        page.set_input_files("#request-form input[name=file]", str(scan))
        page.screenshot(path=os.path.join(stack["shots"], "access-provisions-request.png"), full_page=True)
        page.click("#request-form button[type=submit]")
        page.wait_for_selector("#flash")
        assert "제공 요청을 접수했습니다" in page.inner_text("#flash")
        assert page.locator("#provision-list tr[data-status=requested]").count() == 1
    finally:
        context.close()
    context, page = _signed_in(browser, stack, "it", "/access/provisions")
    try:
        queue = page.locator("#queue tr[data-provision]")
        assert queue.count() == 1 and "SD-VB-001" in queue.inner_text() and "2026-11-20 10:00 KST" in queue.inner_text()
        page.screenshot(path=os.path.join(stack["shots"], "access-provisions.png"), full_page=True)
        queue.locator("input[name=reason]").fill("공문 확인, 적법한 수사 요청")
        queue.locator("button[value=approve]").click()
        page.wait_for_selector("#flash")
        assert page.locator("#provision-list tr[data-status=approved]").count() == 1
        assert page.problems == [], page.problems
    finally:
        context.close()


from tests.e2e.test_board_browser import browser  # noqa: E402, F401 - Chromium fixture
from tests.e2e.test_browser import assets  # noqa: E402, F401 - front-end assets fixture
from tests.integration.test_video import rtsp  # noqa: E402, F401 - the RTSP test server fixture
