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
from starlette.exceptions import HTTPException as StarletteHTTPException

from gwanje.core.errors import DomainError, NotAuthenticated, TooManyAttempts
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
    @app.middleware("http")
    async def request_context(request: Request, call_next):  # noqa: ANN001, ANN202
        request.state.request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.principal = None
        response = await call_next(request)
        response.headers["x-request-id"] = request.state.request_id
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("x-frame-options", "DENY")
        response.headers.setdefault("referrer-policy", "same-origin")
        return response


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


def _error_response(request: Request, status: int, code: str, ko: str, en: str, **extra) -> JSONResponse:  # noqa: ANN003
    body = {"error": code, "message": {"ko": ko, "en": en}, **extra}
    rid = getattr(request.state, "request_id", None)
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):  # noqa: ANN202
        if _wants_html(request):
            if isinstance(exc, NotAuthenticated):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
            return render_error(request, exc)
        body = exc.to_dict()
        body["request_id"] = getattr(request.state, "request_id", None)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # noqa: ANN202
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, "internal_error", "내부 오류가 발생했습니다", "internal error")
