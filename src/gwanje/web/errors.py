"""HTTP edges of the app: request context (body limits in ``gwanje.web.limits``), and one mapping of
errors to responses.

Domain errors (``gwanje.core.errors``) become JSON with a Korean and an English message, or a console
page for a browser; validation errors name the field; nothing unexpected leaks a traceback.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import exc as sa_exc
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gwanje.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    TooManyAttempts,
    Unavailable,
    ValidationFailed,
)
from gwanje.core.settings import Settings
from gwanje.ui.render import render_error

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    404: ("요청한 주소를 찾을 수 없습니다", "not found"),
    405: ("허용되지 않는 메서드입니다", "method not allowed"),
    413: ("요청 본문이 너무 큽니다", "request body too large"),
    415: ("지원하지 않는 형식입니다", "unsupported media type"),
}


def install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(RequestContext)


_SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
)


class RequestContext:
    """Each request gets an id (``X-Request-Id``, taken from the caller when it sent one) and an empty
    principal; each answer carries the id and the browser security headers it does not set itself.
    A pure ASGI middleware: no task or stream between the server and the app for each request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("x-request-id", "")[:64]
        request_id = sent or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["principal"] = None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                for name, value in _SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


def _error_response(request: Request, status: int, code: str, ko: str, en: str, **extra) -> JSONResponse:  # noqa: ANN003
    body = {"error": code, "message": {"ko": ko, "en": en}, **extra}
    rid = getattr(request.state, "request_id", None)
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status)


try:  # the NATS client's own errors (no server, connection closed, …) are a bus outage
    from nats.errors import Error as _NatsError
except ImportError:  # pragma: no cover - nats-py is a dependency
    _NatsError = ConnectionError

# What is down when these escape a route: a database or a broker/bus outage, not a bug (503).
_DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
_BROKER_DOWN = (ConnectionError, TimeoutError, _NatsError)


def outage(exc: BaseException) -> Unavailable | None:
    """The 503 for an error that means a service gwanje needs is unreachable; None for anything else."""
    if isinstance(exc, _DATABASE_DOWN) or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated):
        return Unavailable(
            "데이터베이스에 연결할 수 없습니다. 잠시 후 다시 시도하세요",
            "the database cannot be reached; try again shortly",
            details={"down": ["database"]},
        )
    if isinstance(exc, _NatsError):
        return Unavailable(
            "이벤트 버스에 연결할 수 없습니다. 잠시 후 다시 시도하세요",
            "the event bus cannot be reached; try again shortly",
            details={"down": ["bus"]},
        )
    if isinstance(exc, _BROKER_DOWN):
        return Unavailable(
            "연결된 서비스(브로커 등)가 응답하지 않습니다. 잠시 후 다시 시도하세요",
            "a service gwanje depends on (the broker or another) did not answer; try again shortly",
            details={"down": ["service"]},
        )
    return None


def bad_value(exc: BaseException) -> DomainError | None:
    """A value the database refused that the edge did not catch: the caller's input, so a 4xx."""
    if isinstance(exc, (sa_exc.DataError, OverflowError)):
        return ValidationFailed("입력값이 허용 범위를 벗어났습니다", "a value is out of the range that can be stored")
    if isinstance(exc, sa_exc.IntegrityError):
        return Conflict("이미 있거나 참조가 맞지 않는 항목입니다", "the item already exists or refers to a missing one")
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):  # noqa: ANN202
        headers = None
        if isinstance(exc, Unavailable):
            headers = {"retry-after": str(exc.retry_after_s)}
        elif isinstance(exc, TooManyAttempts):
            headers = {"retry-after": str(exc.retry_after)}
        if _wants_html(request):
            if isinstance(exc, NotAuthenticated):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
            try:
                response = render_error(request, exc)
            except Exception:  # the page itself needs what is down: answer in JSON
                log.warning("error page failed for %s", request.url.path, exc_info=True)
            else:
                response.headers.update(headers or {})
                return response
        body = exc.to_dict()
        body["request_id"] = getattr(request.state, "request_id", None)
        return JSONResponse(body, status_code=exc.status, headers=headers)

    async def infrastructure_error(request: Request, exc: Exception):  # noqa: ANN202
        mapped = outage(exc)
        if mapped is not None:
            log.warning("%s on %s %s: %s", mapped.details["down"][0], request.method, request.url.path, exc)
            return await domain_error(request, mapped)
        mapped = bad_value(exc)
        if mapped is not None:
            log.warning("refused by the database on %s %s: %s", request.method, request.url.path, exc)
            return await domain_error(request, mapped)
        return await unexpected(request, exc)

    for kind in (sa_exc.SQLAlchemyError, OverflowError, *_BROKER_DOWN):
        app.add_exception_handler(kind, infrastructure_error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):  # noqa: ANN202
        problems = []
        for err in exc.errors()[:20]:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            problems.append({"field": ".".join(loc) or None, "type": err.get("type"), "en": err.get("msg")})
        first = problems[0]["field"] if problems else None
        return _error_response(
            request,
            422,
            "validation_failed",
            f"입력값이 올바르지 않습니다: {first}" if first else "입력값이 올바르지 않습니다",
            f"invalid input: {first}" if first else "invalid input",
            field=first,
            problems=problems,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        ko, en = HTTP_MESSAGES.get(exc.status_code, ("요청을 처리할 수 없습니다", str(exc.detail)))
        return _error_response(request, exc.status_code, "http_error", ko, en)

    @app.exception_handler(ClientDisconnect)
    async def client_went_away(request: Request, exc: ClientDisconnect):  # noqa: ANN202
        # The body stopped because the caller left: nobody is there to answer, and nothing is wrong here.
        log.info("client left during %s %s", request.method, request.url.path)
        return _error_response(request, 400, "client_disconnected", "연결이 끊겼습니다", "the client disconnected")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # noqa: ANN202
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, "internal_error", "내부 오류가 발생했습니다", "internal error")
