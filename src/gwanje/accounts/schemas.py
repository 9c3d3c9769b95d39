"""Request and response models of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from gwanje.core.schemas import StrictModel

if TYPE_CHECKING:
    from gwanje.accounts.models import User


class TokenCreate(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp: Annotated[str, StringConstraints(max_length=12)] | None = None
    name: Annotated[str, StringConstraints(max_length=120)] = "api"
    hours: int | None = Field(default=None, ge=1, le=8784, description="lifetime; the policy's default when absent")
    days: int | None = Field(default=None, ge=1, le=366, description="lifetime in days, if hours is absent")


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    username: str
    role: str
    expires_at: datetime | None = None


class TokenInfoRead(BaseModel):
    """A bearer token as its owner (or an administrator) sees it: never the token itself."""

    id: int
    name: str
    username: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool

    @classmethod
    def from_info(cls, info: Any, now: datetime) -> "TokenInfoRead":
        return cls(
            id=info.id,
            name=info.name,
            username=info.username,
            created_at=info.created_at,
            expires_at=info.expires_at,
            revoked_at=info.revoked_at,
            active=info.active(now),
        )


class UserCreate(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    role: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    department: Annotated[str, StringConstraints(max_length=40)] | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserRoleUpdate(StrictModel):
    role: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    department: Annotated[str, StringConstraints(max_length=40)] | None = None


class UserRead(BaseModel):
    """An account as administrators see it (the same fields its audit entries record)."""

    id: int
    username: str
    display_name: str
    organisation: str
    role: str
    department: str | None
    locked: bool
    totp_enrolled: bool

    @classmethod
    def from_user(cls, user: "User") -> "UserRead":
        return cls(**user.summary())


class UserCreated(UserRead):
    totp_uri: str | None = Field(
        default=None, description="otpauth:// URI to enrol the second factor; only for roles that need one"
    )


class MeRead(UserRead):
    """The caller: their account, their role's names and every permission the policy grants it."""

    role_ko: str
    role_en: str
    permissions: list[str]
