"""Registry pages (HTML): the camera list and detail, the map and the Annex 1 report; the map's
background GeoJSON.

Routes parse, call one use case and render (conventions, habit 4); who may call them is declared
with the registry's dependencies (``registry/deps.py``).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gwanje.access import service as access
from gwanje.core.errors import NotFound
from gwanje.http.deps import DB, PolicyDep
from gwanje.policy.model import Policy
from gwanje.registry import service
from gwanje.registry.choices import CameraStatus, StorageMode, status_colours
from gwanje.registry.deps import READ, ConsoleCamera, Reader, ReportReader
from gwanje.registry.schemas import Annex1Read, CameraQuery
from gwanje.policy import decisions
from gwanje.situations import rules as situation_rules
from gwanje.situations.choices import IncidentStatus
from gwanje.ui.i18n import Translator
from gwanje.ui.render import CSP, is_htmx_partial, purpose_colours, render, translator

PAGE_SIZE = 50
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

router = APIRouter(include_in_schema=False)
geo_router = APIRouter(prefix="/api/geo", tags=["map"])

# The registry's choice sets, for ``t.label(code, statuses)`` in its templates.
LABEL_SETS = {"camera_statuses": CameraStatus, "storage_modes": StorageMode}


# ---------------------------------------------------------------- cameras


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1_000_000))
    except ValueError:
        return 1


def _clean(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()[:limit]
    return value or None


@router.get("/cameras")
def camera_list(
    request: Request,
    principal: Reader,
    db: DB,
    policy: PolicyDep,
    q: str | None = None,
    department: str | None = None,
    purpose: str | None = None,
    status: str | None = None,
    page: str | None = None,
) -> Response:
    filters = {
        "q": _clean(q, 200),
        "department": _clean(department, 40),
        "purpose": _clean(purpose, 40),
        "status": _clean(status, 20),
    }
    number = _page_number(page)
    query = CameraQuery(**filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    with db.reading() as session:
        result = service.search_page(session, query)
    items = result.items
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    active = {k: v for k, v in filters.items() if v}

    def page_url(n: int) -> str:
        return "/cameras?" + urlencode({**active, "page": n})

    context = dict(
        items=items,
        total=result.total,
        page=number,
        pages=pages,
        filters=filters,
        page_url=page_url,
        start=(number - 1) * PAGE_SIZE + 1 if items else 0,
        end=(number - 1) * PAGE_SIZE + len(items),
        departments=policy.departments,
        purposes=policy.purposes,
        statuses=list(CameraStatus.codes()),
        colours=purpose_colours(policy),
        status_colours=status_colours(),
        **LABEL_SETS,
    )
    if is_htmx_partial(request):
        return render(request, "registry/camera_results.html", principal, **context)
    # The home page: the deadlines this person must act on (Art. 11, PIPA 35) head it.
    alerts = [a.as_dict() for a in access.read_deadline_alerts(db, policy, principal.user)]
    return render(request, "registry/cameras.html", principal, deadline_alerts=alerts, **context)


@router.get("/cameras/{camera_id}")
def camera_detail(request: Request, principal: Reader, camera: ConsoleCamera, policy: PolicyDep) -> Response:
    colours = purpose_colours(policy)
    return render(
        request,
        "registry/camera_detail.html",
        principal,
        camera=camera,
        colour=colours.get(camera.primary_purpose, "#333333"),
        boundary_url="/api/geo/boundary" if policy.map is not None else None,
        **LABEL_SETS,
    )


# ---------------------------------------------------------------- map


# The situation board's live feed (``gwanje.situations.live.PATH``): the map's incident layer follows it.
LIVE_URL = "/api/live"
OPEN_INCIDENTS_URL = "/api/incidents?open_only=true"

MAP_TEXT = (
    "map.detail",
    "map.load_failed",
    "map.loading",
    "map.search.none",
    "map.search.more",
    "map.incident.occurred",
    "map.incident.board",
    "map.incidents.live",
    "map.incidents.polling",
    "field.status",
    "field.department",
    "field.primary_purpose",
    "field.address",
)


def _tiles(settings: Any) -> dict[str, Any] | None:
    if settings is None or not getattr(settings, "map_tile_url", ""):
        return None
    return {
        "url": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
        "maxZoom": settings.map_tile_max_zoom,
    }


def _incidents(policy: Policy, tr: Translator, role: str | None) -> dict[str, Any] | None:
    """The open-incident layer, for whoever may read the situation board: the same live feed and list,
    so the board's visibility rules (``roles[].board``) decide what the map shows."""
    if role is None or not decisions.role_has_permission(policy, role, "situations.read").allowed:
        return None
    return {
        "liveUrl": LIVE_URL,
        "listUrl": OPEN_INCIDENTS_URL,
        "boardUrl": "/board",
        "open": sorted(situation_rules.OPEN),
        "types": {s.type: (s.en if tr.lang == "en" else s.ko) for s in policy.duty.situations},
        "statuses": {s.code: {"label": tr.label(s.code, IncidentStatus), "colour": s.colour} for s in IncidentStatus},
    }


