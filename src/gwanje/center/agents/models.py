"""Agent requests (Art. 9 ③) and replacement demands (Art. 9 ④) with one timeline per demand."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class AgentRequest(Base):
    """The police ask the district for monitoring agents; the district decides and bears the cost."""

    __tablename__ = "agent_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    requester_name: Mapped[str] = mapped_column(String(64), nullable=False)
    requester_organisation: Mapped[str] = mapped_column(String(40), nullable=False)
    headcount: Mapped[int] = mapped_column(Integer, nullable=False)
    hours_from: Mapped[str] = mapped_column(String(5), nullable=False)  # "HH:MM" KST
    hours_to: Mapped[str] = mapped_column(String(5), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    approved_headcount: Mapped[int | None] = mapped_column(Integer)
    monthly_cost_krw: Mapped[int | None] = mapped_column(Integer)
    cost_bearer: Mapped[str | None] = mapped_column(String(40))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ReplacementDemand(Base):
    """The police demand an agent's replacement on a ground the policy names."""

    __tablename__ = "agent_replacement_demands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    ground: Mapped[str] = mapped_column(String(40), nullable=False)
    facts: Mapped[str] = mapped_column(Text, nullable=False)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    requester_name: Mapped[str] = mapped_column(String(64), nullable=False)
    requester_organisation: Mapped[str] = mapped_column(String(40), nullable=False)
    resolution: Mapped[str | None] = mapped_column(String(20))  # replace | training
    replacement_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ReplacementEntry(Base):
    """One line of a demand's timeline: at, who, what, note."""

    __tablename__ = "agent_replacement_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    demand_id: Mapped[int] = mapped_column(
        ForeignKey("agent_replacement_demands.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
