"""Request and response models of the accounts API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, StringConstraints

from gwanje.core.schemas import StrictModel

if TYPE_CHECKING:
    from gwanje.accounts.models import User


class TokenCreate(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp: Annotated[str, StringConstraints(max_length=12)] | None = None
    name: Annotated[str, StringConstraints(max_length=120)] = "api"
    days: int = Field(default=90, ge=1, le=365)


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    username: str
    role: str


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
