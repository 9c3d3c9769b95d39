"""Request and response models of the registry API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gwanje.core.schemas import StrictModel
from gwanje.registry.rules import CameraStatus, StorageMode

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]


Strict = StrictModel


class SiteRef(Strict):
    """Where a new camera stands: an existing site, or a new one described here."""

    site_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    road_address: Annotated[str, StringConstraints(max_length=300)] | None = None
    lot_address: Annotated[str, StringConstraints(max_length=300)] | None = None


class CameraCreate(Strict):
    management_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80,
                                                        pattern=r"^[0-9A-Za-z가-힣_.\-]+$")]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    site: SiteRef | None = None
    department: Code | None = None
    installed_by: Code = Field(default="district", description="Organisation that installed it (Art. 5 ownership)")
    primary_purpose: Code | None = None
    secondary_purposes: list[Code] = Field(default_factory=list, max_length=20)
    camera_group: Code | None = None
    storage_mode: StorageMode = StorageMode.central
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    direction: Annotated[str, StringConstraints(max_length=120)] | None = None
    direction_deg: int | None = Field(default=None, ge=0, le=359)
    resolution_mp: float | None = Field(default=None, ge=0, le=100)
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    installed_month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    status: CameraStatus = CameraStatus.active
    stream_url: Annotated[str, StringConstraints(max_length=500, pattern=r"^(rtsp|rtsps|http|https)://\S+$")] | None = None


class CameraUpdate(Strict):
    """Partial update: only the fields given change."""

    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    department: Code | None = None
    primary_purpose: Code | None = None
    secondary_purposes: list[Code] | None = Field(default=None, max_length=20)
    camera_group: Code | None = None
    storage_mode: StorageMode | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    direction: Annotated[str, StringConstraints(max_length=120)] | None = None
    direction_deg: int | None = Field(default=None, ge=0, le=359)
    resolution_mp: float | None = Field(default=None, ge=0, le=100)
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    installed_month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    status: CameraStatus | None = None
    stream_url: Annotated[str, StringConstraints(max_length=500, pattern=r"^(rtsp|rtsps|http|https)://\S+$")] | None = None


class CameraRetire(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CameraRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    management_number: str
    name: str | None
    site_key: str
    road_address: str | None
    lot_address: str | None
    department: str | None
    owner_organisation: str
    primary_purpose: str
    secondary_purposes: list[str]
    camera_group: str | None
    storage_mode: str
    latitude: float
    longitude: float
    direction: str | None
    direction_deg: int | None
    resolution_mp: float | None
    retention_days: int
    installed_month: str | None
    status: str
    stream_url: str | None
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None


class CameraPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CameraRead]


@dataclass(frozen=True)
class CameraQuery:
    q: str | None = None
    department: str | None = None
    purpose: str | None = None
    status: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # south, west, north, east
    near: tuple[float, float, float] | None = None  # lat, lon, radius_m
    include_retired: bool = False
    limit: int = 100
    offset: int = 0


class Annex1Row(BaseModel):
    department: str
    department_ko: str
    primary_purpose: str
    label_ko: str
    camera_group: str | None
    sites: int
    cameras: int
    secondary_purposes: list[str]
    secondary_purposes_ko: list[str]
    remarks_ko: str


class Annex1Report(BaseModel):
    rows: list[Annex1Row]
    total_sites: int
    total_cameras: int
