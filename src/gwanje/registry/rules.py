"""Pure registry rules: no I/O, standard library only."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

# South Korea incl. Jeju, Ulleungdo and Dokdo, with a small margin; 0/0 is never valid.
KOREA_LAT = (33.0, 38.7)
KOREA_LON = (124.5, 132.0)


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


_COMPASS = (
    ("북", "N"),
    ("북동", "NE"),
    ("동", "E"),
    ("남동", "SE"),
    ("남", "S"),
    ("남서", "SW"),
    ("서", "W"),
    ("북서", "NW"),
)


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2: 0 = north, clockwise, in [0, 360).

    Identical points have no direction; 0 is returned for them.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    b = math.degrees(math.atan2(y, x)) % 360.0
    return 0.0 if b >= 360.0 else b  # -1e-17 % 360 rounds to 360.0


def compass_ko_en(bearing: float) -> tuple[str, str]:
    """The 8-point compass label of a bearing, e.g. 45 → ("북동", "NE"); sectors are 45° wide,
    centred on each point (337.5–22.5 is north)."""
    b = float(bearing)
    if not math.isfinite(b):
        raise ValueError(f"방위각이 유한한 값이 아닙니다 / bearing must be finite: {bearing!r}")
    return _COMPASS[int(((b % 360.0) + 22.5) // 45.0) % 8]


# ---- stream addresses and their credentials ----------------------------------------------------


@dataclass(frozen=True, repr=False)
class StreamCredentials:
    """A camera's user name and password (never in the stored address, never in a response)."""

    username: str
    password: str | None = None

    def __repr__(self) -> str:
        return f"StreamCredentials(username={self.username!r}, password=***)"


def split_stream_url(url: str) -> tuple[str, StreamCredentials | None]:
    """``rtsp://user:pw@host/p`` → (``rtsp://host/p``, the credentials); an address without them as is."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    bare = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    username, colon, password = userinfo.partition(":")
    if not username:
        return bare, None
    return bare, StreamCredentials(unquote(username), unquote(password) if colon else None)


def join_stream_url(url: str, credentials: StreamCredentials | None) -> str:
    """The address ffmpeg opens: the stored one with the credentials put back (percent-encoded)."""
    if credentials is None:
        return url
    parts = urlsplit(url)
    auth = quote(credentials.username, safe="")
    if credentials.password is not None:
        auth += ":" + quote(credentials.password, safe="")
    return urlunsplit((parts.scheme, f"{auth}@{parts.netloc}", parts.path, parts.query, parts.fragment))
