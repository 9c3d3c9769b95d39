"""The wiring root of the web application: API, console, error mapping, guards."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from urllib.parse import quote
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from gwanje import __version__
from gwanje.accounts import service as accounts
from gwanje.bootstrap import load_configured_policy, make_bus
from gwanje.core.bus import LocalBus
from gwanje.core.db import Database
from gwanje.core.errors import DomainError, NotAuthenticated
from gwanje.core.migrate import upgrade
from gwanje.core.settings import Settings, get_settings
from gwanje.http.deps import PUBLIC, public, requires
from gwanje.policy.model import Policy
from gwanje.situations.hotlist_service import HotListCache
from gwanje.ui.render import STATIC_DIR

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    404: ("요청한 주소를 찾을 수 없습니다", "not found"),
    405: ("허용되지 않는 메서드입니다", "method not allowed"),
    413: ("요청 본문이 너무 큽니다", "request body too large"),
    415: ("지원하지 않는 형식입니다", "unsupported media type"),
}


# Routes that take files (standard data, official-document scans) get the larger upload limit.
UPLOAD_PATHS = ("/import", "/document")


def create_app(settings: Settings | None = None, db: Database | None = None, policy: Policy | None = None,
               migrate: bool = True, bus: LocalBus | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.resolved_database_url())
    policy = policy or load_configured_policy(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        if migrate:
            upgrade(db.engine)
        _record_policy(db, policy)
        await app.state.bus.start()
        # Compile the nearest-camera kernels off the request path (seconds on a fresh machine).
        threading.Thread(target=_warm_spatial, name="spatial-warmup", daemon=True).start()
        escalator = asyncio.create_task(_escalation_loop(app)) if settings.escalation_seconds else None
        try:
            yield
        finally:
            if escalator is not None:
                escalator.cancel()
            from gwanje.video import api as video_api

            await video_api.shutdown(app)
            await app.state.bus.stop()

    app = FastAPI(
        title="gwanje (관제)",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.policy = policy
    app.state.secret_key = settings.resolved_secret_key()
    app.state.bus = bus or make_bus(settings)
    app.state.identity = accounts
    # Every committed unit of work publishes its recorded events on this app's bus.
    db.publish_to(app.state.bus.publish_many)
    app.state.hotlist = HotListCache(db)

    _install_middleware(app, settings)
    _install_error_handlers(app)

    from gwanje.accounts.api import router as accounts_router
    from gwanje.core.audit_api import router as audit_router
    from gwanje.registry.api import router as registry_router
    from gwanje.access.api import router as access_router
    from gwanje.situations.api import router as situations_router

    app.include_router(accounts_router)
    app.include_router(registry_router)
    app.include_router(audit_router)
    app.include_router(situations_router)
    app.include_router(access_router)
    from gwanje.evidence.api import router as evidence_router

    app.include_router(evidence_router)

    from gwanje.registry.spatial import CameraIndexCache
    from gwanje.situations import nearby_api
    from gwanje.web import board, live
    from gwanje.web.console import install as install_console

    app.state.camera_index = CameraIndexCache(db)
    # Before the registry's /api/cameras/{camera_id}, which would otherwise catch /api/cameras/nearest.
    nearby_api.install(app)
    install_console(app)
    from gwanje.web import video_console

    video_console.install(app)
    live.install(app)
    board.install(app)
    from gwanje.video import api as video_api

    video_api.install(app)

    @app.get("/healthz", dependencies=[PUBLIC], tags=["meta"])
    async def healthz() -> dict:
        return {"status": "ok", "version": __version__}

    if STATIC_DIR.exists():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    assert_routes_guarded(app)
    return app


def _record_policy(db: Database, policy: Policy) -> None:
    import hashlib

    from gwanje.core.audit import record_policy_in_force

    source = Path(policy.source)
    if not source.is_file():
        return
    with db.uow() as uow:
        if record_policy_in_force(uow.session, source.name, hashlib.sha256(source.read_bytes()).hexdigest()):
            uow.commit()


def _warm_spatial() -> None:
    try:
        from gwanje.registry.spatial import _kernels

        _kernels()
    except Exception:  # noqa: BLE001 - the index still works, only the first query is slow
        log.exception("could not prepare the nearest-camera kernels")


async def _escalation_loop(app: FastAPI) -> None:
    """Every few seconds: incidents nobody acknowledged in time go to the next role."""
    from starlette.concurrency import run_in_threadpool

    from gwanje.access.service import flag_overdue
    from gwanje.situations.service import escalate_overdue

    while True:
        await asyncio.sleep(app.state.settings.escalation_seconds)
        try:
            for job in (escalate_overdue, flag_overdue):
                events = await run_in_threadpool(job, app.state.db, app.state.policy)
                app.state.bus.publish_many(events)
        except Exception:  # noqa: BLE001 - keep escalating after a transient database error
            log.exception("escalation pass failed")


def assert_routes_guarded(app: FastAPI) -> None:
    """Every API route must declare ``requires(...)`` or ``public``; refuse to start otherwise."""
    unguarded = []
    for route in iter_api_routes(app.routes):
        calls = [d.call for d in route.dependant.dependencies]
        if not any(isinstance(c, (requires, public)) for c in calls):
            unguarded.append(f"{sorted(route.methods)} {route.path}")
    if unguarded:
        raise RuntimeError("routes without an authentication declaration: " + ", ".join(unguarded))


def iter_api_routes(routes) -> list[APIRoute]:  # noqa: ANN001
    """All API routes, including those of included routers (FastAPI keeps them nested)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(iter_api_routes(route.original_router.routes))
    return found


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    limit = settings.max_body_bytes
    upload_limit = settings.max_upload_bytes

    @app.middleware("http")
    async def request_context(request: Request, call_next):  # noqa: ANN001, ANN202
        request.state.request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.principal = None
        allowed = upload_limit if request.url.path.endswith(UPLOAD_PATHS) else limit
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > allowed:
                return _error_response(request, 413, "too_large", *HTTP_MESSAGES[413])
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


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):  # noqa: ANN202
        if _wants_html(request):
            if isinstance(exc, NotAuthenticated):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
            from gwanje.ui.render import render_error

            return render_error(request, exc)
        body = exc.to_dict()
        body["request_id"] = getattr(request.state, "request_id", None)
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):  # noqa: ANN202
        problems = []
        for err in exc.errors()[:20]:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            problems.append({"field": ".".join(loc) or None, "type": err.get("type"), "en": err.get("msg")})
        first = problems[0]["field"] if problems else None
        return _error_response(
            request, 422, "validation_failed",
            f"입력값이 올바르지 않습니다: {first}" if first else "입력값이 올바르지 않습니다",
            f"invalid input: {first}" if first else "invalid input",
            field=first, problems=problems,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        ko, en = HTTP_MESSAGES.get(exc.status_code, ("요청을 처리할 수 없습니다", str(exc.detail)))
        return _error_response(request, exc.status_code, "http_error", ko, en)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # noqa: ANN202
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, "internal_error", "내부 오류가 발생했습니다", "internal error")
