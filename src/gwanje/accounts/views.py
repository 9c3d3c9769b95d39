"""Sign-in pages (HTML): the login form, sign-out, the language switch and the home redirect.

Every route declares who may call it (``requires(...)`` or ``PUBLIC``); the app factory checks that
at start-up.

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
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.accounts import service
from gwanje.core.errors import DomainError, TooManyAttempts
from gwanje.http.deps import CSRF_FIELD, PUBLIC, SESSION_COOKIE, optional_principal
from gwanje.ui.i18n import LANG_COOKIE, LANGS
from gwanje.ui.render import home_path, render, safe_next, translator

LOGIN_CSRF_COOKIE = "gwanje_login_csrf"
LOGIN_CSRF_FIELD = "login_csrf"
LANG_COOKIE_SECONDS = 365 * 24 * 3600
HOME = "/"  # the signed-in user's landing page (roles[].home in the policy), see home()

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- helpers


def _settings(request: Request):  # noqa: ANN202
    return request.app.state.settings


def _set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=_settings(request).cookie_secure,
        max_age=3600,
    )


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Old browsers omit Origin on same-origin form posts; "null" comes from privacy modes.
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _login_page(
    request: Request, status_code: int = 200, error: str | None = None, username: str = "", next_url: str = HOME
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "accounts/login.html",
        None,
        status_code,
        error=error,
        username=username,
        next_url=next_url,
        login_csrf=token,
        login_csrf_field=LOGIN_CSRF_FIELD,
    )
    _set_login_csrf(request, response, token)
    return response


# ---------------------------------------------------------------- sign-in, sign-out, language


@router.get("/login", dependencies=[PUBLIC])
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    target = safe_next(next, default=HOME)
    if optional_principal(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _login_page(request, next_url=target)


@router.post("/login", dependencies=[PUBLIC])
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    otp = str(form.get("otp") or "").strip()[:12] or None
    target = safe_next(str(form.get("next") or ""), default=HOME)
    tr = translator(request)

    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    sent = str(form.get(LOGIN_CSRF_FIELD) or "")
    if not (expected and sent and hmac.compare_digest(expected, sent)) or not _same_origin(request):
        return _login_page(request, 403, tr("login.expired"), username, target)

    db = request.app.state.db
    policy = request.app.state.policy

    def _login() -> service.LoginResult:
        with db.uow() as uow:
            source = request.client.host if request.client else None
            return service.login(uow, policy, username, password, otp, request.state.request_id, source)

    try:
        result = await run_in_threadpool(_login)
    except DomainError as exc:
        # A refused sign-in is shown on the form itself, in the reader's language.
        message = exc.message_en if tr.lang == "en" else exc.message_ko
        page = _login_page(request, exc.status, message, username, target)
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page

    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=_settings(request).cookie_secure,
    )
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
            return render(request, "error.html", principal, 403, message=translator(request)("error.csrf"))
        db = request.app.state.db
        token = request.cookies.get(SESSION_COOKIE, "")

        def _logout() -> None:
            with db.uow() as uow:
                service.logout(uow, token, request.state.request_id)

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
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=LANG_COOKIE_SECONDS,
        samesite="lax",
        path="/",
        httponly=True,
        secure=_settings(request).cookie_secure,
    )
    return response


@router.get("/", dependencies=[PUBLIC])
def home(request: Request) -> Response:
    """Each role lands on the page of its work (``roles[].home`` in the policy); strangers sign in."""
    principal = optional_principal(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_path(request.app.state.policy, principal.user.role), status_code=303)


routers = [router]
