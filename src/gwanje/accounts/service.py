"""Account use cases: people, passwords, second factor, sessions and API tokens.

Every change and every login (success or failure) is appended to the audit chain in the
same transaction. A use case that changes something commits its unit of work (a caller that commits
again commits nothing).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gwanje.accounts import rules
from gwanje.accounts.models import ApiToken, LoginThrottle, User, WebSession
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import as_utc, utcnow
from gwanje.core.db import UnitOfWork
from gwanje.core.schemas import has_control_chars
from gwanje.core.errors import Conflict, Forbidden, NotAuthenticated, TooManyAttempts, ValidationFailed, not_found
from gwanje.policy.decisions import role_has_permission
from gwanje.policy.model import Policy, UnknownCode

# argon2-cffi's PasswordHasher uses Argon2id with RFC 9106 low-memory parameters.
_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("gwanje-timing-equaliser")
TOTP_ISSUER = "gwanje"
SESSION_TOUCH_SECONDS = 60


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def actor_of(user: User, request_id: str | None = None) -> Actor:
    return Actor(id=user.id, name=user.username, organisation=user.organisation, role=user.role, request_id=request_id)


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    role: str
    password: str
    department: str | None = None


def add_user(uow: UnitOfWork, actor: Actor, policy: Policy, cmd: NewUser) -> tuple[User, str | None]:
    """Create an account; returns it and, for roles that need one, the TOTP secret to enrol."""
    session = uow.session
    username = cmd.username.strip()
    rules.check_username(username)
    try:
        role = policy.role(cmd.role)
    except UnknownCode:
        raise ValidationFailed(f"알 수 없는 역할: {cmd.role}", f"unknown role: {cmd.role}", field="role") from None
    if cmd.department is not None:
        try:
            dept = policy.department(cmd.department)
        except UnknownCode:
            raise ValidationFailed(
                f"알 수 없는 부서: {cmd.department}", f"unknown department: {cmd.department}", field="department"
            ) from None
        if dept.organisation != role.organisation:
            raise ValidationFailed(
                "부서와 역할의 기관이 다릅니다",
                "department and role belong to different organisations",
                field="department",
            )
    elif role.own_department:
        raise ValidationFailed(
            "부서 담당자는 부서를 지정해야 합니다", "a department officer needs a department", field="department"
        )
    rules.check_password(cmd.password)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"이미 있는 사용자명: {username}", f"username already exists: {username}", field="username")
    totp_secret = pyotp.random_base32() if role.totp_required else None
    user = User(
        username=username,
        display_name=cmd.display_name.strip()[:120] or username,
        organisation=role.organisation,
        role=role.code,
        department=cmd.department,
        password_hash=_hasher.hash(cmd.password),
        totp_secret=totp_secret,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    AuditLog(session).append(
        actor, Change("user.create", "user", user.username, None, user.summary(), clause="policy-rbac")
    )
    uow.commit()
    return user, totp_secret


def totp_uri(user: User) -> str | None:
    if not user.totp_secret:
        return None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def current_totp(user: User) -> str | None:
    return pyotp.TOTP(user.totp_secret).now() if user.totp_secret else None


def _get_user(session: Session, username: str) -> User:
    user = None
    if not has_control_chars(username) and len(username) <= 64:
        user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise not_found("사용자", "user", username, field="username")
    return user


def set_locked(uow: UnitOfWork, actor: Actor, username: str, locked: bool) -> User:
    user = _get_user(uow.session, username)
    before = user.summary()
    user.locked = locked
    if not locked:
        user.failed_logins = 0
    AuditLog(uow.session).append(
        actor,
        Change(
            "user.lock" if locked else "user.unlock", "user", username, before, user.summary(), clause="policy-rbac"
        ),
    )
    if locked:
        _end_sessions(uow.session, user.id)
    uow.commit()
    return user


def set_role(
    uow: UnitOfWork, actor: Actor, policy: Policy, username: str, role: str, department: str | None = None
) -> User:
    """Change what a person may do: a permission change, audited with before and after."""
    user = _get_user(uow.session, username)
    try:
        new_role = policy.role(role)
    except UnknownCode:
        raise ValidationFailed(f"알 수 없는 역할: {role}", f"unknown role: {role}", field="role") from None
    if department is not None:
        try:
            if policy.department(department).organisation != new_role.organisation:
                raise ValidationFailed(
                    "부서와 역할의 기관이 다릅니다",
                    "department and role belong to different organisations",
                    field="department",
                )
        except UnknownCode:
            raise ValidationFailed(
                f"알 수 없는 부서: {department}", f"unknown department: {department}", field="department"
            ) from None
    elif new_role.own_department:
        raise ValidationFailed(
            "부서 담당자는 부서를 지정해야 합니다", "a department officer needs a department", field="department"
        )
    before = user.summary()
    user.role, user.organisation, user.department = new_role.code, new_role.organisation, department
    if new_role.totp_required and not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    AuditLog(uow.session).append(
        actor, Change("user.role", "user", username, before, user.summary(), clause="policy-rbac")
    )
    # Sessions opened under the old role end: the next request must sign in under the new one.
    _end_sessions(uow.session, user.id)
    uow.commit()
    return user


def _end_sessions(session: Session, user_id: int) -> None:
    now = utcnow()
    for ws in session.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))):
        ws.ended_at = now


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.organisation, User.role, User.username)))


@dataclass(frozen=True)
class LoginResult:
    user: User
    session_token: str
    csrf_token: str


def _refuse(
    message_ko: str = "사용자명 또는 비밀번호가 올바르지 않습니다", message_en: str = "wrong username or password"
) -> NotAuthenticated:
    return NotAuthenticated(message_ko, message_en)


# ---- sign-in throttling (per account name and per source address; never a lock) -------------


def _throttle_rows(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], LoginThrottle]:
    rows: dict[tuple[str, str], LoginThrottle] = {}
    for kind, key in keys:
        row = session.scalar(
            select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key).with_for_update()
        )
        if row is not None:
            rows[(kind, key)] = row
    return rows


def _forgotten(policy: Policy, row: LoginThrottle, now: datetime) -> bool:
    memory = timedelta(minutes=policy.security.failure_memory_minutes)
    blocked = as_utc(row.blocked_until) if row.blocked_until else None
    return now - as_utc(row.last_failure_at) > memory and (blocked is None or blocked <= now)


def _throttle_keys(username: str, source: str | None) -> list[tuple[str, str]]:
    keys = [("account", sha256_hex(username.lower()))]
    if source:
        keys.append(("source", sha256_hex(source[:200])))
    return keys


def _retry_after(policy: Policy, rows: dict[tuple[str, str], LoginThrottle], now: datetime) -> int:
    """Seconds until the account name and the source may try again (0: now)."""
    wait = 0.0
    for row in rows.values():
        if row.blocked_until is not None and not _forgotten(policy, row, now):
            wait = max(wait, (as_utc(row.blocked_until) - now).total_seconds())
    return math.ceil(wait)


def _count_failure(
    session: Session, policy: Policy, rows: dict[tuple[str, str], LoginThrottle], keys: list[tuple[str, str]]
) -> None:
    now = utcnow()
    sec = policy.security
    for kind, key in keys:
        row = rows.get((kind, key))
        if row is None:
            row = LoginThrottle(kind=kind, key=key, failures=0, last_failure_at=now)
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:  # another attempt counted the first failure at the same moment
                row = session.scalar(
                    select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key).with_for_update()
                )
                if row is None:  # pragma: no cover - the other attempt rolled back
                    continue
        elif _forgotten(policy, row, now):
            row.failures, row.blocked_until = 0, None
        row.failures += 1
        row.last_failure_at = now
        threshold = sec.throttle_after_failed_logins if kind == "account" else sec.throttle_source_after_failed_logins
        wait = sec.throttle_seconds(row.failures, threshold)
        row.blocked_until = now + timedelta(seconds=wait) if wait else None


def _too_many(seconds: int) -> TooManyAttempts:
    return TooManyAttempts(
        f"로그인 시도가 너무 많습니다. {seconds}초 후에 다시 시도하세요",
        f"too many sign-in attempts; try again in {seconds} s",
        details={"retry_after_seconds": seconds},
    )


def _totp_step(user: User, code: str, now: datetime) -> tuple[str | None, int | None]:
    """(None, step) for a fresh valid code; ("totp", None) for a wrong one; ("totp_reused", None)
    for a code of a time-step already used (each code works once, RFC 6238 § 5.2)."""
    if not user.totp_secret or not code:
        return "totp", None
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return "totp_reused", None
            return None, step
    return "totp", None


def verify_credentials(
    uow: UnitOfWork,
    policy: Policy,
    username: str,
    password: str,
    totp_code: str | None,
    request_id: str | None = None,
    source: str | None = None,
    *,
    console: bool = False,
) -> User:
    """Check password and (where the role needs it) a fresh TOTP code; count and audit failures.

    ``console``: the sign-in is for a console session. A role whose policy gives it no console
    (``home: none``: devices and other API-only accounts) is then refused with 403 and an audit row,
    after its credentials were checked (so the answer tells a stranger nothing about the account);
    its bearer tokens keep working.

    An unknown user, a wrong password and an account an administrator locked get the same answer
    (401, same body, an Argon2 verification each). Failures are counted per account name and per
    source address (``source``); past the policy's thresholds every attempt is refused with 429 and
    a wait that doubles with each failure, up to a cap, and is forgotten after a while: nobody can
    lock anyone out. The failure is committed even though the caller sees an error.
    """
    session = uow.session
    username = username.strip()[:64]
    now = utcnow()
    audit = AuditLog(session)
    shown = "".join(ch if ch.isprintable() else "?" for ch in username)
    keys = _throttle_keys(username, source)
    rows = _throttle_rows(session, keys)
    wait = _retry_after(policy, rows, now)
    if wait > 0:
        audit.append(
            Actor(None, shown, request_id=request_id),
            Change("auth.login_throttled", "user", shown, after={"retry_after_seconds": wait}),
        )
        uow.commit()
        raise _too_many(wait)
    user = None
    if not has_control_chars(username + password + (totp_code or "")):
        user = session.scalar(select(User).where(User.username == username))
    reason = None
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password + "x")
        reason = "unknown_user"
    else:
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            reason = "password"
        if reason is None and user.locked:
            reason = "locked"
    step = None
    if reason is None and policy.role(user.role).totp_required:
        reason, step = _totp_step(user, (totp_code or "").strip().replace(" ", ""), now)
    if reason is not None:
        _count_failure(session, policy, rows, keys)
        if user is None:
            audit.append(
                Actor(None, shown, request_id=request_id),
                Change("auth.login_failed", "user", shown, after={"reason": reason}),
            )
        else:
            user.failed_logins += 1
            audit.append(
                actor_of(user, request_id),
                Change(
                    "auth.login_failed",
                    "user",
                    user.username,
                    after={"reason": reason, "failed_logins": user.failed_logins},
                    clause=policy.security.clause,
                ),
            )
        uow.commit()
        if reason == "totp":
            raise _refuse(
                "2단계 인증(OTP) 코드가 필요하거나 올바르지 않습니다", "a valid one-time (TOTP) code is required"
            )
        if reason == "totp_reused":
            raise _refuse(
                "이미 사용한 2단계 인증(OTP) 코드입니다. 다음 코드를 입력하세요",
                "this one-time (TOTP) code was already used; enter the next one",
            )
        raise _refuse()
    if console and not policy.role(user.role).console:
        audit.append(
            actor_of(user, request_id),
            Change(
                "auth.login_refused",
                "user",
                user.username,
                after={"reason": "no_console", "role": user.role},
                clause=policy.security.clause,
            ),
        )
        uow.commit()
        raise Forbidden(
            "이 계정은 장치·API 전용 계정이라 관제 화면에 로그인할 수 없습니다 (API 토큰으로만 사용합니다)",
            "this is a device / API-only account: it cannot sign into the console (it uses API tokens only)",
            clause=policy.security.clause,
        )
    if step is not None:
        user.totp_last_step = step
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    for kind, key in keys:  # a success clears the account name's count; the source's decays
        row = rows.get((kind, key))
        if row is not None and kind == "account":
            session.delete(row)
    user.failed_logins = 0
    user.last_login_at = now
    return user


def login(
    uow: UnitOfWork,
    policy: Policy,
    username: str,
    password: str,
    totp_code: str | None,
    request_id: str | None = None,
    source: str | None = None,
) -> LoginResult:
    user = verify_credentials(uow, policy, username, password, totp_code, request_id, source, console=True)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    uow.session.add(
        WebSession(token_hash=sha256_hex(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now)
    )
    AuditLog(uow.session).append(actor_of(user, request_id), Change("auth.login", "user", user.username))
    uow.commit()
    return LoginResult(user, token, csrf)


def logout(uow: UnitOfWork, token: str, request_id: str | None = None) -> None:
    ws = uow.session.scalar(select(WebSession).where(WebSession.token_hash == sha256_hex(token)))
    if ws is None or ws.ended_at is not None:
        return
    ws.ended_at = utcnow()
    user = uow.session.get(User, ws.user_id)
    AuditLog(uow.session).append(actor_of(user, request_id), Change("auth.logout", "user", user.username))
    uow.commit()


def _expired(policy: Policy, ws: WebSession, now: datetime) -> bool:
    """Idle past the policy's timeout, or older than its absolute lifetime however active."""
    idle = timedelta(minutes=policy.security.session_idle_timeout_minutes)
    absolute = timedelta(hours=policy.security.session_absolute_hours)
    return now - as_utc(ws.last_seen_at) > idle or now - as_utc(ws.created_at) > absolute


