"""``POST /api/events`` without the framework in between, for the requests devices send all day.

Devices post one message at a time and wait for the answer, so the route's cost per request is the
center's ingest ceiling over HTTP. Through FastAPI three quarters of that cost was the framework —
matching the path twice (here and in :mod:`gwanje.web.limits`), solving the dependencies, building
the request and response objects — not storing the event. :class:`PostedEvents` is a pure ASGI
middleware, inside the request context (request id, security headers, ``no-store``), that answers a
request itself only when everything about it is plain:

* ``POST /api/events`` exactly, with no query string;
* a declared ``Content-Length`` within the body limit;
* a bearer token this process keeps a grant for (:func:`gwanje.http.deps.kept_token_principal`: the
  revision counters are read, so a revoked token or locked account is refused as everywhere), whose
  role the policy grants every permission the route declares (read from the route itself).

It then reads the body with the same idle timeout as every route and stores the message through
:func:`gwanje.situations.api.ingest_posted`, the route's own code, so the answer is the route's.
Anything else — no token, a session cookie, a refusal, a chunked body, a disconnect, an error while
storing (a database outage answers 503 through the app's handlers) — goes the ordinary way through
the app, with any body already read handed on unchanged.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gwanje.core.settings import Settings
from gwanje.http.deps import kept_token_principal
from gwanje.policy import decisions
from gwanje.situations.api import ingest_posted
from gwanje.web import limits

PATH = "/api/events"
_JSON = (b"content-type", b"application/json")


class PostedEvents:
    """Pure ASGI middleware; install with ``app.add_middleware(PostedEvents, settings=settings)``
    inside :class:`gwanje.web.errors.RequestContext`."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        self.timeout = settings.body_timeout_seconds
        self._permissions: tuple[tuple[str, ...], ...] | None = None  # read from the route on first use
        self.answered = 0  # requests answered here (for tests and figures)

    def permissions(self, scope: Scope) -> tuple[tuple[str, ...], ...]:
        """The route's ``requires(...)``: each must be met by one of its permissions. Empty (never
        answered here) when the route is missing, public, or asks only for a signed-in caller."""
        if self._permissions is None:
            found: tuple[tuple[str, ...], ...] = ()
            for route in limits.api_routes(getattr(scope.get("app"), "routes", ())):
                if route.path == PATH and "POST" in route.methods:
                    guard = limits.guard_of(route)
                    if guard.requirements and all(r.permissions for r in guard.requirements):
                        found = tuple(r.permissions for r in guard.requirements)
                    break
            self._permissions = found
        return self._permissions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("query_string")
            or self._declared_length(scope) is None
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        principal = await kept_token_principal(request)
        required = self.permissions(scope)
        if principal is None or not required or not self._granted(request, principal.user.role, required):
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                await limits.refuse(scope, receive, send, limits.body_stalled(self.timeout))
                return
            read.append(message)
            if message["type"] != "http.request":  # the caller left: the app answers that as always
                await self.app(scope, _replay(read, receive), send)
                return
            if not message.get("more_body", False):
                break
        raw = b"".join(m.get("body", b"") for m in read)
        try:
            status, body = await ingest_posted(
                request.app.state.ingest_coalescer, principal, raw, request.headers.get("x-device-id")
            )
        except Exception:  # noqa: BLE001 - the app's handlers answer it (503 for an outage), as for any request
            await self.app(scope, _replay(read, receive), send)
            return
        self.answered += 1
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", b"%d" % len(body)), _JSON],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _declared_length(self, scope: Scope) -> int | None:
        length = None
        for name, value in scope["headers"]:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length":
                if length is not None or not value.strip().isdigit():
                    return None
                length = int(value)
        return length if length is not None and length <= self.limit else None

    @staticmethod
    def _granted(request: Request, role: str, required: tuple[tuple[str, ...], ...]) -> bool:
        policy = request.app.state.policy
        return all(any(decisions.role_has_permission(policy, role, p).allowed for p in each) for each in required)


def _replay(read: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages already read, then the connection's own."""
    pending = list(read)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
