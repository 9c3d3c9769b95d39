"""Equipment register: items, and the append-only history of every change to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class EquipmentItem(Base):
    """One item of the register (장비 / 시설물 / 물품 — the policy's ``maintenance.classes``), owned by
    ``owner_organisation`` (Art. 5), kept in a room of ``duty.rooms`` or at a site, or a registry camera
    (``camera_id``, one item per camera). ``version`` rises with every change: an edit names the version it
    was made on, and a stale one is refused. ``cost_krw``: the acquisition cost in won, or none if unknown."""

    __tablename__ = "maintenance_items"
    __table_args__ = (
        Index("uq_maintenance_items_make_serial", "make_key", "serial", unique=True),
        Index("ix_maintenance_items_class_status", "item_class", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_class: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_organisation: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    room: Mapped[str | None] = mapped_column(String(40), index=True)
    site: Mapped[str | None] = mapped_column(String(200))
    camera_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    make: Mapped[str | None] = mapped_column(String(120))
    # The make as compared for uniqueness of serials (trimmed, case-folded; "" when none).
    make_key: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    model: Mapped[str | None] = mapped_column(String(120))
    serial: Mapped[str | None] = mapped_column(String(120))
    acquired_on: Mapped[date | None] = mapped_column(Date)
    cost_krw: Mapped[int | None] = mapped_column(Integer)
    warranty_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)


class EquipmentHistory(Base):
    """One change to an item: who, when, what it was and what it became (JSON of the changed fields).
    Append-only: triggers refuse UPDATE and DELETE on both engines."""

    __tablename__ = "maintenance_item_history"
    __table_args__ = (Index("ix_maintenance_item_history_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(
        String(40), nullable=False
    )  # created | edited | status | disposed | synced | imported
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    organisation: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text, nullable=False)
