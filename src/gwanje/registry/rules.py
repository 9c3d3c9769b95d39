"""Pure registry rules: no I/O, standard library only."""

from __future__ import annotations

import math
import re
from enum import Enum

# South Korea incl. Jeju, Ulleungdo and Dokdo, with a small margin; 0/0 is never valid.
KOREA_LAT = (33.0, 38.7)
KOREA_LON = (124.5, 132.0)


class StorageMode(str, Enum):
    central = "central"
    on_site = "on_site"
    mobile = "mobile"


class CameraStatus(str, Enum):
    active = "active"
    fault = "fault"
    maintenance = "maintenance"
    retired = "retired"


LABELS: dict[str, tuple[str, str]] = {
    "central": ("센터저장", "central storage"),
    "on_site": ("현장저장", "on-site storage"),
    "mobile": ("이동형", "mobile"),
    "active": ("운영", "active"),
    "fault": ("고장", "fault"),
    "maintenance": ("점검", "maintenance"),
    "retired": ("철거", "retired"),
}

STATUS_COLOURS = {"active": "#2e7d32", "fault": "#c62828", "maintenance": "#ef6c00", "retired": "#757575"}


def inside_korea(latitude: float, longitude: float) -> bool:
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    return KOREA_LAT[0] <= latitude <= KOREA_LAT[1] and KOREA_LON[0] <= longitude <= KOREA_LON[1]


def join_purposes(purposes: list[str] | tuple[str, ...]) -> str:
    """Store secondary purposes as ``,a,b,`` so one LIKE '%,a,%' finds them."""
    return "," + ",".join(purposes) + ("," if purposes else "")


def search_text(*parts: str | None) -> str:
    """Lower-cased haystack for text search (addresses, names, management numbers)."""
    return " ".join(p.strip().lower() for p in parts if p and p.strip())


MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def valid_month(value: str) -> bool:
    return bool(MONTH_RE.match(value))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def radius_bbox(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """A bounding box (south, west, north, east) that contains the circle."""
    # One degree of latitude on the haversine sphere; 1% slack so the circle always fits.
    per_degree = math.radians(6_371_008.8)
    dlat = 1.01 * radius_m / per_degree
    dlon = 1.01 * radius_m / (per_degree * max(math.cos(math.radians(lat)), 1e-6))
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon

