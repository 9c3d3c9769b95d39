"""Request and response models of the registry API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from gwanje.core.schemas import StrictModel, has_control_chars
from gwanje.registry import choices

if TYPE_CHECKING:
    from gwanje.registry.models import Camera

# The request enums are the choice sets' codes (their labels and colours live in registry/choices.py).
CameraStatus = StrEnum("CameraStatus", {code: code for code in choices.CameraStatus.codes()}, module=__name__)
StorageMode = StrEnum("StorageMode", {code: code for code in choices.StorageMode.codes()}, module=__name__)

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
StreamUrl = Annotated[str, StringConstraints(max_length=500, pattern=r"^(rtsp|rtsps|http|https)://\S+$")]
StreamUsername = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _no_control_characters_in_secret(value: SecretStr) -> SecretStr:
    if has_control_chars(value.get_secret_value()):
        raise ValueError("제어 문자는 쓸 수 없습니다 / control characters are not allowed")
    return value


StreamPassword = Annotated[
    SecretStr,
    AfterValidator(_no_control_characters_in_secret),
    Field(
        min_length=1,
        max_length=200,
        json_schema_extra={"writeOnly": True},
        description="Stored encrypted, used only to open the stream; never returned",
    ),
]
STREAM_URL_DESCRIPTION = (
    "rtsp(s):// or an ONVIF device service http(s)://…/onvif/…; user name and password in it are taken out, "
    "stored encrypted apart from the address and never returned"
)
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]


Strict = StrictModel


class SiteRef(Strict):
    """Where a new camera stands: an existing site, or a new one described here."""

    site_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    road_address: Annotated[str, StringConstraints(max_length=300)] | None = None
    lot_address: Annotated[str, StringConstraints(max_length=300)] | None = None


class CameraCreate(Strict):
    management_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[0-9A-Za-z가-힣_.\-]+$")
    ]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    site: SiteRef | None = None
    department: Code | None = None
    installed_by: Code | None = Field(
        default=None, description="Organisation that installed it (Art. 5 ownership); none: the policy's default owner"
    )
    primary_purpose: Code | None = None
    secondary_purposes: list[Code] = Field(default_factory=list, max_length=20)
    camera_group: Code | None = None
    storage_mode: StorageMode = StorageMode("central")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    direction: Annotated[str, StringConstraints(max_length=120)] | None = None
    direction_deg: int | None = Field(default=None, ge=0, le=359)
    resolution_mp: float | None = Field(default=None, ge=0, le=100)
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    installed_month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    status: CameraStatus = CameraStatus("active")
    stream_url: StreamUrl | None = Field(default=None, description=STREAM_URL_DESCRIPTION)
    stream_username: StreamUsername | None = Field(
        default=None, description="The camera's user name, if not in stream_url (stored encrypted)"
    )
    stream_password: StreamPassword | None = None


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
    stream_url: StreamUrl | None = Field(
        default=None,
        description=STREAM_URL_DESCRIPTION
        + "; a new address without credentials keeps the stored ones, null clears both",
    )
    stream_username: StreamUsername | None = Field(
        default=None, description="Replace the stored credentials (with stream_password); null clears them"
    )
    stream_password: StreamPassword | None = None


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
    stream_configured: bool = Field(description="whether a stream address is registered (the address is not shown)")
    stream_credentials_set: bool = Field(description="whether credentials for the stream are stored (never shown)")
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None

    @classmethod
    def from_camera(cls, camera: "Camera") -> "CameraRead":
        """A camera with its site loaded (``registry.service.get_camera`` loads both)."""
        site = camera.site
        return cls(
            id=camera.id,
            management_number=camera.management_number,
            name=camera.name,
            site_key=site.site_key,
            road_address=site.road_address,
            lot_address=site.lot_address,
            department=camera.department,
            owner_organisation=camera.owner_organisation,
            primary_purpose=camera.primary_purpose,
            secondary_purposes=camera.secondary_purpose_list,
            camera_group=camera.camera_group,
            storage_mode=camera.storage_mode,
            latitude=camera.latitude,
            longitude=camera.longitude,
            direction=camera.direction,
            direction_deg=camera.direction_deg,
            resolution_mp=camera.resolution_mp,
            retention_days=camera.retention_days,
            installed_month=camera.installed_month,
            status=camera.status,
            stream_configured=camera.stream_configured,
            stream_credentials_set=camera.stream_credentials is not None,
            created_at=camera.created_at,
            updated_at=camera.updated_at,
            retired_at=camera.retired_at,
        )


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


class Annex1RowRead(BaseModel):
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


class Annex1Read(BaseModel):
    title_ko: str = Field(description="the report's title, naming the organisation that runs the center")
    title_en: str
    agreement_ko: str = Field(description="the title of the agreement whose Annex 1 this is")
    agreement_en: str
    rows: list[Annex1RowRead]
    total_sites: int
    total_cameras: int


# ---- the map (GeoJSON, RFC 7946) -----------------------------------------------------------------


class CameraPointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(description="[longitude, latitude] (WGS84, at most 7 decimals)")


class CameraFeatureProperties(BaseModel):
    id: int
    management_number: str
    primary_purpose: str
    secondary_purposes: list[str]
    status: str
    department: str | None
    storage_mode: str
    site_key: str
    address: str | None


class CameraFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: CameraPointGeometry
    properties: CameraFeatureProperties


class CameraFeatureCollection(BaseModel):
    """The map's markers. Served as ``application/geo+json`` without per-feature validation (100k rows)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[CameraFeature]


# ---- standard data import ------------------------------------------------------------------------


class ReasonRead(BaseModel):
    code: str
    ko: str
    en: str


class ImportLineRead(BaseModel):
    """One file line that was refused, or accepted with a warning, and why."""

    line: int
    reasons: list[ReasonRead]


class ImportSummaryRead(BaseModel):
    file_sha256: str
    encoding: str
    form: str
    rows: int
    imported: int
    updated: int
    unchanged: int
    cameras_added: int
    cameras_retired: int
    rejected: list[ImportLineRead]
    warnings: list[ImportLineRead] = Field(
        default_factory=list, description="lines kept, but not as the file said (e.g. an unmapped 설치목적구분)"
    )
    seconds: float

    @classmethod
    def from_summary(cls, summary: Any) -> "ImportSummaryRead":
        """From a :class:`gwanje.registry.importer.ImportSummary`."""

        def lines(items: list) -> list[ImportLineRead]:
            return [
                ImportLineRead(line=line, reasons=[ReasonRead(**r.to_dict()) for r in reasons])
                for line, reasons in items
            ]

        return cls(
            file_sha256=summary.file_sha256,
            encoding=summary.encoding,
            form=summary.form,
            rows=summary.rows,
            imported=summary.imported,
            updated=summary.updated,
            unchanged=summary.unchanged,
            cameras_added=summary.cameras_added,
            cameras_retired=summary.cameras_retired,
            rejected=lines(summary.rejected),
            warnings=lines(summary.warnings),
            seconds=round(summary.seconds, 3),
        )
