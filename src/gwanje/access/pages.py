"""The frame every video-governance page shares: its tabs, the closed lists its forms offer, how a
page is read and rendered, and how a form post runs one use case (post/redirect/get).

Every page is server-rendered HTML that works without scripts. Forms post with the session's CSRF
token (field ``csrf_token``, checked by ``requires``); each POST parses the form, calls the same use
case as the JSON API and redirects back. A refusal re-renders the page with the message in the
reader's language and the clause it rests on, keeping what was typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gwanje.access.choices import (
    IdentityMethod,
    InvalidRefusalReason,
    LedgerKind,
    LedgerMethod,
    LegalGround,
    ProvisionStatus,
    SubjectDelayReason,
    SubjectRefusalReason,
    SubjectStatus,
    UsageOutcome,
)
from gwanje.core.clock import utcnow
from gwanje.core.errors import DomainError
from gwanje.http.deps import Principal
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.ui.forms import FormInput, kst_input
from gwanje.ui.i18n import Translator
from gwanje.ui.render import render, translator

REQUEST = "video.provision.request"
APPROVE = "video.provision.approve"
EMERGENCY = "video.emergency_access"
RESULT = "video.usage_result.enter"
REPORTS = "reports.read"
SUBJECT = "video.subject_request.handle"
LEDGER = "ledger.read"

# The tabs of the video-governance pages, in order: (path, i18n key, permissions that show it).
TABS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/access/provisions", "video.tab.provisions", (REQUEST, APPROVE)),
    ("/access/emergency", "video.tab.emergency", (EMERGENCY, APPROVE)),
    ("/access/usage-results", "video.tab.usage_results", (RESULT, APPROVE)),
    ("/access/statistics", "video.tab.statistics", (REPORTS,)),
    ("/access/subject-requests", "video.tab.subject_requests", (SUBJECT,)),
    ("/ledgers", "video.tab.ledgers", (LEDGER,)),
)
ANY_TAB = tuple(dict.fromkeys(p for _, _, perms in TABS for p in perms))

DONE_KEYS = frozenset({"requested", "document", "approved", "rejected", "emergency", "result", "subject", "decided"})

Build = Callable[[Session], dict[str, Any]]


def may(policy: Policy, principal: Principal, *permissions: str) -> bool:
    return any(decisions.role_has_permission(policy, principal.user.role, p).allowed for p in permissions)


def first_tab(policy: Policy, principal: Principal) -> str | None:
    """The first video-governance page this person may use."""
    for path, _, perms in TABS:
        if may(policy, principal, *perms):
            return path
    return None


def role_purposes(policy: Policy, principal: Principal) -> list[str]:
    """Purposes the caller's role may name (a department officer: their department's)."""
    role = policy.role(principal.user.role)
    if role.own_department:
        if not principal.user.department:
            return []
        return list(policy.department(principal.user.department).purposes)
    return list(role.purposes)


def clause_line(policy: Policy, tr: Translator, clause: str | None) -> str | None:
    """A clause as people cite it (its name and text, never the bare id): :meth:`Translator.clause`."""
    del policy  # the translator reads the same policy
    return tr.clause(clause) or None


def error_view(policy: Policy, tr: Translator, exc: DomainError) -> dict[str, Any]:
    return {
        "message": exc.message_en if tr.lang == "en" else exc.message_ko,
        "clause": clause_line(policy, tr, exc.clause),
        "field": exc.field,
        "status": exc.status,
    }


def _common(request: Request, policy: Policy, principal: Principal, tab: str) -> dict[str, Any]:
    tr = translator(request)
    lang = tr.lang
    done = request.query_params.get("done")
    done_id = request.query_params.get("id")
    flash = None
    if done in DONE_KEYS:
        flash = tr(f"video.done.{done}") + (f" (#{done_id})" if done_id and done_id.isdigit() else "")
    return {
        "tabs": [(path, key) for path, key, perms in TABS if may(policy, principal, *perms)],
        "tab": tab,
        "flash": flash,
        "highlight": int(done_id)
        if done_id and len(done_id) <= 10 and done_id.isascii() and done_id.isdigit()
        else None,
        "may": lambda *perms: may(policy, principal, *perms),
        "kst_input": kst_input,
        "clause_line": lambda c: clause_line(policy, tr, c),
        "pick": lambda pair: (pair or {}).get("en" if lang == "en" else "ko", "") if isinstance(pair, dict) else "",
        "legal_grounds": LegalGround.options(lang),
        "legal_label": dict(LegalGround.options(lang)),
        "outcomes": UsageOutcome.options(lang),
        "outcome_label": dict(UsageOutcome.options(lang)),
        "identity_methods": IdentityMethod.options(lang),
        "identity_label": dict(IdentityMethod.options(lang)),
        "refusal_reasons": SubjectRefusalReason.options(lang),
        "invalid_reasons": InvalidRefusalReason.options(lang),
        "delay_reasons": SubjectDelayReason.options(lang),
        "ledger_kinds": LedgerKind.options(lang),
        "ledger_kind_label": dict(LedgerKind.options(lang)),
        "ledger_method_label": dict(LedgerMethod.options(lang)),
        "provision_statuses": ProvisionStatus.options(lang),
        "subject_statuses": SubjectStatus.options(lang),
        "my_purposes": role_purposes(policy, principal) or [p.code for p in policy.purposes],
        "now_input": kst_input(utcnow()),
    }


async def page(
    request: Request,
    principal: Principal,
    template: str,
    tab: str,
    build: Build,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """Read what the page shows (``build`` in a read-only session, off the event loop) and render it."""
    policy = request.app.state.policy
    db = request.app.state.db

    def _read() -> dict[str, Any]:
        with db.reading() as session:
            return build(session)

    context = await run_in_threadpool(_read)
    return render(
        request, template, principal, status_code, **_common(request, policy, principal, tab), **context, **extra
    )


async def submit(
    request: Request,
    principal: Principal,
    *,
    template: str,
    tab: str,
    build: Build,
    action: Callable[..., Any],
    prepare: Callable[[FormInput], Awaitable[Any]] | None = None,
    form_name: str = "form",
) -> Response:
    """Parse the form, run one use case, and redirect to ``?done=…`` — or show the refusal on the page.

    ``action`` runs in the thread pool and returns the URL to go to, or a dict of things to show once
    (never in a URL: a password) with the page. ``prepare`` runs first on the event loop (reading files).
    """
    form = FormInput(await request.form())
    policy = request.app.state.policy
    try:
        args = (form,) if prepare is None else (form, await prepare(form))
        target = await run_in_threadpool(action, *args)
    except DomainError as exc:
        return await page(
            request,
            principal,
            template,
            tab,
            build,
            status_code=exc.status,
            error=error_view(policy, translator(request), exc),
            failed_form=form_name,
            form=form.values(),
        )
    if isinstance(target, dict):  # something to show once (never in a URL): render, do not redirect
        return await page(request, principal, template, tab, build, **target)
    return RedirectResponse(target, status_code=303)


def done_url(path: str, key: str, object_id: int | None = None, anchor: str | None = None) -> str:
    query = {"done": key, **({"id": object_id} if object_id is not None else {})}
    return f"{path}?{urlencode(query)}" + (f"#{anchor}" if anchor else "")


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)
