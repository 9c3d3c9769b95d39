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


class EvidencePackage(Base):
    __tablename__ = "evidence_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_uid: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    request_ref: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(60), nullable=False)
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False,
                                                   index=True)
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
        return {
            "id": self.id,
            "package_uid": self.package_uid,
            "request_ref": self.request_ref,
            "purpose": self.purpose,
            "recipient_user_id": self.recipient_user_id,
            "recipient_name": self.recipient_name,
            "created_by": self.created_by_name,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "file_name": self.file_name,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "manifest_sha256": self.manifest_sha256,
            "clip_count": self.clip_count,
            "camera_ids": [c for c in self.camera_ids.split(",") if c],
            "masked": self.masked,
            "watermarked": self.watermarked,
            "detector": self.detector,
            "password_channel": self.password_channel,
            "revoked_at": self.revoked_at,
        }


class DownloadLink(Base):
    """A download token for one recipient; only its SHA-256 is kept."""

    __tablename__ = "evidence_download_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("evidence_packages.id", ondelete="RESTRICT"), nullable=False,
                                            index=True)
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
    package_id: Mapped[int] = mapped_column(ForeignKey("evidence_packages.id", ondelete="RESTRICT"), nullable=False,
                                            index=True)
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

    def summary(self) -> dict:
        import json

        return {
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "organisation": self.organisation,
            "request_id": self.request_id,
            "details": json.loads(self.details) if self.details else None,
            "hash": self.hash,
        }