def resolve_session(uow: UnitOfWork, policy: Policy, token: str) -> tuple[User, WebSession] | None:
    """The user behind a console cookie, or None when unknown, ended, idle too long, older than the
    policy's absolute lifetime, or locked."""
    ws = uow.session.scalar(select(WebSession).where(WebSession.token_hash == sha256_hex(token)))
    if ws is None or ws.ended_at is not None:
        return None
    now = utcnow()
    if _expired(policy, ws, now):
        ws.ended_at = now
        uow.commit()
        return None
    user = uow.session.get(User, ws.user_id)
    if user is None or user.locked:
        return None
    if (now - as_utc(ws.last_seen_at)).total_seconds() > SESSION_TOUCH_SECONDS:
        ws.last_seen_at = now
        uow.commit()
    return user, ws


def peek_session(session: Session, policy: Policy, token: str) -> User | None:
    """The user behind a console cookie, read only: an open live feed must not keep a session alive.

    None when the session is unknown, ended, idle past the policy's timeout, older than its absolute
    lifetime, or its user is locked.
    """
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == sha256_hex(token)))
    if ws is None or ws.ended_at is not None:
        return None
    if _expired(policy, ws, utcnow()):
        return None
    user = session.get(User, ws.user_id)
    return None if user is None or user.locked else user


