"""One settings class; every field is a ``GWANJE_*`` environment variable.

Unknown ``GWANJE_*`` variables are refused so that a typo never silently falls back
to a default (conventions, habit 9).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
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
    credentials_key: str = Field(
        default="",
        title="Camera credentials key",
        description=(
            "Encrypts camera stream credentials at rest (AES-256-GCM), at least 32 characters; keep it out of "
            "the database and its backups. Empty: derived from the secret key (changing that key then makes "
            "the stored credentials unreadable: enter them again)."
        ),
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
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        title="Web processes",
        description="Processes `gwanje serve` runs (one per CPU core is a good start). More than one needs "
        "PostgreSQL and GWANJE_BUS_URL, so that every process sees the same live feed.",
    )
    access_log: bool = Field(
        default=False,
        title="HTTP access log",
        description="One log line per HTTP request (uvicorn's access log). Off by default: it cost about a "
        "tenth of the API's throughput (docs/benchmarks.md), every act that matters is on the audit chain, "
        "and a reverse proxy in front usually keeps its own log.",
    )
    bus_url: str = Field(default="", title="Event bus", description="nats://… to share live feeds between instances.")
    mqtt_url: str = Field(default="", title="MQTT broker", description="mqtt://host:port for device events.")
    demo_cameras: int = Field(
        default=6,
        ge=0,
        le=32,
        title="Demo cameras with video",
        description="`gwanje demo` only: how many registry cameras (the first of each site, in registry order) "
        "play the packaged sample clips as live streams and are recorded; 0 turns demo video off.",
    )
    escalation_seconds: int = Field(
        default=10,
        ge=0,
        title="Escalation interval",
        description="How often unacknowledged incidents are escalated; 0 turns the background pass off.",
    )

    audit_key: str = Field(
        default="",
        title="Audit chain key",
        description="HMAC key of the audit chain (32+ characters), kept out of the database. Empty: derived from "
        "the secret key (GWANJE_SECRET_KEY or var/secret_key); keep it, or rows written before a change no "
        "longer verify.",
    )
    audit_checkpoint_seconds: int = Field(
        default=300,
        ge=0,
        title="Audit checkpoint interval",
        description="How often the web app signs a checkpoint of the audit chain (when it grew); 0 turns it off.",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        title="Audit checkpoint file",
        description="Append-only file of signed checkpoints. Empty: var/audit-checkpoints.jsonl; its signing "
        "key is var/audit-signing-key.pem.",
    )

    map_tile_url: str = Field(
        default="",
        title="Map tile server",
        description="An internal tile server for the console map, e.g. https://tiles.center.local/{z}/{x}/{y}.png "
        "(http or https, with {z}, {x} and {y}). Empty: the map draws only the district's shipped outlines "
        "(boundary, neighbourhoods and their names), which needs no network.",
    )
    map_tile_attribution: str = Field(
        default="",
        max_length=200,
        title="Map tile attribution",
        description="The credit line the tiles' licence asks for, shown in the map's corner.",
    )
    map_tile_max_zoom: int = Field(
        default=19, ge=1, le=22, title="Map tile maximum zoom", description="The deepest zoom the tile server has."
    )

    @field_validator("map_tile_url")
    @classmethod
    def _tile_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(key not in value for key in ("{z}", "{x}", "{y}"))
        ):
            raise ValueError(
                "지도 타일 주소는 {z}, {x}, {y}가 들어간 http(s) 주소여야 합니다 / "
                "the map tile URL must be an http(s) URL with {z}, {x} and {y}"
            )
        return value

    def map_tile_origin(self) -> str | None:
        """The tile server's origin, for the map page's content security policy."""
        if not self.map_tile_url:
            return None
        parts = urlsplit(self.map_tile_url)
        return f"{parts.scheme}://{parts.netloc}"

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
            # Written whole under a temporary name, then linked into place: of several processes starting at
            # once on a fresh state folder (app workers, test workers) one key wins and every one reads it,
            # never an empty or half-written file.
            tmp = self.var_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        return path.read_text().strip()

    def resolved_audit_key(self) -> bytes:
        """The audit chain's HMAC key: ``GWANJE_AUDIT_KEY``, else derived from the secret key."""
        if self.audit_key:
            if len(self.audit_key) < 32:
                raise ValueError("GWANJE_AUDIT_KEY must be at least 32 characters / 32자 이상이어야 합니다")
            return self.audit_key.encode("utf-8")
        secret = self.resolved_secret_key().encode("utf-8")
        return hmac.new(secret, b"gwanje audit chain key v1", hashlib.sha256).digest()

    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.var_dir / "audit-checkpoints.jsonl"

    def audit_signing_key_file(self) -> Path:
        return self.var_dir / "audit-signing-key.pem"

    def resolved_credentials_key(self) -> bytes:
        """The 32-byte AES key for camera credentials (``core.crypto.SecretBox``)."""
        from gwanje.core.crypto import derive_key

        if self.credentials_key:
            if len(self.credentials_key) < 32:
                raise ValueError("GWANJE_CREDENTIALS_KEY must be at least 32 characters / 32자 이상이어야 합니다")
            return derive_key(self.credentials_key, "camera credentials")
        return derive_key(self.resolved_secret_key(), "camera credentials")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
