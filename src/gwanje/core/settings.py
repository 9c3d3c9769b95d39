"""One settings class; every field is a ``GWANJE_*`` environment variable.

Unknown ``GWANJE_*`` variables are refused so that a typo never silently falls back
to a default (conventions, habit 9).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "GWANJE_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid")

    database_url: str = Field(
        default="",
        title="Database URL",
        description="SQLAlchemy URL. Empty: SQLite file var/gwanje.db under the working directory.",
    )
    var_dir: Path = Field(
        default=Path("var"), title="State folder", description="Where SQLite, secrets and uploads live."
    )
    policy_file: Path | None = Field(
        default=None,
        title="Policy file",
        description="Agreement policy (YAML). Empty: the packaged policies/seongdong.yaml.",
    )
    secret_key: str = Field(
        default="",
        title="Secret key",
        description="Signs sessions and CSRF tokens. Empty: generated once and kept in var/secret_key.",
    )
    cookie_secure: bool = Field(
        default=False, title="Secure cookies", description="Set the Secure flag (behind HTTPS)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, title="Request body limit", description="Larger JSON/form bodies are refused with 413."
    )
    max_upload_bytes: int = Field(
        default=200 * 1_048_576, title="Upload limit", description="Largest standard-data file accepted over HTTP."
    )
    max_document_bytes: int = Field(
        default=10 * 1_048_576,
        gt=0,
        title="Document scan limit",
        description="Largest official-document scan (PDF, JPEG, PNG) accepted with a footage request.",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        title="Body read timeout",
        description="A request whose body stops arriving for this long is refused with 408.",
    )
    host: str = Field(default="127.0.0.1", title="Bind address", description="Address `gwanje serve` listens on.")
    port: int = Field(default=8000, title="Port", description="Port `gwanje serve` listens on.")
    bus_url: str = Field(default="", title="Event bus", description="nats://… to share live feeds between instances.")
    mqtt_url: str = Field(default="", title="MQTT broker", description="mqtt://host:port for device events.")
    escalation_seconds: int = Field(
        default=10,
        ge=0,
        title="Escalation interval",
        description="How often unacknowledged incidents are escalated; 0 turns the background pass off.",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_environment(cls, data):
        known = {PREFIX + name.upper() for name in cls.model_fields}
        unknown = sorted(k for k in os.environ if k.startswith(PREFIX) and k not in known)
        if unknown:
            raise ValueError("알 수 없는 환경변수 / unknown environment variables: " + ", ".join(unknown))
        return data

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'gwanje.db').resolve()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            if len(self.secret_key) < 32:
                raise ValueError("GWANJE_SECRET_KEY must be at least 32 characters / 32자 이상이어야 합니다")
            return self.secret_key
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