def issue_token(
    uow: UnitOfWork, actor: Actor, user: User, name: str, days: int | None = 90, *, hours: int | None = None
) -> str:
    """A bearer token for ``user``, valid ``hours`` (else ``days``; neither: no expiry, for devices
    set up by an administrator); only its SHA-256 is kept."""
    token = "gwj_" + secrets.token_urlsafe(32)
    now = utcnow()
    expires: datetime | None = None
    if hours:
        expires = now + timedelta(hours=hours)
    elif days:
        expires = now + timedelta(days=days)
    uow.session.add(
        ApiToken(
            token_hash=sha256_hex(token), user_id=user.id, name=name[:120] or "api", created_at=now, expires_at=expires
        )
    )
    AuditLog(uow.session).append(
        actor, Change("token.issue", "user", user.username, after={"name": name, "expires_at": expires})
    )
    uow.commit()
    return token


def token_hours(policy: Policy, days: int | None = None, hours: int | None = None) -> int:
    """The lifetime of a token a client asks for: the policy's default when it names none; never more
    than the policy's maximum."""
    wanted = hours if hours else (days * 24 if days else policy.security.token_default_hours)
    limit = policy.security.token_max_days
    if wanted > limit * 24:
        raise ValidationFailed(
            f"토큰 유효기간은 {limit}일을 넘을 수 없습니다",
            f"a token may not be valid longer than {limit} days",
            field="hours" if hours else "days",
            clause=policy.security.clause,
        )
    return wanted


