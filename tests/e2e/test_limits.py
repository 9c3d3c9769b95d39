"""Request bodies are bounded by the bytes actually received; who is asking is known before the body
is read; stalled bodies and idle connections time out; the API's docs load nothing from a CDN; JSON
is never cached (issue 8, findings 3 and 9).

A real uvicorn server (the app as ``gwanje serve`` runs it) and raw sockets: the client streams a
body and counts what it managed to send before the server answered and closed the connection — an
upper bound on what the server read.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from tests.conftest import IN_CI

from gwanje.core.settings import Settings
from gwanje.web.limits import KEEP_ALIVE_SECONDS, server_options

MiB = 1_048_576
FORM = "multipart/form-data; boundary=limits-test"
DOCUMENT = "/api/access/provisions/1/document"
# A well-formed start of the scan's part: the form parser reads on into the file's bytes.
SCAN_PART = (
    b'--limits-test\r\ncontent-disposition: form-data; name="file"; filename="scan.pdf"\r\n'
    b"content-type: application/pdf\r\n\r\n%PDF-1.4\n"
)
CHUNK = b"x" * (64 * 1024)
# Loopback socket buffers (both sides, autotuned) hold a few MiB at most: a server that stopped
# reading lets the client send its limit plus that, never tens of MiB more.
SLACK = 24 * MiB
BODY_TIMEOUT = 1.0


class _Server:
    """The app served by uvicorn on loopback, in a thread, with the options ``gwanje serve`` uses."""

    def __init__(self, app) -> None:  # noqa: ANN001
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", **server_options())
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self.server.servers[0].sockets[0].getsockname()[1]

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Served:
    port: int
    harness: object

    def token(self, role: str) -> str:
        return self.harness.token(role)["Authorization"]


@pytest.fixture
def served(harness, tmp_path):
    from gwanje.web.app import create_app

    settings = Settings(
        database_url=harness.db.url,
        var_dir=tmp_path / "var-limits",
        escalation_seconds=0,
        body_timeout_seconds=BODY_TIMEOUT,
    )
    app = create_app(settings, db=harness.db, policy=harness.policy, migrate=False)
    with _Server(app) as port:
        yield Served(port, harness)


@dataclass
class Exchange:
    """What one raw request did: the bytes of body sent, the answer, and when it came."""

    sent: int = 0
    raw: bytes = b""
    answered_after: float | None = None
    closed: bool = False
    send_error: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def status(self) -> int:
        head = self.raw.split(b"\r\n", 1)[0].decode()
        assert head.startswith("HTTP/1.1 "), f"no HTTP answer: {self.raw[:200]!r} ({self.send_error})"
        return int(head.split()[1])

    @property
    def headers(self) -> dict[str, str]:
        head = self.raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head)}

    def json(self) -> dict:
        body = self.raw.split(b"\r\n\r\n", 1)[1]
        if self.headers.get("transfer-encoding") == "chunked":
            out, rest = b"", body
            while rest:
                size, rest = rest.split(b"\r\n", 1)
                n = int(size, 16)
                if n == 0:
                    break
                out, rest = out + rest[:n], rest[n + 2 :]
            body = out
        return json.loads(body)


def _exchange(
    port: int,
    path: str,
    *,
    total: int,
    headers: dict[str, str] | None = None,
    chunked: bool = True,
    stall_after: int | None = None,
    method: str = "POST",
    content_type: str = "application/json",
    prefix: bytes = b"",
    wait: float = 20.0,
) -> Exchange:
    """Send ``method path`` with a body of ``total`` bytes (chunked or with Content-Length), reading
    the answer meanwhile; stop sending once answered. ``stall_after``: stop sending after that many
    bytes and wait for the server."""
    ex = Exchange()
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    head = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{port}", f"content-type: {content_type}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append("transfer-encoding: chunked" if chunked else f"content-length: {total}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    answered = threading.Event()

    def read() -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    ex.closed = True
                    break
                if not ex.raw:
                    ex.answered_after = time.monotonic() - ex.started
                ex.raw += data
                answered.set()
        except TimeoutError:
            pass  # still open: the server is waiting for more
        except OSError:
            ex.closed = True
        finally:
            answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    limit = total if stall_after is None else stall_after
    try:
        if prefix:
            sock.sendall(b"%x\r\n%s\r\n" % (len(prefix), prefix) if chunked else prefix)
            ex.sent += len(prefix)
        while ex.sent < limit and not answered.is_set():
            piece = CHUNK[: min(len(CHUNK), limit - ex.sent)]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            ex.sent += len(piece)
        if stall_after is None and not answered.is_set() and chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError as exc:  # the server closed the connection: exactly what a refusal does
        ex.send_error = type(exc).__name__
    reader.join(wait)
    sock.close()
    return ex


def _assert_refusal(ex: Exchange, status: int) -> dict:
    assert ex.status == status, ex.raw[:400]
    body = ex.json()
    assert body["message"]["ko"] and body["message"]["en"], body
    assert ex.headers.get("connection") == "close", ex.headers
    assert ex.closed, "the server must close the connection rather than read the rest of the body"
    return body


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_300_mb_body_is_refused_past_the_limit_and_not_read_to_its_end(served, chunked):
    auth = {"authorization": served.token("district_manager")}
    ex = _exchange(served.port, "/api/cameras", total=300 * MiB, headers=auth, chunked=chunked)
    body = _assert_refusal(ex, 413)
    assert body["error"] == "too_large" and body["details"]["limit_bytes"] == MiB
    assert ex.sent < MiB + SLACK, f"the client could send {ex.sent:,} bytes: the server kept reading"
    assert ex.headers.get("cache-control") == "no-store"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_an_anonymous_upload_is_refused_with_401_before_its_body_is_read(served, chunked):
    ex = _exchange(served.port, DOCUMENT, total=150 * MiB, content_type=FORM, chunked=chunked)
    body = _assert_refusal(ex, 401)
    assert body["error"] == "not_authenticated"
    assert ex.sent < SLACK, f"{ex.sent:,} bytes of an anonymous upload were taken in"

    bad = _exchange(served.port, DOCUMENT, total=150 * MiB, content_type=FORM, headers={"authorization": "Bearer nope"})
    _assert_refusal(bad, 401)
    assert bad.sent < SLACK


def test_a_caller_without_the_permission_is_refused_with_403_before_the_body(served):
    auth = {"authorization": served.token("district_manager")}  # may approve provisions, not request them
    ex = _exchange(served.port, DOCUMENT, total=150 * MiB, content_type=FORM, headers=auth)
    body = _assert_refusal(ex, 403)
    assert body["clause"]
    assert ex.sent < SLACK


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_document_scan_is_bounded_at_ten_mebibytes_not_two_hundred(served, chunked):
    assert Settings().max_document_bytes == 10 * MiB
    auth = {"authorization": served.token("police_investigator")}
    ex = _exchange(
        served.port, DOCUMENT, total=150 * MiB, content_type=FORM, prefix=SCAN_PART, headers=auth, chunked=chunked
    )
    body = _assert_refusal(ex, 413)
    assert 10 * MiB <= body["details"]["limit_bytes"] < 11 * MiB
    assert ex.sent < 10 * MiB + SLACK


def test_a_body_that_stops_arriving_gets_408(served):
    auth = {"authorization": served.token("district_manager")}
    for chunked in (True, False):
        ex = _exchange(
            served.port, "/api/cameras", total=10_000, stall_after=100, headers=auth, chunked=chunked, wait=10
        )
        body = _assert_refusal(ex, 408)
        assert body["error"] == "body_timeout"
        assert BODY_TIMEOUT * 0.9 <= ex.answered_after < BODY_TIMEOUT + 3, ex.answered_after


def test_bodies_within_their_limits_still_reach_their_routes(served):
    """The counter does not get in the way: a small body is read whole and answered by the route."""
    auth = {"authorization": served.token("district_manager")}
    for chunked in (True, False):
        ex = _exchange(served.port, "/api/cameras", total=100, headers=auth, chunked=chunked, wait=2)
        assert ex.status == 422, ex.raw[:300]  # 100 bytes of "x": not JSON — the route's own answer
        assert ex.json()["error"] == "validation_failed"
        assert ex.headers.get("connection") != "close"


def test_an_idle_kept_alive_connection_is_closed(served):
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=KEEP_ALIVE_SECONDS + 5)
    began = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
    raw = b""
    while chunk := sock.recv(65536):  # the answer, then the server's close once the connection idles
        raw += chunk
    sock.close()
    assert raw.startswith(b"HTTP/1.1 200") and b"connection: close" not in raw.lower()
    assert KEEP_ALIVE_SECONDS - 1 < time.monotonic() - began < KEEP_ALIVE_SECONDS + 3


def test_a_connection_that_sends_no_complete_request_head_is_closed(served, monkeypatch):
    from gwanje.web import limits

    monkeypatch.setattr(limits, "HEADERS_SECONDS", 1.0)
    for sent in (b"", b"POST /api/cameras HTTP/1.1\r\nhost: x\r\n"):  # silent; a slow head
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=8)
        began = time.monotonic()
        sock.sendall(sent)
        with contextlib.suppress(ConnectionResetError):  # closed: FIN or RST, either way
            assert sock.recv(65536) == b"", sent
        assert time.monotonic() - began < 4, sent
        sock.close()


# ---- finding 9: closed networks, no caching of JSON -------------------------------------------------


def test_the_api_docs_page_loads_nothing_from_another_host(harness):
    resp = harness.client.get("/api/docs")
    assert resp.status_code == 200 and "SwaggerUIBundle" in resp.text
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]", resp.text, re.IGNORECASE), resp.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", resp.text)
    assert urls and all(u.startswith("/static/vendor/swagger-ui/") for u in urls), urls
    assert "validatorUrl" in resp.text  # the validator badge (validator.swagger.io) is off
    assert harness.client.get("/api/openapi.json").status_code == 200


def test_the_swagger_ui_assets_are_served_from_the_package(harness):
    from gwanje.ui.render import STATIC_DIR

    if not (STATIC_DIR / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").is_file():
        if IN_CI:
            pytest.fail("front-end assets must be installed under CI (scripts/setup runs scripts/install-assets.sh)")
        pytest.skip("front-end assets not installed: run scripts/install-assets.sh")
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert harness.client.get(f"/static/vendor/swagger-ui/{name}").status_code == 200, name


def test_every_json_answer_says_no_store(harness):
    h = harness.token("district_manager")
    answers = {
        "search": harness.client.get("/api/cameras", headers=h),
        "geojson": harness.client.get("/api/cameras.geojson", headers=h),
        "openapi": harness.client.get("/api/openapi.json"),
        "health": harness.client.get("/healthz"),
        "401": harness.client.get("/api/cameras"),
        "404": harness.client.get("/api/no-such-thing", headers=h),
        "422": harness.client.post("/api/cameras", json={}, headers=h),
        "413": harness.client.post("/api/cameras", content=b"x" * (2 * MiB), headers=h),
    }
    for name, resp in answers.items():
        assert "json" in resp.headers["content-type"], (name, resp.headers)
        assert resp.headers.get("cache-control") == "no-store", (name, resp.status_code, resp.headers)


def test_a_small_scan_is_read_whole_and_answered_by_its_route(served):
    auth = {"authorization": served.token("police_investigator")}
    body = (
        b'--limits-test\r\ncontent-disposition: form-data; name="document_number"\r\n\r\nDOC-1\r\n'
        + SCAN_PART
        + b"1 0 obj\n\r\n--limits-test--\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    head = (
        f"POST /api/access/provisions/999999/document HTTP/1.1\r\nhost: x\r\nauthorization: {auth['authorization']}\r\n"
    )
    head += f"content-type: {FORM}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    sock.sendall(head.encode() + body)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    assert raw.startswith(b"HTTP/1.1 404"), raw[:300]  # the route ran: no such provision


def test_an_anonymous_browser_form_post_is_sent_to_the_login_page_before_its_body(harness):
    resp = harness.client.post(
        "/access/provisions/document",
        content=b"x" * (2 * MiB),
        headers={"accept": "text/html", "content-type": FORM},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")


def test_a_session_caller_is_checked_for_csrf_before_the_body_and_odd_tokens_get_403(harness):
    from tests.e2e.test_console import login

    csrf = login(harness)
    for sent in (None, b"\xff\xfe not ascii", b"forged"):
        headers = {"content-type": "application/json"}
        if sent is not None:
            headers["x-csrf-token"] = sent
        resp = harness.client.post("/api/cameras", content=b"x" * (2 * MiB), headers=headers)
        assert resp.status_code == 403 and resp.json()["field"] == "csrf_token", (sent, resp.text[:200])
    ok = harness.client.post("/api/cameras", content=b"x" * (2 * MiB), headers={"x-csrf-token": csrf})
    # Through the CSRF check: then the permission, then the size.
    assert ok.status_code in (403, 413) and ok.json().get("field") != "csrf_token", ok.text[:200]


def test_device_posts_keep_every_limit_once_their_token_is_kept(served):
    """``POST /api/events`` is answered before the framework for a kept token (gwanje.web.fastpath):
    the body limit and the idle timeout hold there as on every route."""
    auth = {"authorization": served.token("device")}
    bell = json.dumps(
        {
            "message_id": "limits-1",
            "type": "emergency_bell",
            "payload": {"bell_id": "B-1", "latitude": 37.5, "longitude": 127},
        }
    ).encode()
    for _ in range(2):  # the first keeps the token's grant; the second is answered by the fast path
        ex = _exchange(served.port, "/api/events", total=len(bell), prefix=bell, headers=auth, chunked=False, wait=5)
        assert ex.status in (200, 202), ex.raw[:300]
    big = _exchange(served.port, "/api/events", total=300 * MiB, headers=auth, chunked=False)
    assert _assert_refusal(big, 413)["error"] == "too_large"
    assert big.sent < MiB + SLACK
    for chunked in (True, False):
        ex = _exchange(
            served.port, "/api/events", total=10_000, stall_after=100, headers=auth, chunked=chunked, wait=10
        )
        assert _assert_refusal(ex, 408)["error"] == "body_timeout"
        assert BODY_TIMEOUT * 0.9 <= ex.answered_after < BODY_TIMEOUT + 3, ex.answered_after
