"""Bounded request bodies: who is asking is known before a byte of the body is read, and the bytes
actually received are counted against the route's limit.

A pure ASGI middleware (:class:`BodyLimits`), inside the request-context middleware of
``gwanje.web.errors``. For a request that carries a body it

1. finds the route the request is for; a non-public route's caller is resolved from the headers
   (bearer token or session cookie, through the app's identity) and refused with 401 — or 403 where
   the policy grants none of the route's permissions — before the body is read;
2. refuses a declared ``Content-Length`` over the route's limit with 413 at once;
3. counts the body chunks as they arrive (chunked or not) and answers 413 as soon as the limit is
   passed, and 408 when the body stops arriving for ``GWANJE_BODY_TIMEOUT_SECONDS``.

Every refusal closes the connection (``Connection: close``), so the server does not go on reading a
body nobody wants; so does any answer given before the body was read to its end.

Connections (:func:`server_options`, for ``uvicorn.run``): an idle kept-alive connection is closed
after ``KEEP_ALIVE_SECONDS``, one that sends no complete request head after ``HEADERS_SECONDS``.

Limits per route (by the route's path): official-document scans (paths ending ``/document``)
``GWANJE_MAX_DOCUMENT_BYTES``, standard-data imports (paths ending ``/import``)
``GWANJE_MAX_UPLOAD_BYTES``, everything else (JSON and form bodies) ``GWANJE_MAX_BODY_BYTES``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from gwanje.core.errors import BodyTimeout, DomainError, Forbidden, NotAuthenticated, TooLarge
from gwanje.core.settings import Settings
from gwanje.http.deps import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, Principal, public, requires, resolve_principal
from gwanje.policy import decisions

log = logging.getLogger(__name__)

# A multipart form carries its fields and part headers beside the file: room for them above the file limit.
FORM_OVERHEAD_BYTES = 64 * 1024
# How long a kept-alive connection may stay idle between requests (uvicorn closes it after that).
KEEP_ALIVE_SECONDS = 5
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# How long a connection may take to send a request's line and headers (uvicorn alone waits forever).
HEADERS_SECONDS = 10


def server_options(workers: int = 1, *, access_log: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``: idle kept-alive connections are closed, and so are
    connections whose request headers do not arrive in time (slow-header attacks). With several
    worker processes uvicorn hands the protocol to each by its import path. The access log is on
    only when the settings ask for it (``GWANJE_ACCESS_LOG``)."""
    http: Any = HeaderDeadline if workers == 1 else f"{__name__}:HeaderDeadline"
    return {"timeout_keep_alive": KEEP_ALIVE_SECONDS, "http": http, "access_log": access_log}


class HeaderDeadline(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, closing a connection that has sent no complete request head
    within ``HEADERS_SECONDS`` of opening or of its last answer."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(HEADERS_SECONDS, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:  # closed, or a websocket now
            return
        if self.cycle is None or self.cycle.response_complete:  # no request head since
            transport.close()


@dataclass(frozen=True)
class _Guard:
    """What a route asks of its caller: nothing (public) or each ``requires`` it declares."""

    requirements: tuple[requires, ...]

    @property
    def public(self) -> bool:
        return not self.requirements


def guard_of(route: APIRoute) -> _Guard:
    found: list[requires] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, requires):
            found.append(dep.call)
        elif not isinstance(dep.call, public):
            stack.extend(dep.dependencies)
    return _Guard(tuple(found))


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return None


