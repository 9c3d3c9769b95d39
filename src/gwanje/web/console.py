"""The operator console (HTML): sign-in, camera list and detail, the map and the Annex 1 report.

Routes parse, call one use case and render (conventions, habit 4). Every route declares who may
call it (``requires(...)`` or ``PUBLIC``); ``assert_routes_guarded`` checks that at start-up.

Security notes:
- The session cookie is HttpOnly, SameSite=Lax, and Secure when ``settings.cookie_secure``.
- Every cookie-authenticated POST carries the session's CSRF token (form field ``csrf_token``).
- The sign-in form has no session yet, so it is protected by a double-submit token: a random value
  in a SameSite=Strict, HttpOnly cookie scoped to ``/login`` that must equal the hidden form field,
  plus an Origin check when the browser sends one (login CSRF would sign a victim into our account).
- Console pages carry a strict Content-Security-Policy: scripts, styles and images from this origin
  only (front-end libraries are installed next to the app by ``scripts/install-assets.sh``).
"""

from __future__ import annotations

import hmac
import math
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from gwanje.accounts import service as accounts
from gwanje.core.clock import utcnow
from gwanje.core.errors import DomainError, NotFound
from gwanje.registry import service as registry
from gwanje.registry.rules import LABELS, STATUS_COLOURS, CameraStatus
from gwanje.registry.schemas import CameraQuery
from gwanje.http.deps import (
    CSRF_FIELD,
    DB,
    PUBLIC,
    SESSION_COOKIE,
    PolicyDep,
    Principal,
    optional_principal,
    requires,
)
from gwanje.ui.i18n import LANG_COOKIE, LANGS, Translator, request_lang
from gwanje.ui.render import DATA_DIR, is_htmx_partial, purpose_colours, render, safe_next

LOGIN_CSRF_COOKIE = "gwanje_login_csrf"
LOGIN_CSRF_FIELD = "login_csrf"
PAGE_SIZE = 50
LANG_COOKIE_SECONDS = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(requires("registry.read"))]
ReportReader = Annotated[Principal, Depends(requires("reports.read"))]


def install(app: FastAPI) -> None:
    app.include_router(router)


# ---------------------------------------------------------------- helpers


def _settings(request: Request):  # noqa: ANN202
    return request.app.state.settings


def _set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=_settings(request).cookie_secure, max_age=3600)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Old browsers omit Origin on same-origin form posts; "null" comes from privacy modes.
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _login_page(request: Request, status_code: int = 200, error: str | None = None, username: str = "",
                next_url: str = "/cameras") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, status_code, error=error, username=username,
                       next_url=next_url, login_csrf=token, login_csrf_field=LOGIN_CSRF_FIELD)
    _set_login_csrf(request, response, token)
    return response


# ---------------------------------------------------------------- sign-in, sign-out, language


@router.get("/login", dependencies=[PUBLIC])
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    target = safe_next(next)
    if optional_principal(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _login_page(request, next_url=target)


@router.post("/login", dependencies=[PUBLIC])
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    otp = str(form.get("otp") or "").strip()[:12] or None
    target = safe_next(str(form.get("next") or ""))
    tr = Translator(request_lang(request), request.app.state.policy)

    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    sent = str(form.get(LOGIN_CSRF_FIELD) or "")
    if not (expected and sent and hmac.compare_digest(expected, sent)) or not _same_origin(request):
        return _login_page(request, 403, tr("login.expired"), username, target)

    db = request.app.state.db
    policy = request.app.state.policy

    def _login() -> accounts.LoginResult:
        with db.uow() as uow:
            return accounts.login(uow, policy, username, password, otp, request.state.request_id)

    try:
        result = await run_in_threadpool(_login)
    except DomainError as exc:
        message = exc.message_en if tr.lang == "en" else exc.message_ko
        return _login_page(request, exc.status, message, username, target)

    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, result.session_token, httponly=True, samesite="lax", path="/",
                        secure=_settings(request).cookie_secure)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


# Logout is declared PUBLIC so that a stale or anonymous browser can always clear its cookie;
# a live session must still prove the request is its own with the CSRF token.
@router.post("/logout", dependencies=[PUBLIC])
async def logout(request: Request) -> Response:
    principal = await run_in_threadpool(optional_principal, request)
    if principal is not None and principal.via == "session":
        form = await request.form()
        sent = str(form.get(CSRF_FIELD) or request.headers.get("x-csrf-token") or "")
        if not (sent and hmac.compare_digest(sent, principal.csrf_token or "")):
            tr = Translator(request_lang(request), request.app.state.policy)
            return render(request, "error.html", principal, 403, message=tr("error.csrf"))
        db = request.app.state.db
        token = request.cookies.get(SESSION_COOKIE, "")

        def _logout() -> None:
            with db.uow() as uow:
                accounts.logout(uow, token, request.state.request_id)

        await run_in_threadpool(_logout)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}", dependencies=[PUBLIC])
def set_language(lang: str, request: Request, next: str | None = None) -> Response:  # noqa: A002
    code = lang if lang in LANGS else "ko"
    target = next
    if target is None:
        referer = request.headers.get("referer")
        if referer and urlsplit(referer).netloc == request.headers.get("host", ""):
            parts = urlsplit(referer)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
    response = RedirectResponse(safe_next(target, default="/", allow_login=True), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_SECONDS, samesite="lax", path="/",
                        httponly=True, secure=_settings(request).cookie_secure)
    return response


