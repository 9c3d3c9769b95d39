"""Request dependencies shared by every capability: the wiring root's objects, who is asking, and
what the policy lets them do.

Every route declares its permission with :func:`requires` (or :data:`PUBLIC`); the app factory
refuses to start an app with an unguarded route. Who a session or token belongs to is answered by
the :class:`Identity` the app factory installs (the accounts capability): this layer sits below
every capability and imports none of them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from gwanje.core.audit import Actor
from gwanje.core.clock import utcnow
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.revisions import ACCOUNTS, RevisionCache, RevisionReader
from gwanje.core.errors import Forbidden, NotAuthenticated, ValidationFailed
from gwanje.core.schemas import has_control_chars
from gwanje.policy import decisions
from gwanje.policy.model import Policy

SESSION_COOKIE = "gwanje_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


# Dependencies that only look something up are coroutines: FastAPI runs a plain function in a worker
# thread, and a hop to a thread costs more than the lookup.
async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_policy(request: Request) -> Policy:
    return request.app.state.policy


DB = Annotated[Database, Depends(get_db)]
PolicyDep = Annotated[Policy, Depends(get_policy)]


class Identity(Protocol):
    """Resolves credentials to accounts; implemented by the accounts capability."""

    def resolve_token(self, session: Session, token: str) -> Any: ...

    def resolve_token_grant(self, session: Session, token: str) -> tuple[Any, datetime | None] | None: ...

    def resolve_session(self, uow: UnitOfWork, policy: Policy, cookie: str) -> tuple[Any, Any] | None: ...

    def actor_of(self, user: Any, request_id: str | None) -> Actor: ...


def get_identity(request: Request) -> Identity:
    return request.app.state.identity


@dataclass
class Principal:
    """The authenticated caller and how they authenticated."""

    user: Any  # gwanje.accounts.models.User
    via: str  # "session" or "token"
    web_session: Any = None  # gwanje.accounts.models.WebSession
    identity: Identity | None = None

    def actor(self, request: Request) -> Actor:
        identity = self.identity or get_identity(request)
        return identity.actor_of(self.user, request.state.request_id)

    @property
    def csrf_token(self) -> str | None:
        return self.web_session.csrf_token if self.web_session else None


def _authenticate(request: Request) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    db: Database = request.app.state.db
    policy: Policy = request.app.state.policy
    accounts = get_identity(request)
    header = request.headers.get("authorization", "")
    principal = None
    if header.lower().startswith("bearer "):
        user = _token_user(request, db, accounts, header[7:].strip())
        if user is None:
            raise NotAuthenticated("토큰이 올바르지 않거나 만료되었습니다", "invalid or expired token")
        principal = Principal(user, "token", identity=accounts)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            with db.uow() as uow:
                found = accounts.resolve_session(uow, policy, cookie)
            if found is not None:
                principal = Principal(found[0], "session", found[1], identity=accounts)
    request.state.principal = principal
    return principal


_UNREAD = object()


async def kept_token_principal(request: Request) -> Principal | None:
    """A bearer token's principal from the grants this process keeps, asking the database only for the
    revision counters (on the event loop); None sends the caller to :func:`_authenticate`."""
    header = request.headers.get("authorization", "")
    cache: RevisionCache | None = getattr(request.app.state, "token_cache", None)
    if cache is None or not header.lower().startswith("bearer "):
        return None
    known = await _revisions(request)
    if known is None:
        return None
    grant = cache.peek(_token_key(header[7:].strip()), known[ACCOUNTS])
    if grant is None or (grant[1] is not None and grant[1] < utcnow()):
        return None
    principal = Principal(grant[0], "token", identity=get_identity(request))
    request.state.principal = principal
    return principal


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def current_revisions(request: Request) -> dict[str, int] | None:
    """The revision counters as this process knows them (``gwanje.core.revisions``), read once per request;
    None when they cannot be known now, and caches must not be trusted."""
    known = getattr(request.state, "revisions", _UNREAD)
    if known is _UNREAD:
        reader: RevisionReader | None = getattr(request.app.state, "revisions", None)
        known = reader.current() if reader is not None else None
        request.state.revisions = known
    return known


async def _revisions(request: Request) -> dict[str, int] | None:
    known = getattr(request.state, "revisions", _UNREAD)
    if known is _UNREAD:
        reader: RevisionReader | None = getattr(request.app.state, "revisions", None)
        known = await reader.read() if reader is not None else None
        request.state.revisions = known
    return known


Revisions = Annotated[dict[str, int] | None, Depends(_revisions)]


def _token_user(request: Request, db: Database, accounts: Identity, token: str) -> Any:
    """A bearer token's account. Grants are kept per process while the accounts' revision counter stands
    still: a token revoked, an account locked or its role changed — by anyone, in any process — moves the
    counter, and the next request asks the database again. The expiry is checked on every request."""

    def build() -> tuple[Any, datetime | None] | None:
        with db.reading() as session:
            return accounts.resolve_token_grant(session, token)

    cache: RevisionCache | None = getattr(request.app.state, "token_cache", None)
    if cache is None:
        grant = build()
    else:
        known = current_revisions(request)
        grant = cache.get(_token_key(token), known[ACCOUNTS] if known else None, build)
    if grant is None or (grant[1] is not None and grant[1] < utcnow()):
        return None
    return grant[0]


async def resolve_principal(request: Request) -> Principal | None:
    """Who is asking (None: nobody signed in), once per request: a bearer token this process keeps a grant
    for costs one read of the revision counters on the event loop; anything else asks the database in a
    worker thread, so that one slow answer does not hold every request."""
    return (
        getattr(request.state, "principal", None)
        or await kept_token_principal(request)
        or await run_in_threadpool(_authenticate, request)
    )


def optional_principal(request: Request) -> Principal | None:
    return _authenticate(request)


async def _csrf_ok(request: Request, principal: Principal) -> bool:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return True
    expected = principal.csrf_token or ""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    return bool(sent) and hmac.compare_digest(str(sent), expected)


def refuse_control_characters(request: Request) -> None:
    """NUL and other control characters in the path or the query string are refused (422) before any
    route reads them: PostgreSQL cannot take NUL in text and SQLite cuts a pattern short at it.

    Called by :class:`requires` and :class:`public`, which every route declares."""
    where = None
    if has_control_chars(request.scope.get("path", "")):
        where = "path"
    else:
        for key, value in request.query_params.multi_items():
            if has_control_chars(key) or has_control_chars(value):
                where = key if not has_control_chars(key) else "query"
                break
    if where is not None:
        raise ValidationFailed(
            f"주소에 제어 문자를 쓸 수 없습니다: {where}",
            f"control characters are not allowed in the address: {where}",
            field=where,
        )


class requires:  # noqa: N801 - used like a function in route signatures
    """Dependency: the caller is authenticated and the policy grants ``permission`` to their role."""

    def __init__(self, *permissions: str):
        self.permissions = permissions

    async def __call__(self, request: Request) -> Principal:
        # The database is asked off the event loop, so that one slow answer does not hold every request.
        principal = await resolve_principal(request)
        if principal is None:
            raise NotAuthenticated("로그인이 필요합니다", "authentication required")
        refuse_control_characters(request)
        if not await _csrf_ok(request, principal):
            raise Forbidden("CSRF 토큰이 없거나 올바르지 않습니다", "missing or invalid CSRF token", field=CSRF_FIELD)
        if not self.permissions:  # any signed-in person
            return principal
        policy: Policy = request.app.state.policy
        denials = []
        for permission in self.permissions:
            decision = decisions.role_has_permission(policy, principal.user.role, permission)
            if decision.allowed:
                return principal
            denials.append(decision)
        first = denials[0]
        raise Forbidden(first.reason_ko, first.reason_en, clause=first.clause)


class public:  # noqa: N801
    """Marks a route as deliberately open to anyone (login page, health check, static assets)."""

    async def __call__(self, request: Request) -> None:
        refuse_control_characters(request)


PUBLIC = Depends(public())
