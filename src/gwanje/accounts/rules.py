"""Pure account rules: what a username and a password must be. No I/O."""

from __future__ import annotations

from gwanje.core.errors import ValidationFailed

MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_USERNAME = 64


def valid_username(username: str) -> bool:
    """1-64 letters, digits, ``.``, ``_`` or ``-`` (it appears in audit entries and URLs)."""
    return 0 < len(username) <= MAX_USERNAME and all(c.isalnum() or c in "._-" for c in username)


def check_username(username: str) -> None:
    if not valid_username(username):
        raise ValidationFailed(
            "사용자명은 1~64자의 영문, 숫자, '.', '_', '-'만 쓸 수 있습니다",
            "username must be 1-64 letters, digits, '.', '_' or '-'",
            field="username",
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"비밀번호는 {MIN_PASSWORD}자 이상이어야 합니다",
            f"password must be at least {MIN_PASSWORD} characters",
            field="password",
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed("비밀번호가 너무 깁니다", "password is too long", field="password")
