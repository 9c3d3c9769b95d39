"""Rooms: authorisations to enter (with expiry), visitors, and the append-only access log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class RoomAuthorisation(Base):
    """A person may enter ``room`` from ``valid_from`` until ``valid_until`` (granted by a role holding
    ``rooms.authorise``). A person is an account or, for a contractor without one, a name; ``badge`` is the
    card a door reader reads. Revoking ends it early; nothing else about it changes."""

    __tablename__ = "center_room_authorisations"
    __table_args__ = (Index("ix_center_room_authorisations_room_badge", "room", "badge"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(40), nullable=False)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    person_name: Mapped[str] = mapped_column(String(120), nullable=False)
    organisation: Mapped[str] = mapped_column(String(120), nullable=False)
    badge: Mapped[str | None] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(500), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    granted_by: Mapped[str] = mapped_column(String(64), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))


class RoomVisitor(Base):
    """A visitor registered for a room: who, for what, escorted by whom, expected when. Their entries and
    exits are rows of the access log naming ``id``; ``badge`` is a temporary card, if one was issued."""

    __tablename__ = "center_room_visitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    organisation: Mapped[str] = mapped_column(String(120), nullable=False)
    purpose: Mapped[str] = mapped_column(String(500), nullable=False)
    escort_authorisation_id: Mapped[int | None] = mapped_column(Integer)
    escort_name: Mapped[str | None] = mapped_column(String(120))
    badge: Mapped[str | None] = mapped_column(String(120))
    expected_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expected_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    registered_by: Mapped[str] = mapped_column(String(64), nullable=False)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class RoomAccessEntry(Base):
    """One line of the 출입관리대장: an entry, an exit, a refused badge or a door held or forced open, as
    recorded on the console or reported by a door (``inbox_id``: the device message, once). Append-only:
    triggers refuse UPDATE and DELETE on both engines."""

    __tablename__ = "center_room_access_log"
    __table_args__ = (
        Index("ix_center_room_access_log_room_at", "room", "at"),
        Index("uq_center_room_access_log_inbox", "inbox_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(40), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    event: Mapped[str] = mapped_column(String(20), nullable=False)  # entry | exit | refused | held_open | forced
    person_name: Mapped[str | None] = mapped_column(String(120))
    organisation: Mapped[str | None] = mapped_column(String(120))
    account_id: Mapped[int | None] = mapped_column(Integer)
    badge: Mapped[str | None] = mapped_column(String(120))
    authorisation_id: Mapped[int | None] = mapped_column(Integer)
    visitor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    escort_name: Mapped[str | None] = mapped_column(String(120))
    authorised: Mapped[bool] = mapped_column(Boolean, nullable=False)
    door: Mapped[str | None] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(80), nullable=False)  # console | device:<source>
    inbox_id: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
