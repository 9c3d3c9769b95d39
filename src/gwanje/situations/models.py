"""Situation tables: the raw inbox, incidents, their timeline, dispatches and the hot list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class InboxMessage(Base):
    """Every device message exactly as it arrived, stored before it is acknowledged."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40), nullable=False)
    message_id: Mapped[str] = mapped_column(String(160), nullable=False)
    device_id: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # mqtt | http
    type: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # processed | rejected
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("source", "message_id", name="uq_inbox_source_message_id"),
        Index("ix_inbox_status_id", "status", "id"),
    )


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    source: Mapped[str] = mapped_column(String(40), nullable=False)
    device_id: Mapped[str | None] = mapped_column(String(120))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Routing by the duty table (Annex 2), frozen at creation with the clause it rests on.
    responsible_org: Mapped[str] = mapped_column(String(40), nullable=False)
    recognising_org: Mapped[str] = mapped_column(String(40), nullable=False)
    recognising_role: Mapped[str] = mapped_column(String(40), nullable=False)
    responding_org: Mapped[str] = mapped_column(String(40), nullable=False)
    responding_roles: Mapped[str] = mapped_column(String(200), nullable=False)
    period: Mapped[str] = mapped_column(String(10), nullable=False)
    clause: Mapped[str] = mapped_column(String(60), nullable=False)
    # Whose move it is now, and when escalation happens if nobody acknowledges.
    assigned_role: Mapped[str] = mapped_column(String(40), nullable=False)
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sop_done: Mapped[str] = mapped_column(String(1000), nullable=False, default=",")
    sop_skipped: Mapped[str] = mapped_column(String(1000), nullable=False, default=",")
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Art. 9 ⑤: who has taken the incident (the only incident-only user it grants a view to), and the
    # operator's review of a situation an incident-only organisation reported by hand.
    taken_by_id: Mapped[int | None] = mapped_column(Integer)
    taken_by_name: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    reviewed_by_name: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One incident per inbox message, enforced by the database: a replay cannot make a second.
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id", ondelete="RESTRICT"), unique=True)


class IncidentEvent(Base):
    """The timeline: every action on an incident, with its actor and time."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str | None] = mapped_column(Text)


class Dispatch(Base):
    """A 112 patrol sent to the scene."""

    __tablename__ = "dispatches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    unit: Mapped[str] = mapped_column(String(60), nullable=False)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    dispatched_by: Mapped[str] = mapped_column(String(200), nullable=False)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class HotListEntry(Base):
    """The police's wanted/stolen vehicle list; replaced as a whole on each upload."""

    __tablename__ = "hotlist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    case_ref: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class DeviceSequence(Base):
    """The last sequence number seen from each (source, device), and what the numbers say was lost.

    Kept by the ingest (``situations.sequence``): ``missing`` counts numbers skipped and never seen;
    a message arriving late fills one back in (``late``). See docs/events.md, "Sequence numbers".
    """

    __tablename__ = "device_sequences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40), nullable=False)
    device_id: Mapped[str] = mapped_column(String(120), nullable=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    received: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    missing: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    late: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    gaps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    restarts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_gap_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The open message-loss incident new gaps of this device are added to (none: raise a new one).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("source", "device_id", name="uq_device_sequences_source_device"),)
