"""Duty log and handover tables: one log per shift with its entries; one handover per outgoing log
with the snapshot of what it hands over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class DutyLog(Base):
    """근무일지: one organisation's shift, its leader and members; signed by the leader at the end."""

    __tablename__ = "duty_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    team: Mapped[str] = mapped_column(String(100), nullable=False)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True)
    leader_name: Mapped[str] = mapped_column(String(200), nullable=False)
    members: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of names
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # open | signed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(Integer)
    signed_by_name: Mapped[str | None] = mapped_column(String(200))
    signed_hash: Mapped[str | None] = mapped_column(String(64))
    signed_audit_seq: Mapped[int | None] = mapped_column(Integer)


class DutyLogEntry(Base):
    """An entry written during the shift."""

    __tablename__ = "duty_log_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("duty_logs.id", ondelete="RESTRICT"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))


class Handover(Base):
    """인수인계: the outgoing shift's log handed to the incoming shift's leader."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[int] = mapped_column(
        ForeignKey("duty_logs.id", ondelete="RESTRICT"), nullable=False, unique=True, index=True
    )
    organisation: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # draft | offered | acknowledged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(Integer)
    acknowledged_by_name: Mapped[str | None] = mapped_column(String(200))
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)


class HandoverItem(Base):
    """One thing handed over, as it stood when gathered: an open incident, a pending deadline, a note."""

    __tablename__ = "handover_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)  # incident | deadline kinds | note
    ref: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_note: Mapped[str | None] = mapped_column(String(1000))
