"""The live feed: ``WS /api/live`` streams incident changes to every console, filtered per user.

On connect the console gets a snapshot of the open incidents it may see, then every bus event it
may see (:func:`may_receive`), and a ping every :data:`HEARTBEAT_SECONDS`. A console that reconnects
simply gets a new snapshot, so nothing is replayed and a console that falls behind is dropped
(close code 1013) rather than slowing anyone else down.

Authentication is explicit here: ``assert_routes_guarded`` only sees HTTP routes. A connection is
accepted and then closed with an application close code, so that a browser can tell why:

- 4401: no valid session cookie, ``?token=`` or ``Authorization: Bearer`` (or it ended since);
- 4403: signed in, but the role may not read situations (``situations.read``), or a cookie-signed
  connection came from another origin (cross-site WebSocket hijacking: browsers send cookies with
  a WebSocket handshake from any page, so the Origin must be ours);
- 1013: the console did not keep up; reconnect for a fresh snapshot.

The session is checked again every :data:`REVALIDATE_SECONDS` without extending it: signing out,
being locked, or leaving the console idle past the policy's timeout ends the feed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from gwanje.accounts import service as accounts
from gwanje.accounts.models import User
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.events import DomainEvent
from gwanje.http.deps import SESSION_COOKIE
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.situations import events, rules, service
from gwanje.situations.schemas import incident_view

log = logging.getLogger(__name__)

PATH = "/api/live"
PERMISSION = "situations.read"
HEARTBEAT_SECONDS = 20.0
REVALIDATE_SECONDS = 60.0
SEND_TIMEOUT_SECONDS = 10.0
QUEUE_SIZE = 500
SNAPSHOT_LIMIT = 200

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW = 1013

router = APIRouter()


# ---- who may receive what (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The person (or token) behind one connection."""

    user_id: int
    username: str
    role: str
    department: str | None
    via: str  # "session" or "token"
    credential: str  # the cookie or token, to check it again later


def may_see_incident(policy: Policy, viewer: Viewer, incident: dict[str, Any]) -> bool:
    """``incident``: what the board shows of it (:func:`gwanje.situations.schemas.incident_view`)."""
    purposes = tuple((incident.get("details") or {}).get("camera_purposes") or ())
    return decisions.may_see_incident(
        policy,
        viewer.role,
        viewer.department,
        incident.get("responsible_org") or "",
        incident.get("responding_org") or "",
        purposes,
    )


def may_receive(policy: Policy, viewer: Viewer, event: DomainEvent) -> bool:
    """Whether one bus event goes to this viewer; kinds not named here go to nobody."""
    if isinstance(event, events.IncidentChange):
        return may_see_incident(policy, viewer, event.incident)
    if isinstance(event, events.MessageRejected):
        # Scoped like the shelf: like the incidents the message would raise (the operator's otherwise).
        return rules.may_see_rejected(policy, viewer.role, viewer.department, event.type, event.rule)
    if isinstance(event, (events.CameraFaulted, events.CameraRecovered)):
        return True  # a camera's state is on every map already (registry.read)
    # An alert (this capability's or another's) is addressed to roles, and goes to those only.
    to_roles = getattr(event, "to_roles", None)
    return isinstance(event, DomainEvent) and isinstance(to_roles, tuple) and viewer.role in to_roles


# ---- authentication ----------------------------------------------------------------------------


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: a browser always sends Origin with a WebSocket handshake
    return urlsplit(origin).netloc == ws.headers.get("host", "")


def _viewer(user: User, via: str, credential: str) -> Viewer:
    return Viewer(user.id, user.username, user.role, user.department, via, credential)


def authenticate(db: Database, policy: Policy, ws: WebSocket) -> Viewer | None:
    """Token (query or header) first, else the console cookie; None when neither is valid."""
    token = ws.query_params.get("token")
    header = ws.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if token:
        with db.reading() as session:
            user = accounts.resolve_token(session, token)
            return _viewer(user, "token", token) if user is not None else None
    cookie = ws.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with db.uow() as uow:
        found = accounts.resolve_session(uow, policy, cookie)
        return _viewer(found[0], "session", cookie) if found is not None else None


def still_valid(db: Database, policy: Policy, viewer: Viewer) -> bool:
    """Is the credential still good? Reads only: an open feed does not keep a session alive."""
    with db.reading() as session:
        if viewer.via == "token":
            user = accounts.resolve_token(session, viewer.credential)
            return user is not None and user.id == viewer.user_id
        user = accounts.peek_session(session, policy, viewer.credential)
        return user is not None and user.role == viewer.role


