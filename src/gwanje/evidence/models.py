"""Evidence packages, their download links and their chain of custody.

Neither the package password nor a download token is ever stored: the password leaves the
system once, to be sent to the recipient by another channel, and a token is kept as its
SHA-256. Custody entries are append-only (database triggers, migration 0003_evidence) and
hash-linked per package, so an entry edited behind the triggers' back is still detected.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime
from gwanje.evidence.schemas import EvidencePackageRead


class EvidencePackage(Base):
    __tablename__ = "evidence_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_uid: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    request_ref: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(60), nullable=False)
    recipient_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    recipient_name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    file_name: Mapped[str] = mapped_column(String(200), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    manifest_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    clip_count: Mapped[int] = mapped_column(Integer, nullable=False)
    camera_ids: Mapped[str] = mapped_column(String(500), nullable=False)  # comma-separated, for search
    masked: Mapped[bool] = mapped_column(Boolean, nullable=False)
    watermarked: Mapped[bool] = mapped_column(Boolean, nullable=False)
    detector: Mapped[str | None] = mapped_column(String(200))
    # Where to tell the recipient the password went (e.g. "전화"/"SMS"), never the password.
    password_channel: Mapped[str | None] = mapped_column(String(60))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def summary(self) -> dict:
        """The package as :class:`gwanje.evidence.schemas.EvidencePackageRead` fields (for pages)."""
        return EvidencePackageRead.of(self).model_dump()


class DownloadLink(Base):
    """A download token for one recipient; only its SHA-256 is kept."""

    __tablename__ = "evidence_download_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("evidence_packages.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    used_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustodyEntry(Base):
    """One step in a package's chain of custody. The database refuses UPDATE and DELETE."""

    __tablename__ = "evidence_custody"
    __table_args__ = (UniqueConstraint("package_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("evidence_packages.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2, … within the package
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    organisation: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
