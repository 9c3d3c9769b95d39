"""Server-rendered pages: one template environment, one way to render, one error page.

Every capability's ``views.py`` renders through :func:`render`, which gives each template the
translator (Korean first), the signed-in principal, the CSRF token and the strict
Content-Security-Policy the console runs under.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from gwanje.core.clock import utcnow
from gwanje.core.errors import DomainError
from gwanje.http.deps import CSRF_FIELD
from gwanje.policy.model import CONSOLE_PAGES
from gwanje.ui.i18n import LANGS, Translator, request_lang

PACKAGE_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
DATA_DIR = PACKAGE_DIR / "data"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Colour-blind-safe first (Okabe-Ito), then Tableau; assigned to purposes in policy order.
PURPOSE_PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#d55e00",
    "#56b4e9",
    "#7a5195",
    "#8c564b",
    "#bcbd22",
    "#17becf",
    "#7f7f7f",
    "#1f3a93",
    "#b8860b",
    "#2f4f4f",
)

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def purpose_colours(policy) -> dict[str, str]:  # noqa: ANN001
    return {p.code: PURPOSE_PALETTE[i % len(PURPOSE_PALETTE)] for i, p in enumerate(policy.purposes)}


# Where each console page of the policy's ``roles[].home`` lives (gwanje.policy.CONSOLE_PAGES).
PAGE_PATHS: dict[str, str] = {
    "board": "/board",
    "board_112": "/board/112",
    "ingest": "/ingest",
    "cameras": "/cameras",
    "map": "/map",
    "annex1": "/reports/annex1",
    "access": "/access",
    "audit": "/audit",
}


def _role(policy, role: str | None):  # noqa: ANN001, ANN202
    try:
        return policy.role(role) if role else None
    except LookupError:
        return None


def _may_open(policy, role: str, page: str) -> bool:  # noqa: ANN001
    needed = CONSOLE_PAGES.get(page, ())
    return any(p.code in needed and role in p.roles for p in policy.permissions)


def home_path(policy, role: str | None) -> str:  # noqa: ANN001
    """The page a role lands on: its policy ``home`` when it may open it, else the first page it may
    open, else the camera list (which then says what the role may not do)."""
    r = _role(policy, role)
    if r is None:
        return PAGE_PATHS["cameras"]
    if r.home in PAGE_PATHS and _may_open(policy, r.code, r.home):
        return PAGE_PATHS[r.home]
    for page, path in PAGE_PATHS.items():
        if _may_open(policy, r.code, page):
            return path
    return PAGE_PATHS["cameras"]


def board_path(policy, role: str | None) -> str:  # noqa: ANN001
    """The situation board a role works from: the 112 room's view when its policy home is that board."""
    r = _role(policy, role)
    return PAGE_PATHS["board_112"] if r is not None and r.home == "board_112" else PAGE_PATHS["board"]


def translator(request: Request) -> Translator:
    return Translator(request_lang(request), request.app.state.policy)


def safe_next(value: str | None, default: str = "/cameras", allow_login: bool = False) -> str:
    """Only a local path may follow sign-in: no scheme, no host, no ``//`` or ``/\\`` tricks."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(c in value for c in "\r\n\t"):
        return default
    if parts.path == "/logout" or (parts.path == "/login" and not allow_login):
        return default
    return value


def render(request: Request, name: str, principal: Any, status_code: int = 200, **context: Any) -> Response:
    """Render ``templates/<name>`` for ``principal`` (a :class:`gwanje.http.deps.Principal` or None)."""
    tr = translator(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    ctx = {
        "t": tr,
        "lang": tr.lang,
        "langs": LANGS,
        "principal": principal,
        "user": principal.user if principal else None,
        "csrf_field": CSRF_FIELD,
        "csrf_token": principal.csrf_token if principal else None,
        "here": here,
        "nav": request.url.path.split("/")[1] if request.url.path != "/" else "",
        "board_href": board_path(tr.policy, principal.user.role) if principal else PAGE_PATHS["board"],
        "now_kst": tr.datetime(utcnow()),
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["content-security-policy"] = CSP
    response.headers["cache-control"] = "no-store"
    response.headers["vary"] = "Cookie, HX-Request"
    return response


def is_htmx_partial(request: Request) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def clause_text(policy, tr: Translator, clause: str | None) -> str | None:  # noqa: ANN001
    if not clause:
        return None
    return tr.clause(clause)


def render_error(request: Request, exc: DomainError) -> Response:
    """A domain error as a console page, in the reader's language, citing its clause."""
    tr = translator(request)
    message = exc.message_ko if tr.lang == "ko" else exc.message_en
    return render(
        request,
        "error.html",
        getattr(request.state, "principal", None),
        exc.status,
        message=message,
        clause=clause_text(request.app.state.policy, tr, exc.clause),
    )
