"""Registry tables: organisations, departments, sites (개소) and cameras (대수)."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from gwanje.core.db import Base, UTCDateTime


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_ko: Mapped[str] = mapped_column(String(120), nullable=False)
    name_en: Mapped[str] = mapped_column(String(120), nullable=False)


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_ko: Mapped[str] = mapped_column(String(120), nullable=False)
    name_en: Mapped[str] = mapped_column(String(120), nullable=False)
    organisation: Mapped[str] = mapped_column(String(40), nullable=False)


class Site(Base):
    """A place (개소) with one or more cameras; one row of the national standard data."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable key: the standard data's 관리번호 when it has one, else derived from agency, purpose, position.
    site_key: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    managing_agency: Mapped[str] = mapped_column(String(120), nullable=False)
    road_address: Mapped[str | None] = mapped_column(String(300))
    lot_address: Mapped[str | None] = mapped_column(String(300))
    agency_phone: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    standard_purpose: Mapped[str | None] = mapped_column(String(40))
    data_date: Mapped[date | None] = mapped_column(Date)
    row_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    cameras: Mapped[list["Camera"]] = relationship(back_populates="site", order_by="Camera.id")


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    management_number: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False, index=True)
    department: Mapped[str | None] = mapped_column(String(40))
    owner_organisation: Mapped[str] = mapped_column(String(40), nullable=False)
    primary_purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    # Delimited ",a,b," so a purpose filter is one LIKE over an indexed scan; exposed as a list.
    secondary_purposes: Mapped[str] = mapped_column(String(300), nullable=False, default=",")
    camera_group: Mapped[str | None] = mapped_column(String(40))
    storage_mode: Mapped[str] = mapped_column(String(20), nullable=False, default="central")
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    direction: Mapped[str | None] = mapped_column(String(120))
    direction_deg: Mapped[int | None] = mapped_column(Integer)
    resolution_mp: Mapped[float | None] = mapped_column(Float)
    retention_days: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    installed_month: Mapped[str | None] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    # The address without user name or password; those are sealed apart (AES-GCM, bound to this
    # camera's management number, key from the settings) and opened only by the video service.
    stream_url: Mapped[str | None] = mapped_column(String(500))
    stream_credentials: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship(back_populates="cameras")

    # Status, purpose and department have a handful of values each: an index on them costs the
    # bulk import ~5% and no search uses it (measured with bench/registry.py). Position does: a
    # (latitude, longitude) B-tree checks the longitude on index entries, without heap fetches;
    # measured better than a 0.01° grid-cell index (p99 45 vs 66 ms at 250k cameras).
    __table_args__ = (Index("ix_cameras_lat_lon", "latitude", "longitude"),)

    @validates("stream_url")
    def _no_credentials_in_address(self, _key: str, value: str | None) -> str | None:
        if value and "@" in urlsplit(value).netloc:
            raise ValueError("a camera's stored stream address never carries credentials (registry.service seals them)")
        return value

    @property
    def stream_configured(self) -> bool:
        return bool(self.stream_url)

    @property
    def secondary_purpose_list(self) -> list[str]:
        return [p for p in self.secondary_purposes.split(",") if p]

    @property
    def purposes(self) -> list[str]:
        return [self.primary_purpose, *self.secondary_purpose_list]