def issue_token_for_credentials(
    uow: UnitOfWork,
    policy: Policy,
    username: str,
    password: str,
    totp_code: str | None,
    name: str,
    days: int | None = None,
    request_id: str | None = None,
    source: str | None = None,
    hours: int | None = None,
) -> tuple[User, str, datetime | None]:
    """An API client signs in with its credentials and gets a bearer token (one transaction): the
    user, the token and when it expires."""
    lifetime = token_hours(policy, days, hours)
    user = verify_credentials(uow, policy, username, password, totp_code, request_id, source)
    token = issue_token(uow, actor_of(user, request_id), user, name, hours=lifetime)
    expires = uow.session.scalar(select(ApiToken.expires_at).where(ApiToken.token_hash == sha256_hex(token)))
    return user, token, expires


@dataclass(frozen=True)
class TokenInfo:
    """A bearer token as its owner and administrators see it: never the token itself."""

    id: int
    name: str
    username: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or as_utc(self.expires_at) > now)


TOKEN_ADMIN_PERMISSION = "users.manage"


def _may_manage_tokens(policy: Policy, role: str) -> bool:
    return role_has_permission(policy, role, TOKEN_ADMIN_PERMISSION).allowed


def _info(row: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(row.id, row.name, username, row.created_at, row.expires_at, row.revoked_at)


def list_tokens(session: Session, policy: Policy, user: User, limit: int = 500) -> list[TokenInfo]:
    """The caller's own tokens, newest first; every account's for those who manage users."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if not _may_manage_tokens(policy, user.role):
        query = query.where(ApiToken.user_id == user.id)
    rows = session.execute(query.order_by(ApiToken.id.desc()).limit(limit))
    return [_info(row, username) for row, username in rows]


def revoke_token(uow: UnitOfWork, policy: Policy, actor: Actor, user: User, token_id: int) -> TokenInfo:
    """Revoke one of the caller's tokens (any token, for those who manage users); audited. Another
    person's token is "not found" to everyone else, so that ids do not tell whose tokens exist."""
    row = uow.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None or (row.user_id != user.id and not _may_manage_tokens(policy, user.role)):
        raise not_found("토큰", "token", token_id, field="token_id")
    owner = uow.session.get(User, row.user_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        AuditLog(uow.session).append(
            actor,
            Change(
                "token.revoke",
                "user",
                owner.username,
                before={"token_id": row.id, "name": row.name},
                after={"token_id": row.id, "revoked_at": row.revoked_at},
                clause=policy.security.clause,
            ),
        )
        uow.commit()
    return _info(row, owner.username)


def permissions_of(policy: Policy, role: str) -> list[str]:
    """Every permission the policy grants ``role``, sorted."""
    return sorted(p.code for p in policy.permissions if role in p.roles)


def resolve_token(session: Session, token: str) -> User | None:
    grant = resolve_token_grant(session, token)
    if grant is None or (grant[1] is not None and grant[1] < utcnow()):
        return None
    return grant[0]


def resolve_token_grant(session: Session, token: str) -> tuple[User, datetime | None] | None:
    """The account a bearer token stands for and until when (None: no expiry), or None when the token
    is unknown, revoked, expired or its account locked. The caller checks the expiry again each time it
    uses a grant it kept."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256_hex(token)))
    if row is None or row.revoked_at is not None:
        return None
    expires_at = as_utc(row.expires_at) if row.expires_at is not None else None
    if expires_at is not None and expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or user.locked:
        return None
    return user, expires_at
