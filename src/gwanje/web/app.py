"""The web app factory: one list of every capability's routers, the error mapping, background jobs."""

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
from gwanje.situations.hotlist.service import HotListCache
from gwanje.ui.render import STATIC_DIR
from gwanje.web import errors, jobs

log = logging.getLogger(__name__)

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
        jobs.warm_up_in_background()
        escalator = jobs.start_periodic(app)
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

    errors.install_middleware(app, settings)
    errors.install_error_handlers(app)

    from gwanje.accounts.api import router as accounts_router
    from gwanje.audit.api import router as audit_router
    from gwanje.registry.api import router as registry_router
    from gwanje.access import api as access_api
    from gwanje.situations import api as situations_api
    from gwanje.situations import views as situations_views

    app.include_router(accounts_router)
    # Situations first: its /api/cameras/nearest must come before the registry's /api/cameras/{camera_id}.
    for situations_router in situations_api.routers:
        app.include_router(situations_router)
    app.include_router(registry_router)
    app.include_router(audit_router)
    for access_router in access_api.routers:
        app.include_router(access_router)
    from gwanje.evidence.api import router as evidence_router

    app.include_router(evidence_router)

    from gwanje.registry.spatial import CameraIndexCache
    from gwanje.accounts import views as accounts_views
    from gwanje.registry import views as registry_views

    app.state.camera_index = CameraIndexCache(db)
    # A camera added, moved or retired (registry events, after commit) makes the index stale.
    app.state.bus.listeners.append(app.state.camera_index.on_event)
    for console_router in (*accounts_views.routers, *registry_views.routers, *situations_views.routers):
        app.include_router(console_router)
    from gwanje.access import views as access_views
    from gwanje.video import views as video_views

    for console_router in (*access_views.routers, *video_views.routers):
        app.include_router(console_router)
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
