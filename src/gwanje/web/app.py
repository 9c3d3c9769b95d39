"""The web app factory: one list of every capability's routers, the error mapping, background jobs.

A new capability registers its routes by adding its ``api.routers`` and ``views.routers`` to
:data:`ROUTERS` (order matters only where paths overlap; it is said beside the entry).
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.staticfiles import StaticFiles

from gwanje import __version__
from gwanje.access import api as access_api
from gwanje.access import views as access_views
from gwanje.accounts import api as accounts_api
from gwanje.accounts import service as accounts
from gwanje.accounts import views as accounts_views
from gwanje.audit import api as audit_api
from gwanje.audit import views as audit_views
from gwanje.center import api as center_api
from gwanje.center import views as center_views
from gwanje.bootstrap import configure_audit, load_configured_policy, load_settings, make_bus
from gwanje.core.audit import record_policy_in_force
from gwanje.core.bus import LocalBus
from gwanje.core.crypto import SecretBox
from gwanje.core.db import Database
from gwanje.core.errors import Unavailable
from gwanje.core.migrate import upgrade
from gwanje.core.revisions import RevisionCache, RevisionReader
from gwanje.core.settings import Settings, get_settings
from gwanje.situations.batching import IngestCoalescer
from gwanje.evidence import api as evidence_api
from gwanje.evidence import views as evidence_views
from gwanje.http.deps import PUBLIC, public, requires
from gwanje.maintenance import api as maintenance_api
from gwanje.maintenance import views as maintenance_views
from gwanje.policy.model import Policy
from gwanje.registry import api as registry_api
from gwanje.registry import views as registry_views
from gwanje.registry.spatial import CameraIndexCache
from gwanje.situations import api as situations_api
from gwanje.situations import views as situations_views
from gwanje.situations.hotlist.service import HotListCache
from gwanje.ui.render import STATIC_DIR
from gwanje.video import api as video_api
from gwanje.video import views as video_views
from gwanje.video.service import LiveHub
from gwanje.web import docs, errors, fastpath, headers, jobs, limits, ready

log = logging.getLogger(__name__)

# Every capability's routers, in the order they are matched.
ROUTERS = (
    *accounts_api.routers,
    # Situations before the registry: its /api/cameras/nearest must win over /api/cameras/{camera_id}.
    *situations_api.routers,
    *registry_api.routers,
    *audit_api.routers,
    *access_api.routers,
    *evidence_api.routers,
    *video_api.routers,
    *center_api.routers,
    *maintenance_api.routers,
    *accounts_views.routers,
    *registry_views.routers,
    *situations_views.routers,
    *access_views.routers,
    *center_views.routers,
    *maintenance_views.routers,
    *video_views.routers,
    *evidence_views.routers,
    *audit_views.routers,
)


class Health(BaseModel):
    status: str
    version: str


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    policy: Policy | None = None,
    migrate: bool = True,
    bus: LocalBus | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.resolved_database_url())
    if db.audit_key is None:
        configure_audit(db, settings)
    policy = policy or load_configured_policy(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        if migrate:
            upgrade(db.engine, credentials_key=settings.resolved_credentials_key())
        record_policy(db, policy)
        await app.state.revisions.start()
        await app.state.bus.start()
        jobs.warm_up_in_background()
        periodic = jobs.start_periodic(app)
        try:
            yield
        finally:
            if periodic is not None:
                periodic.cancel()
            await app.state.ingest_coalescer.close()
            await app.state.revisions.stop()
            await app.state.video_hub.close()
            await app.state.bus.stop()

    app = FastAPI(
        title="gwanje (관제)",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,  # gwanje.web.docs serves the page with Swagger UI from the package
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.policy = policy
    app.state.secret_key = settings.resolved_secret_key()
    app.state.credentials = SecretBox(settings.resolved_credentials_key())
    app.state.bus = bus or make_bus(settings)
    app.state.identity = accounts
    # Every committed unit of work publishes its recorded events on this app's bus.
    db.publish_to(app.state.bus.publish_many)
    app.state.hotlist = HotListCache(db)
    app.state.revisions = RevisionReader(db)
    # search pages and maps as sent, at most 128 MiB per process whatever callers ask for
    app.state.registry_cache = RevisionCache(size=256, max_bytes=128 * 1_048_576)
    app.state.ingest_coalescer = IngestCoalescer(db, policy, app.state.hotlist.match)
    app.state.token_cache = RevisionCache(size=4096)
    app.state.camera_index = CameraIndexCache(db)
    # A camera added, moved or retired (registry events, after commit) makes the index stale.
    app.state.bus.listeners.append(app.state.camera_index.on_event)
    app.state.video_hub = LiveHub()

    # Middleware, innermost first: body limits and the events fast path run inside the request context
    # (its request id, its cleared principal); no-store wraps every answer, the limits' refusals included.
    app.add_middleware(limits.BodyLimits, settings=settings)
    # Plain device posts are answered here, before the framework (gwanje.web.fastpath); the rest pass on.
    app.add_middleware(fastpath.PostedEvents, settings=settings)
    errors.install_middleware(app, settings)
    app.add_middleware(headers.NoStoreJSON)
    errors.install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(docs.router)

    @app.get("/healthz", dependencies=[PUBLIC], tags=["meta"])
    async def healthz() -> Health:
        """Liveness: the process answers (what it depends on is ``/readyz``)."""
        return Health(status="ok", version=__version__)

    @app.get(
        "/readyz",
        dependencies=[PUBLIC],
        tags=["meta"],
        response_model=ready.Readiness,
        responses={503: {"model": ready.Readiness, "description": "something it needs is down"}},
    )
    async def readyz() -> Response:
        """Readiness: the database, and the MQTT broker and NATS bus when configured; 503 names what is down."""
        state = await ready.readiness(settings, db, app.state.bus, __version__)
        if not state.down:
            return JSONResponse(state.model_dump())
        names = ", ".join(state.down)
        body = {
            **state.model_dump(),
            "error": "unavailable",
            "message": {"ko": f"서비스 준비가 되지 않았습니다: {names}", "en": f"not ready: {names} down"},
        }
        return JSONResponse(body, status_code=503, headers={"retry-after": str(Unavailable.retry_after_s)})

    if STATIC_DIR.exists():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    assert_routes_guarded(app)
    return app


def create_worker_app() -> FastAPI:
    """One process of ``gwanje serve --workers N`` (uvicorn imports this by name in each process): the
    parent migrated the database and noted the policy before it started them."""
    from gwanje.core.runtime import freeze_long_lived

    settings = load_settings()
    app = create_app(settings, policy=load_configured_policy(settings), migrate=False)
    freeze_long_lived()
    return app


def record_policy(db: Database, policy: Policy) -> None:
    """Note the policy file in force (its name and hash) when it changed since last noted. ``gwanje serve
    --workers`` notes it before it starts the processes, so that they find nothing left to note."""
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
