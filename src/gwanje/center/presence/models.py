"""Presence is a fact: who was in the center's room from when to when; and what they had on file."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class Presence(Base):
    """One stay in the room: checked in at ``in_at``, out at ``out_at`` (None while in). At most one open
    presence per account (a partial unique index on both engines). Signing into the board is not presence."""

    __tablename__ = "center_presences"
    __table_args__ = (
        Index(
            "uq_center_presences_open",
            "account_id",
            unique=True,
            sqlite_where=text("out_at IS NULL"),
            postgresql_where=text("out_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    organisation: Mapped[str] = mapped_column(String(40), nullable=False)
    role: Mapped[str] = mapped_column(String(40), nullable=False)
    room: Mapped[str] = mapped_column(String(40), nullable=False)
    in_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    via: Mapped[str] = mapped_column(String(20), nullable=False)
    out_via: Mapped[str | None] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    out_recorded_by: Mapped[str | None] = mapped_column(String(64))


class Training(Base):
    """A course completed (Art. 9 ④); valid until ``valid_until`` (derived from the policy's validity)."""

    __tablename__ = "center_trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    course: Mapped[str] = mapped_column(String(40), nullable=False)
    completed_on: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)
    evidence: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Pledge(Base):
    """The security pledge (보안서약서) on file: signed on ``signed_on``, witnessed by ``witness``."""

    __tablename__ = "center_pledges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    signed_on: Mapped[date] = mapped_column(Date, nullable=False)
    witness: Mapped[str] = mapped_column(String(120), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