def map_config(policy: Policy, tr: Translator, role: str | None = None, settings: Any = None) -> dict[str, Any]:
    """What ``static/js/map.js`` reads: where the layers come from, and every label and colour.

    The background layers are the GeoJSON files the policy names (``map:``) and, where the center runs
    one, its own tile server (``GWANJE_MAP_TILE_URL``); none without them.
    """
    colours = purpose_colours(policy)
    names = policy.map.neighbourhood_names if policy.map is not None else {}
    return {
        "camerasUrl": "/api/cameras.geojson",
        "boundaryUrl": "/api/geo/boundary" if policy.map is not None else None,
        "neighbourhoodsUrl": "/api/geo/neighbourhoods" if policy.map and policy.map.neighbourhoods else None,
        "neighbourhoodLabel": names.get(tr.lang) or names.get("ko"),
        "tiles": _tiles(settings),
        "incidents": _incidents(policy, tr, role),
        "lang": tr.lang,
        "purposes": [{"code": p.code, "label": tr.purpose(p.code), "colour": colours[p.code]} for p in policy.purposes],
        "statuses": {
            c.code: {"label": tr.label(c.code, CameraStatus), "colour": CameraStatus.colour(c.code)}
            for c in CameraStatus
        },
        "departments": {d.code: tr.department(d.code) for d in policy.departments},
        "text": {key: tr.raw(key) for key in MAP_TEXT},  # placeholders left for the script
        "loadedForms": tr.raw_n("map.loaded"),  # by plural category: Intl.PluralRules picks one
    }


def map_csp(request: Request, tile_origin: str | None) -> str:
    """The console's CSP, plus the live feed's WebSocket on this host (CSP Level 3 lets ``'self'`` cover
    it, older engines do not) and the center's tile server for images, when one is configured."""
    csp = CSP
    host = request.headers.get("host", "")
    if _HOST.match(host):
        csp = csp.replace("connect-src 'self'", f"connect-src 'self' ws://{host} wss://{host}")
    if tile_origin:
        csp = csp.replace("img-src 'self' data:", f"img-src 'self' data: {tile_origin}")
    return csp


@router.get("/map")
def camera_map(request: Request, principal: Reader, policy: PolicyDep) -> Response:
    settings = getattr(request.app.state, "settings", None)
    config = map_config(policy, translator(request), principal.user.role, settings)
    response = render(
        request,
        "registry/map.html",
        principal,
        config=config,
        colours=purpose_colours(policy),
        status_colours=status_colours(),
    )
    response.headers["content-security-policy"] = map_csp(request, settings.map_tile_origin() if settings else None)
    return response


@lru_cache(maxsize=8)
def _geojson_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _geojson(policy: Policy, layer: str) -> Response:
    settings = policy.map
    name = getattr(settings, layer) if settings is not None else None
    if not name:
        raise NotFound("정책에 이 지도 배경 파일이 없습니다", f"the policy names no {layer} map file")
    return Response(
        _geojson_bytes(policy.map_file(name)),
        media_type="application/geo+json",
        headers={"cache-control": "private, max-age=3600"},
    )


GEOJSON = {200: {"content": {"application/geo+json": {}}, "description": "an RFC 7946 FeatureCollection"}}


@geo_router.get("/boundary", dependencies=[READ], response_class=Response, responses=GEOJSON)
def district_boundary(policy: PolicyDep) -> Response:
    """The district outline (GeoJSON, ``map.boundary`` of the policy), the map's background where no tile
    server is configured."""
    return _geojson(policy, "boundary")


@geo_router.get("/neighbourhoods", dependencies=[READ], response_class=Response, responses=GEOJSON)
def district_neighbourhoods(policy: PolicyDep) -> Response:
    """The district's legal neighbourhoods (법정동, ``map.neighbourhoods`` of the policy), drawn faintly under
    the cameras for orientation."""
    return _geojson(policy, "neighbourhoods")


# ---------------------------------------------------------------- Annex 1


def annex_rows(report: Annex1Read, tr: Translator) -> list[dict[str, Any]]:
    """Rows as printed: a department's name spans its consecutive rows; secondary purposes numbered."""
    remarks_en = {c.ko: c.en for c in (*StorageMode, *CameraStatus)}
    rows: list[dict[str, Any]] = []
    for row in report.rows:
        if tr.lang == "en":
            primary = tr.purpose(row.primary_purpose)
            secondary = [tr.purpose(p) for p in row.secondary_purposes]
            remarks = remarks_en.get(row.remarks_ko, row.remarks_ko)
        else:
            primary = row.label_ko
            secondary = row.secondary_purposes_ko
            remarks = row.remarks_ko
        department = tr.department(row.department) if row.department else row.department_ko
        entry = {
            "department": department,
            "span": 1,
            "primary": primary,
            "sites": row.sites,
            "cameras": row.cameras,
            "secondary": " ".join(f"{i}. {s}" for i, s in enumerate(secondary, 1)),
            "remarks": remarks,
            "code": row.department,
        }
        if rows and rows[-1]["code"] == row.department:
            head = next(r for r in reversed(rows) if r["span"] > 0)
            head["span"] += 1
            entry["span"] = 0
        rows.append(entry)
    return rows


@router.get("/reports/annex1")
def annex1(request: Request, principal: ReportReader, db: DB, policy: PolicyDep) -> Response:
    with db.reading() as session:
        report = service.annex1_report(session, policy)
    return render(
        request, "registry/annex1.html", principal, rows=annex_rows(report, translator(request)), report=report
    )


routers = [router, geo_router]