@router.get("/", dependencies=[PUBLIC])
def home() -> Response:
    return RedirectResponse("/cameras", status_code=303)


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
def camera_list(request: Request, principal: Reader, db: DB, policy: PolicyDep, q: str | None = None,
                department: str | None = None, purpose: str | None = None, status: str | None = None,
                page: str | None = None) -> Response:
    filters = {
        "q": _clean(q, 200),
        "department": _clean(department, 40),
        "purpose": _clean(purpose, 40),
        "status": _clean(status, 20),
    }
    number = _page_number(page)
    query = CameraQuery(**filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    with db.reading() as session:
        result = registry.search_cameras(session, query)
        items = [registry.camera_read(c) for c in result.items]
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    active = {k: v for k, v in filters.items() if v}

    def page_url(n: int) -> str:
        return "/cameras?" + urlencode({**active, "page": n})

    context = dict(
        items=items, total=result.total, page=number, pages=pages, filters=filters, page_url=page_url,
        start=(number - 1) * PAGE_SIZE + 1 if items else 0, end=(number - 1) * PAGE_SIZE + len(items),
        departments=policy.departments, purposes=policy.purposes, statuses=[s.value for s in CameraStatus],
        colours=purpose_colours(policy), status_colours=STATUS_COLOURS,
    )
    name = "partials/camera_results.html" if is_htmx_partial(request) else "cameras.html"
    return render(request, name, principal, **context)


@router.get("/cameras/{camera_id}")
def camera_detail(camera_id: int, request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    try:
        with db.reading() as session:
            camera = registry.camera_read(registry.get_camera(session, camera_id))
    except NotFound:
        tr = Translator(request_lang(request), policy)
        return render(request, "error.html", principal, 404, message=tr("camera.not_found"))
    colours = purpose_colours(policy)
    return render(request, "camera_detail.html", principal, camera=camera,
                   colour=colours.get(camera.primary_purpose, "#333333"))


# ---------------------------------------------------------------- map


@router.get("/map")
def camera_map(request: Request, principal: Reader, policy: PolicyDep) -> Response:
    tr = Translator(request_lang(request), policy)
    colours = purpose_colours(policy)
    config = {
        "camerasUrl": "/api/cameras.geojson",
        "boundaryUrl": "/api/geo/boundary",
        "neighbourhoodsUrl": "/api/geo/neighbourhoods",
        "lang": tr.lang,
        "purposes": [{"code": p.code, "label": tr.purpose(p.code), "colour": colours[p.code]}
                     for p in policy.purposes],
        "statuses": {code: {"label": tr.label(code), "colour": colour} for code, colour in STATUS_COLOURS.items()},
        "departments": {d.code: tr.department(d.code) for d in policy.departments},
        "text": {key: tr(key) for key in ("map.detail", "map.load_failed", "map.loading", "field.status",
                                          "field.department", "field.primary_purpose", "field.address")},
        "loadedTemplate": tr.raw("map.loaded"),
    }
    return render(request, "map.html", principal, config=config, colours=colours,
                   status_colours=STATUS_COLOURS)


@lru_cache(maxsize=4)
def _geojson_bytes(name: str) -> bytes:
    return (DATA_DIR / name).read_bytes()


def _geojson(name: str) -> Response:
    return Response(_geojson_bytes(name), media_type="application/geo+json",
                    headers={"cache-control": "private, max-age=3600"})


@router.get("/api/geo/boundary", dependencies=[Depends(requires("registry.read"))], tags=["map"])
def district_boundary() -> Response:
    """The district outline (GeoJSON), the map's background where no tile server is configured."""
    return _geojson("seongdong_boundary.geojson")


@router.get("/api/geo/neighbourhoods", dependencies=[Depends(requires("registry.read"))], tags=["map"])
def district_neighbourhoods() -> Response:
    """The district's legal neighbourhoods (법정동), drawn faintly under the cameras for orientation."""
    return _geojson("seongdong_neighborhoods.geojson")


# ---------------------------------------------------------------- Annex 1


def _annex_rows(report, tr: Translator) -> list[dict[str, Any]]:  # noqa: ANN001
    """Rows as printed: a department's name spans its consecutive rows; secondary purposes numbered."""
    remarks_en = {ko: en for ko, en in LABELS.values()}
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
        entry = {"department": department, "span": 1, "primary": primary, "sites": row.sites,
                 "cameras": row.cameras, "secondary": " ".join(f"{i}. {s}" for i, s in enumerate(secondary, 1)),
                 "remarks": remarks, "code": row.department}
        if rows and rows[-1]["code"] == row.department:
            head = next(r for r in reversed(rows) if r["span"] > 0)
            head["span"] += 1
            entry["span"] = 0
        rows.append(entry)
    return rows


@router.get("/reports/annex1")
def annex1(request: Request, principal: ReportReader, db: DB, policy: PolicyDep) -> Response:
    with db.reading() as session:
        report = registry.annex1_report(session, policy)
    tr = Translator(request_lang(request), policy)
    return render(request, "annex1.html", principal, rows=_annex_rows(report, tr), report=report)
