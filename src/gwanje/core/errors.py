"""Domain errors, in one place, with Korean and English messages.

Each error maps to one HTTP status (see ``gwanje.web.app``) and one CLI exit code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gwanje.korean import with_particle


@dataclass
class DomainError(Exception):
    message_ko: str
    message_en: str
    field: str | None = None
    clause: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    status = 400
    code = "invalid"
    exit_code = 2

    def __post_init__(self) -> None:
        super().__init__(self.message_en)

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.message_ko} / {self.message_en}{where}"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "error": self.code,
            "message": {"ko": self.message_ko, "en": self.message_en},
        }
        if self.field:
            body["field"] = self.field
        if self.clause:
            body["clause"] = self.clause
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    exit_code = 3


class Conflict(DomainError):
    status = 409
    code = "conflict"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    exit_code = 4


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    exit_code = 4


class AccountLocked(DomainError):
    status = 423
    code = "account_locked"
    exit_code = 4


class TooManyAttempts(DomainError):
    """Too many failed attempts: wait ``details["retry_after_seconds"]`` (sent as ``Retry-After``)."""

    status = 429
    code = "too_many_attempts"
    exit_code = 4

    @property
    def retry_after(self) -> int:
        return int(self.details.get("retry_after_seconds", 1))


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class BodyTimeout(DomainError):
    """A request body stopped arriving (``GWANJE_BODY_TIMEOUT_SECONDS``)."""

    status = 408
    code = "body_timeout"


class Unavailable(DomainError):
    """A service gwanje depends on (the database, the broker, the bus) cannot be reached now: try again."""

    status = 503
    code = "unavailable"
    exit_code = 5
    retry_after_s = 5


class AuditChainBroken(DomainError):
    status = 409
    code = "audit_chain_broken"
    exit_code = 1


def not_found(kind_ko: str, kind_en: str, key: object, field: str | None = None) -> NotFound:
    return NotFound(
        f"{with_particle(kind_ko, '을/를')} 찾을 수 없습니다: {key}", f"{kind_en} not found: {key}", field=field
    )
