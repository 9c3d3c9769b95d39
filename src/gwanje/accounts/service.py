"""Account use cases: people, passwords, second factor, sessions and API tokens.

Every change and every login (success or failure) is appended to the audit chain in the
same transaction. A use case that changes something commits its unit of work (a caller that commits
again commits nothing).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gwanje.accounts import rules
from gwanje.accounts.models import ApiToken, User, WebSession
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import as_utc, utcnow
from gwanje.core.db import UnitOfWork
from gwanje.core.schemas import has_control_chars
from gwanje.core.errors import AccountLocked, Conflict, NotAuthenticated, ValidationFailed, not_found
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


def verify_credentials(
    uow: UnitOfWork,
    policy: Policy,
    username: str,
    password: str,
    totp_code: str | None,
    request_id: str | None = None,
) -> User:
    """Check password and (where the role needs it) the TOTP code; count and audit failures.

    The failure is committed even though the caller sees an error: a lockout must stick.
    """
    session = uow.session
    username = username.strip()[:64]
    user = None
    if not has_control_chars(username + password + (totp_code or "")):
        user = session.scalar(select(User).where(User.username == username))
    audit = AuditLog(session)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password + "x")
        shown = "".join(ch if ch.isprintable() else "?" for ch in username)
        audit.append(
            Actor(None, shown, request_id=request_id),
            Change("auth.login_failed", "user", shown, after={"reason": "unknown_user"}),
        )
        uow.commit()
        raise _refuse()
    actor = actor_of(user, request_id)
    if user.locked:
        audit.append(actor, Change("auth.login_refused_locked", "user", user.username))
        uow.commit()
        raise AccountLocked(
            "잠긴 계정입니다. 관리자에게 해제를 요청하세요",
            "account is locked; ask an administrator to unlock it",
            field="username",
        )
    reason = None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        reason = "password"
    if reason is None and policy.role(user.role).totp_required:
        code = (totp_code or "").strip().replace(" ", "")
        if not user.totp_secret or not code or not pyotp.TOTP(user.totp_secret).verify(code, valid_window=1):
            reason = "totp"
    if reason is not None:
        user.failed_logins += 1
        limit = policy.security.lockout_after_failed_logins
        audit.append(
            actor,
            Change(
                "auth.login_failed",
                "user",
                user.username,
                after={"reason": reason, "failed_logins": user.failed_logins},
            ),
        )
        if user.failed_logins >= limit:
            user.locked = True
            audit.append(
                actor,
                Change(
                    "user.lock",
                    "user",
                    user.username,
                    after={"reason": f"{limit} failed logins"},
                    clause=policy.security.clause,
                ),
            )
        uow.commit()
        if user.locked:
            raise AccountLocked(
                f"로그인 {limit}회 실패로 계정이 잠겼습니다",
                f"account locked after {limit} failed logins",
                field="username",
            )
        if reason == "totp":
            raise _refuse(
                "2단계 인증(OTP) 코드가 필요하거나 올바르지 않습니다", "a valid one-time (TOTP) code is required"
            )
        raise _refuse()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.last_login_at = utcnow()
    return user


def login(
    uow: UnitOfWork, policy: Policy, username: str, password: str, totp_code: str | None, request_id: str | None = None
) -> LoginResult:
    user = verify_credentials(uow, policy, username, password, totp_code, request_id)
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


def resolve_session(uow: UnitOfWork, policy: Policy, token: str) -> tuple[User, WebSession] | None:
    """The user behind a console cookie, or None when unknown, ended, idle too long or locked."""
    ws = uow.session.scalar(select(WebSession).where(WebSession.token_hash == sha256_hex(token)))
    if ws is None or ws.ended_at is not None:
        return None
    now = utcnow()
    idle = timedelta(minutes=policy.security.session_idle_timeout_minutes)
    if now - as_utc(ws.last_seen_at) > idle:
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

    None when the session is unknown, ended, idle past the policy's timeout, or its user is locked.
    """
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == sha256_hex(token)))
    if ws is None or ws.ended_at is not None:
        return None
    idle = timedelta(minutes=policy.security.session_idle_timeout_minutes)
    if utcnow() - as_utc(ws.last_seen_at) > idle:
        return None
    user = session.get(User, ws.user_id)
    return None if user is None or user.locked else user


def issue_token(uow: UnitOfWork, actor: Actor, user: User, name: str, days: int | None = 90) -> str:
    token = "gwj_" + secrets.token_urlsafe(32)
    now = utcnow()
    expires: datetime | None = now + timedelta(days=days) if days else None
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


def issue_token_for_credentials(
    uow: UnitOfWork,
    policy: Policy,
    username: str,
    password: str,
    totp_code: str | None,
    name: str,
    days: int | None = 90,
    request_id: str | None = None,
) -> tuple[User, str]:
    """An API client signs in with its credentials and gets a bearer token (one transaction)."""
    user = verify_credentials(uow, policy, username, password, totp_code, request_id)
    return user, issue_token(uow, actor_of(user, request_id), user, name, days)


def permissions_of(policy: Policy, role: str) -> list[str]:
    """Every permission the policy grants ``role``, sorted."""
    return sorted(p.code for p in policy.permissions if role in p.roles)


def resolve_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256_hex(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) < utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or user.locked:
        return None
    return user
