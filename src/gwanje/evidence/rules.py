"""Evidence rules without I/O: the hash chain of custody, download tokens, and when a download is refused."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gwanje.core.clock import as_utc
from gwanje.core.errors import DomainError, Forbidden, ValidationFailed
from gwanje.evidence.choices import DownloadRefusal

GENESIS = "0" * 64
MAX_LINK_TTL = timedelta(days=14)
TOKEN_PREFIX = "gwe_"

CUSTODY_FIELDS = (
    "package_id",
    "seq",
    "at",
    "action",
    "actor_id",
    "actor_name",
    "organisation",
    "request_id",
    "details",
)


class LinkExpired(DomainError):
    """A download link that was valid once: expired, used up or revoked (HTTP 410)."""

    status = 410
    code = "link_expired"
    exit_code = 4


# --- chain of custody ----------------------------------------------------------------------------


def custody_digest(fields: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 of one custody entry's fields (``CUSTODY_FIELDS``) linked to the entry before it."""
    payload = dict(fields)
    payload["at"] = as_utc(payload["at"]).isoformat(timespec="microseconds")
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- links ---------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """What is stored of a download token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh download token and its stored hash."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def check_link_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0) or ttl > MAX_LINK_TTL:
        raise ValidationFailed(
            "다운로드 링크 유효기간은 14일 이내여야 합니다",
            "a download link must expire within 14 days",
            field="link_hours",
        )


@dataclass(frozen=True)
class LinkState:
    """What a download attempt is checked against (the package, the link that was presented, the file)."""

    user_id: int
    recipient_user_id: int
    link_found: bool
    link_recipient_user_id: int | None
    package_revoked: bool
    link_revoked: bool
    link_expires_at: datetime | None
    package_expires_at: datetime
    max_uses: int | None
    used_count: int
    file_present: bool


@dataclass(frozen=True)
class Refusal:
    reason: str  # a DownloadRefusal code
    error: DomainError


def download_refusal(state: LinkState, now: datetime) -> Refusal | None:
    """Why this download is refused, in order of precedence; ``None`` when the file may be handed out."""
    if state.user_id != state.recipient_user_id or (state.link_found and state.user_id != state.link_recipient_user_id):
        return Refusal(
            DownloadRefusal.not_recipient.code,
            Forbidden(
                "이 패키지의 수령인만 내려받을 수 있습니다",
                "only the package's recipient may download it",
                field="token",
            ),
        )
    if not state.link_found:
        return Refusal(
            DownloadRefusal.invalid_token.code,
            Forbidden("다운로드 링크가 올바르지 않습니다", "invalid download link", field="token"),
        )
    if state.package_revoked or state.link_revoked:
        return Refusal(
            DownloadRefusal.revoked.code,
            LinkExpired("회수된 다운로드 링크입니다", "the download link was revoked", field="token"),
        )
    assert state.link_expires_at is not None
    if as_utc(state.link_expires_at) <= now or as_utc(state.package_expires_at) <= now:
        return Refusal(
            DownloadRefusal.expired.code,
            LinkExpired("다운로드 링크가 만료되었습니다", "the download link has expired", field="token"),
        )
    if state.max_uses is not None and state.used_count >= state.max_uses:
        return Refusal(
            DownloadRefusal.used_up.code,
            LinkExpired("다운로드 횟수를 모두 사용했습니다", "the download link has been used up", field="token"),
        )
    if not state.file_present:
        return Refusal(
            DownloadRefusal.file_missing.code,
            LinkExpired("패키지 파일이 파기되었습니다", "the package file was destroyed", field="package_id"),
        )
    return None