def api_routes(routes) -> list[APIRoute]:  # noqa: ANN001
    """The API routes in the order they are matched (FastAPI keeps included routers nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


class BodyLimits:
    """Pure ASGI middleware; install with ``app.add_middleware(BodyLimits, settings=settings)``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.default_limit = settings.max_body_bytes
        self.upload_limit = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
        self.document_limit = settings.max_document_bytes + FORM_OVERHEAD_BYTES
        self.timeout = settings.body_timeout_seconds
        self._guards: dict[int, _Guard] = {}
        self._routes: list[APIRoute] | None = None  # read from the app on its first request

    def route_of(self, scope: Scope) -> APIRoute | None:
        """The route a request is for, matched on a copy of its scope (matching writes into it)."""
        if self._routes is None:
            self._routes = api_routes(getattr(scope.get("app"), "routes", ()))
        for route in self._routes:
            match, _ = route.matches(dict(scope))
            if match is Match.FULL:
                return route
        return None

    def limit_for(self, path: str) -> int:
        """The body limit of a route, by its path (template or concrete)."""
        if path.endswith("/document"):
            return self.document_limit
        if path.endswith("/import"):
            return self.upload_limit
        return self.default_limit

    def _guard(self, route: APIRoute) -> _Guard:
        guard = self._guards.get(id(route))
        if guard is None:
            guard = self._guards[id(route)] = guard_of(route)
        return guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        route = self.route_of(scope)
        if route is not None:
            refusal = await self._refusal_before_body(scope, self._guard(route))
            if refusal is not None:
                await _answer(scope, refusal)(scope, receive, _closing(send))
                return
        limit = self.limit_for(route.path if route is not None else scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            await _answer(scope, _too_large(limit))(scope, receive, _closing(send))
            return
        await _BoundedBody(self.app, scope, receive, send, limit, self.timeout).run()

    async def _refusal_before_body(self, scope: Scope, guard: _Guard) -> DomainError | None:
        """401/403 for a non-public route, from the headers alone; ``None`` lets the request through."""
        if guard.public:
            return None
        request = Request(scope)
        try:
            principal = await resolve_principal(request)
        except DomainError as exc:
            return exc
        except Exception:  # e.g. the database is down: the route answers that, as it always does
            log.warning("could not resolve the caller before the body of %s", scope["path"], exc_info=True)
            return None
        if principal is None:
            return NotAuthenticated("로그인이 필요합니다", "authentication required")
        if not _csrf_plausible(request, principal):
            return Forbidden("CSRF 토큰이 없거나 올바르지 않습니다", "missing or invalid CSRF token", field=CSRF_FIELD)
        policy = request.app.state.policy
        for requirement in guard.requirements:
            if not requirement.permissions:
                continue
            verdicts = [decisions.role_has_permission(policy, principal.user.role, p) for p in requirement.permissions]
            if not any(v.allowed for v in verdicts):
                first = verdicts[0]
                return Forbidden(first.reason_ko, first.reason_en, clause=first.clause)
        return None


def _csrf_plausible(request: Request, principal: Principal) -> bool:
    """The route's CSRF check, as far as the headers tell (a form's token is in its body: the route
    checks that one), so that a refusal names CSRF before the permission, as the route does."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        return request.headers.get("content-type", "").startswith(FORM_TYPES)
    return hmac.compare_digest(sent.encode(), (principal.csrf_token or "").encode())


class _BoundedBody:
    """One request: the app reads the body through a counter with an idle timeout."""

    def __init__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int, timeout: float) -> None:
        self.app, self.scope, self.receive, self.send = app, scope, receive, send
        self.limit, self.timeout = limit, timeout
        self.received = 0
        self.body_done = False  # the last chunk (or a disconnect) has been received
        self.started = False  # the app has started its response
        self.refused = False  # this middleware has answered; what the app sends is dropped

    async def run(self) -> None:
        try:
            await self.app(self.scope, self.receive_counted, self.send_guarded)
        except Exception:
            if not self.refused:
                raise
            log.debug("request abandoned after %s bytes", self.received, exc_info=True)

    async def receive_counted(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.body_done:
            return await self.receive()
        try:
            message = await asyncio.wait_for(self.receive(), self.timeout)
        except TimeoutError:
            await self._refuse(body_stalled(self.timeout))
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self._refuse(_too_large(self.limit))
                return {"type": "http.disconnect"}
            if not message.get("more_body", False):
                self.body_done = True
        else:
            self.body_done = True
        return message

    async def send_guarded(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if not self.body_done:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self.send(message)

    async def _refuse(self, error: DomainError) -> None:
        self.refused = True
        log.info(
            "refused %s %s: %s after %s bytes", self.scope["method"], self.scope["path"], error.code, self.received
        )
        if not self.started:  # too late for a status once the app has started answering
            await _answer(self.scope, error)(self.scope, self.receive, _closing(self.send))


def body_stalled(timeout: float) -> BodyTimeout:
    return BodyTimeout(f"요청 본문이 {timeout:g}초 동안 도착하지 않았습니다", f"request body stalled for {timeout:g} s")


async def refuse(scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
    """Answer ``error`` as every refusal of this module is answered, closing the connection."""
    await _answer(scope, error)(scope, receive, _closing(send))


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"요청 본문이 너무 큽니다 (최대 {limit:,} 바이트)",
        f"request body too large (at most {limit:,} bytes)",
        details={"limit_bytes": limit},
    )


def _closing(send: Send) -> Send:
    """Every refusal closes the connection: the rest of an unread body is never read."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await send(message)

    return closing


def _answer(scope: Scope, error: DomainError) -> Response:
    """The error as the rest of the app answers it: JSON, or the login page for a browser."""
    path = scope["path"]
    accept = _header(scope, b"accept") or ""
    if isinstance(error, NotAuthenticated) and not path.startswith("/api") and "text/html" in accept:
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    body = error.to_dict()
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=error.status)