def snapshot(db: Database, policy: Policy, viewer: Viewer) -> dict[str, Any]:
    incidents = [incident_view(i) for i in service.open_incidents(db, limit=SNAPSHOT_LIMIT)]
    return {
        "kind": "snapshot",
        "at": utcnow().isoformat(),
        "user": {"role": viewer.role, "department": viewer.department},
        "heartbeat_s": HEARTBEAT_SECONDS,
        "incidents": [i for i in incidents if may_see_incident(policy, viewer, i)],
    }


# ---- the connection ----------------------------------------------------------------------------


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):  # the peer may already be gone
            await asyncio.wait_for(ws.close(code=code, reason=reason), SEND_TIMEOUT_SECONDS)


async def _send(ws: WebSocket, message: dict[str, Any]) -> None:
    text = json.dumps(message, ensure_ascii=False, default=str, separators=(",", ":"))
    await asyncio.wait_for(ws.send_text(text), SEND_TIMEOUT_SECONDS)


async def _drain_incoming(ws: WebSocket) -> None:
    """Consoles only listen; read (and ignore) whatever they send until they go away."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket(PATH)
async def live(websocket: WebSocket) -> None:
    app = websocket.app
    db: Database = app.state.db
    policy: Policy = app.state.policy
    await websocket.accept()
    try:
        viewer = await run_in_threadpool(authenticate, db, policy, websocket)
    except Exception:  # a database hiccup must not leave the socket half open
        log.exception("live feed: authentication failed")
        await _close(websocket, 1011, "server error")
        return
    if viewer is None:
        await _close(websocket, CLOSE_UNAUTHENTICATED, "authentication required")
        return
    if viewer.via == "session" and not _same_origin(websocket):
        await _close(websocket, CLOSE_FORBIDDEN, "cross-origin")
        return
    if not decisions.role_has_permission(policy, viewer.role, PERMISSION).allowed:
        await _close(websocket, CLOSE_FORBIDDEN, "forbidden")
        return

    bus = app.state.bus
    # Subscribe before reading the snapshot, so nothing that happens in between is missed.
    sub = bus.subscribe(maxsize=QUEUE_SIZE)
    reader = asyncio.create_task(_drain_incoming(websocket))
    try:
        await _send(websocket, await run_in_threadpool(snapshot, db, policy, viewer))
        writer = asyncio.create_task(_forward(websocket, db, policy, viewer, sub))
        done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        for task in (reader, writer):
            if task not in done:
                task.cancel()
        if writer in done and not writer.cancelled():
            if writer.exception() is not None:
                log.error("live feed for %s failed", viewer.username, exc_info=writer.exception())
                await _close(websocket, 1011, "server error")
            elif writer.result() is not None:
                await _close(websocket, *writer.result())
    except (WebSocketDisconnect, asyncio.TimeoutError, RuntimeError, OSError):
        pass  # the console went away or stopped reading; it reloads on reconnect
    finally:
        reader.cancel()
        sub.close()


async def _forward(ws: WebSocket, db: Database, policy: Policy, viewer: Viewer, sub) -> tuple[int, str] | None:  # noqa: ANN001
    """Send what the viewer may see until the connection ends; returns a close code and reason."""
    loop = asyncio.get_running_loop()
    next_check = loop.time() + REVALIDATE_SECONDS
    try:
        while True:
            try:
                event = await asyncio.wait_for(sub.get(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                event = None
            if sub.dropped:
                log.info("live feed: %s fell %d events behind; dropping", viewer.username, sub.dropped)
                return CLOSE_SLOW, "slow consumer: reconnect"
            if loop.time() >= next_check:
                next_check = loop.time() + REVALIDATE_SECONDS
                if not await run_in_threadpool(still_valid, db, policy, viewer):
                    return CLOSE_UNAUTHENTICATED, "session ended"
            if event is None:
                await _send(ws, {"kind": "ping", "at": utcnow().isoformat()})
            elif may_receive(policy, viewer, event):
                await _send(ws, events.to_browser(event))
    except asyncio.TimeoutError:
        log.info("live feed: %s stopped reading; dropping", viewer.username)
        return None
    except (WebSocketDisconnect, RuntimeError, OSError):
        return None
