"""Console pages for video and its governance: the live-view panel, provision to the police,
emergency access, usage results, statistics, data-subject requests and the ledgers.

Every page is server-rendered HTML that works without scripts; ``static/js/video.js`` only drives
the pictures (live MJPEG in an ``<img>``, snapshots, playback in a ``<video>``, export) against the
JSON video API, which authorises and audits each opening itself.

Forms post here with the session's CSRF token (field ``csrf_token``, checked by ``requires``);
each POST parses the form, calls the same use case as the JSON API in ``gwanje.access.api`` and
redirects back (post/redirect/get). A refusal re-renders the page with the message in the reader's
language and the clause it rests on, keeping what was typed.

Times are typed and shown in KST (``<input type=datetime-local>``); they are stored in UTC.

Wiring: ``install(app)`` from the wiring root (``gwanje.web.app.create_app``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from gwanje.access import ledger, rules
from gwanje.access import service as access
from gwanje.core.clock import KST, to_kst, utcnow
from gwanje.core.errors import DomainError, ValidationFailed, not_found
from gwanje.evidence import service as evidence
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.registry import service as registry
from gwanje.registry.models import Camera
from gwanje.ui.render import render as _render
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.ui.i18n import Translator, request_lang

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

REQUEST = "video.provision.request"
APPROVE = "video.provision.approve"
EMERGENCY = "video.emergency_access"
RESULT = "video.usage_result.enter"
REPORTS = "reports.read"
SUBJECT = "video.subject_request.handle"
LEDGER = "ledger.read"

Viewer = Annotated[Principal, Depends(requires("registry.read"))]
ProvisionReader = Annotated[Principal, Depends(requires(REQUEST, APPROVE))]
Requester = Annotated[Principal, Depends(requires(REQUEST))]
Approver = Annotated[Principal, Depends(requires(APPROVE))]
EmergencyReader = Annotated[Principal, Depends(requires(EMERGENCY, APPROVE))]
EmergencyOpener = Annotated[Principal, Depends(requires(EMERGENCY))]
ResultReader = Annotated[Principal, Depends(requires(RESULT, APPROVE))]
ResultEnterer = Annotated[Principal, Depends(requires(RESULT))]
StatsReader = Annotated[Principal, Depends(requires(REPORTS))]
SubjectHandler = Annotated[Principal, Depends(requires(SUBJECT))]
LedgerReader = Annotated[Principal, Depends(requires(LEDGER))]

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
Anyone = Annotated[Principal, Depends(requires(*ANY_TAB))]

MAX_CAMERAS = 200
RESULT_PENDING = frozenset({"exported", "document_received"})
SUBJECT_OPEN = frozenset({"received", "delayed"})
LEDGER_PAGE = 1000


def install(app: FastAPI) -> None:
    app.include_router(router)


# ---------------------------------------------------------------- form parsing


class FormInput:
    """Reads one submitted form; every problem is a ValidationFailed naming the field."""

    def __init__(self, form: FormData):
        self.form = form

    def values(self) -> dict[str, str]:
        """What was typed, to fill the form again after a refusal (files and the token left out)."""
        return {k: v for k, v in self.form.items() if isinstance(v, str) and k != "csrf_token"}

    def text(self, name: str, limit: int, *, required: bool = False) -> str | None:
        value = str(self.form.get(name) or "").strip()
        if len(value) > limit:
            raise ValidationFailed(f"{limit}자 이내로 입력하세요: {name}", f"at most {limit} characters: {name}",
                                   field=name)
        if required and not value:
            raise ValidationFailed(f"필수 입력 항목입니다: {name}", f"required: {name}", field=name)
        return value or None

    def number(self, name: str, *, required: bool = False) -> int | None:
        value = self.text(name, 12, required=required)
        if value is None:
            return None
        if not value.isdigit() or int(value) < 1:
            raise ValidationFailed(f"번호가 올바르지 않습니다: {name}", f"not a number: {name}", field=name)
        return int(value)

    def kst(self, name: str, *, required: bool = True) -> datetime | None:
        return parse_kst(self.text(name, 40, required=required), name)

    def words(self, name: str) -> list[str]:
        """Management numbers typed one per line or separated by commas or spaces."""
        value = self.text(name, 20_000, required=True) or ""
        words = list(dict.fromkeys(w for w in re.split(r"[\s,;]+", value) if w))
        if len(words) > MAX_CAMERAS:
            raise ValidationFailed(f"한 번에 {MAX_CAMERAS}대까지 지정할 수 있습니다",
                                   f"at most {MAX_CAMERAS} cameras at once", field=name)
        return words

    def file(self, name: str) -> UploadFile | None:
        value = self.form.get(name)
        if isinstance(value, UploadFile) and value.filename:
            return value
        return None


def parse_kst(value: str | None, field: str) -> datetime | None:
    """``2026-11-20T10:00`` (or ``2026-11-20 10:00``) typed in KST → an aware UTC datetime."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise ValidationFailed(f"일시 형식이 올바르지 않습니다 (예: 2026-11-20 10:00): {field}",
                               f"not a date and time (e.g. 2026-11-20 10:00): {field}", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KST)
    return parsed.astimezone(timezone.utc)


def parse_kst_day(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A KST calendar day (``2026-11-20``) → its start in UTC; ``end`` gives the start of the next day."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        raise ValidationFailed(f"날짜 형식이 올바르지 않습니다 (예: 2026-11-20): {field}",
                               f"not a date (e.g. 2026-11-20): {field}", field=field) from None
    start = datetime(day.year, day.month, day.day, tzinfo=KST)
    return (start + timedelta(days=1) if end else start).astimezone(timezone.utc)


def parse_month(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A KST month (``2026-11``) → its first instant in UTC; ``end`` gives the next month's."""
    value = (value or "").strip()
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed(f"월 형식이 올바르지 않습니다 (예: 2026-11): {field}",
                               f"not a month (e.g. 2026-11): {field}", field=field)
    year, month = int(match.group(1)), int(match.group(2))
    if end:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=KST).astimezone(timezone.utc)


def kst_input(value: datetime | None) -> str:
    """A stored UTC time as the value of a ``datetime-local`` input (KST, minutes)."""
    kst = to_kst(value)
    return "" if kst is None else kst.strftime("%Y-%m-%dT%H:%M")


# ---------------------------------------------------------------- read helpers (no writes)


def camera_ids_by_number(session: Session, numbers: Iterable[str], field: str = "cameras") -> list[int]:
    """Management numbers (as printed on the pole) → camera ids; unknown ones are named in the refusal."""
    numbers = list(numbers)
    if not numbers:
        raise ValidationFailed("CCTV를 하나 이상 지정하세요", "name at least one camera", field=field)
    found = dict(session.execute(select(Camera.management_number, Camera.id)
                                 .where(Camera.management_number.in_(numbers))).all())
    missing = [n for n in numbers if n not in found]
    if missing:
        raise not_found("CCTV", "camera", ", ".join(missing), field=field)
    return [found[n] for n in numbers]


def camera_numbers(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(session.execute(select(Camera.id, Camera.management_number).where(Camera.id.in_(ids))).all())


def may(policy: Policy, principal: Principal, *permissions: str) -> bool:
    return any(decisions.role_has_permission(policy, principal.user.role, p).allowed for p in permissions)


def role_purposes(policy: Policy, principal: Principal) -> list[str]:
    """Purposes the caller's role may name (a department officer: their department's)."""
    role = policy.role(principal.user.role)
    if role.own_department:
        if not principal.user.department:
            return []
        return list(policy.department(principal.user.department).purposes)
    return list(role.purposes)


def _provision_rows(session: Session, items: list[Any]) -> list[dict[str, Any]]:
    now = utcnow()
    rows = [access.provision_dict(p, now) for p in items]
    numbers = camera_numbers(session, (c for r in rows for c in r["camera_ids"]))
    for r in rows:
        r["cameras"] = [(c, numbers.get(c, f"#{c}")) for c in r["camera_ids"]]
    return rows


def _visible_org(principal: Principal) -> str | None:
    # The police see their own organisation's requests; the district sees all (as the JSON API).
    return principal.user.organisation if principal.user.organisation != "district" else None


def provisions_context(session: Session, policy: Policy, principal: Principal, status: str | None) -> dict:
    rows = _provision_rows(session, access.list_provisions(session, organisation=_visible_org(principal),
                                                           status=status))
    for r in rows:  # the evidence package prepared on approval (provision.export_ref = its uid)
        package = evidence.package_by_uid(session, r["export_ref"])
        r["package"] = package.summary() if package is not None else None
    return {"rows": rows, "queue": [r for r in rows if r["status"] == "requested"], "status": status or ""}


def emergency_context(session: Session, policy: Policy, principal: Principal) -> dict:
    rows = [r for r in _provision_rows(session, access.list_provisions(session, organisation=_visible_org(principal)))
            if r["kind"] == "emergency"]
    pending = [r for r in rows if r["status"] == "emergency_open"]
    pending.sort(key=lambda r: r["document_due_at"] or r["created_at"])
    return {"pending": pending, "rows": [r for r in rows if r["status"] != "emergency_open"][:100]}


def usage_context(session: Session, policy: Policy, principal: Principal) -> dict:
    rows = _provision_rows(session, access.list_provisions(session, organisation=_visible_org(principal), limit=500))
    awaiting = [r for r in rows if r["status"] in RESULT_PENDING and r["usage_result_entered_at"] is None]
    awaiting.sort(key=lambda r: r["usage_result_due_at"] or r["created_at"])
    entered = [r for r in rows if r["usage_result_entered_at"] is not None][:100]
    overdue = access.overdue_items(session, policy)
    if principal.user.organisation != "district":
        overdue = [i for i in overdue if i.kind != "subject_request"]
    return {"awaiting": awaiting, "entered": entered, "overdue": [i.as_dict() for i in overdue]}


def statistics_context(session: Session, policy: Policy, since: datetime | None, until: datetime | None) -> dict:
    rows = access.usage_statistics(session, policy, since=since, until=until)
    rows.sort(key=lambda r: (r["month"], r["management_number"] or "", r["purpose"]), reverse=False)
    totals = {"uses": sum(r["uses"] for r in rows), "effective": sum(r["effective"] for r in rows)}
    return {"rows": rows, "totals": totals}


def subjects_context(session: Session, status: str | None) -> dict:
    now = utcnow()
    rows = [access.subject_dict(s, now) for s in access.list_subject_requests(session, status=status)]
    numbers = camera_numbers(session, (c for r in rows for c in r["camera_ids"]))
    for r in rows:
        r["cameras"] = [(c, numbers.get(c, f"#{c}")) for c in r["camera_ids"]]
    return {"rows": rows, "status": status or ""}


def ledger_context(session: Session, kind: str | None, since: datetime | None, until: datetime | None) -> dict:
    entries = ledger.list_entries(session, kind=kind, since=since, until=until, limit=LEDGER_PAGE)
    return {"rows": [ledger.entry_dict(e) for e in entries]}


@dataclass(frozen=True)
class PanelPurpose:
    code: str
    allowed: bool
    clause: str
    reason_ko: str
    reason_en: str


def panel_purposes(policy: Policy, principal: Principal, camera: Any) -> list[PanelPurpose]:
    """The camera's approved purposes, each with whether this caller's role may use it.

    The police test (Art. 9 ⑤) is left to the API: it depends on the incident named at opening.
    """
    user = principal.user
    approved = list(dict.fromkeys((camera.primary_purpose, *camera.secondary_purposes)))
    out = []
    for code in approved:
        d = decisions.may_view_video(policy, role=user.role, user_department=user.department, purpose=code,
                                     camera_purposes=approved, camera_department=camera.department,
                                     responding_incident_camera=True)
        out.append(PanelPurpose(code, d.allowed, d.clause, d.reason_ko, d.reason_en))
    return out


# ---------------------------------------------------------------- rendering helpers


def _tr(request: Request) -> Translator:
    return Translator(request_lang(request), request.app.state.policy)


def clause_line(policy: Policy, tr: Translator, clause: str | None) -> str | None:
    if not clause:
        return None
    try:
        c = policy.clause(clause)
    except LookupError:
        return clause
    return f"[{c.id}] {c.en if tr.lang == 'en' else c.ko}"


def error_view(policy: Policy, tr: Translator, exc: DomainError) -> dict[str, Any]:
    return {"message": exc.message_en if tr.lang == "en" else exc.message_ko,
            "clause": clause_line(policy, tr, exc.clause), "field": exc.field, "status": exc.status}


def _labels(tr: Translator, table: Any) -> list[tuple[str, str]]:
    return [(code, pair[1] if tr.lang == "en" else pair[0]) for code, pair in table.items()]


def _common(request: Request, policy: Policy, principal: Principal, tab: str) -> dict[str, Any]:
    tr = _tr(request)
    done = request.query_params.get("done")
    done_id = request.query_params.get("id")
    flash = None
    if done in DONE_KEYS:
        flash = tr(f"video.done.{done}") + (f" (#{done_id})" if done_id and done_id.isdigit() else "")
    return {
        "tabs": [(path, key) for path, key, perms in TABS if may(policy, principal, *perms)],
        "tab": tab,
        "flash": flash,
        "highlight": int(done_id) if done_id and done_id.isdigit() else None,
        "may": lambda *perms: may(policy, principal, *perms),
        "kst_input": kst_input,
        "clause_line": lambda c: clause_line(policy, tr, c),
        "pick": lambda pair: (pair or {}).get("en" if tr.lang == "en" else "ko", "") if isinstance(pair, dict) else "",
        "legal_grounds": _labels(tr, rules.LEGAL_GROUNDS),
        "legal_label": dict(_labels(tr, rules.LEGAL_GROUNDS)),
        "outcomes": _labels(tr, rules.USAGE_OUTCOMES),
        "outcome_label": dict(_labels(tr, rules.USAGE_OUTCOMES)),
        "identity_methods": _labels(tr, rules.IDENTITY_METHODS),
        "identity_label": dict(_labels(tr, rules.IDENTITY_METHODS)),
        "refusal_reasons": _labels(tr, rules.SUBJECT_REFUSAL_REASONS),
        "invalid_reasons": _labels(tr, rules.INVALID_REFUSAL_REASONS),
        "delay_reasons": _labels(tr, rules.SUBJECT_DELAY_REASONS),
        "ledger_kinds": _labels(tr, rules.LEDGER_KINDS),
        "ledger_kind_label": dict(_labels(tr, rules.LEDGER_KINDS)),
        "ledger_method_label": dict(_labels(tr, rules.LEDGER_METHODS)),
        "provision_statuses": _labels(tr, rules.PROVISION_STATUS),
        "subject_statuses": _labels(tr, rules.SUBJECT_STATUS),
        "my_purposes": role_purposes(policy, principal) or [p.code for p in policy.purposes],
        "now_input": kst_input(utcnow()),
    }


DONE_KEYS = frozenset({"requested", "document", "approved", "rejected", "emergency", "result", "subject",
                       "decided"})


async def _page(request: Request, principal: Principal, template: str, tab: str,
                build: Callable[[Session], dict], *, status_code: int = 200, **extra: Any) -> Response:
    policy = request.app.state.policy
    db = request.app.state.db

    def _read() -> dict:
        with db.reading() as session:
            return build(session)

    context = await run_in_threadpool(_read)
    return _render(request, template, principal, status_code, **_common(request, policy, principal, tab),
                   **context, **extra)


async def _submit(request: Request, principal: Principal, *, template: str, tab: str,
                  build: Callable[[Session], dict], action: Callable[[FormInput], Any],
                  prepare: Callable[[FormInput], Any] | None = None, form_name: str = "form") -> Response:
    """Parse the form, run one use case, and redirect to ``?done=…`` — or show the refusal on the page."""
    form = FormInput(await request.form())
    policy = request.app.state.policy
    try:
        # Files are read here, on the event loop; the use case runs in the thread pool.
        args = (form,) if prepare is None else (form, await prepare(form))
        target = await run_in_threadpool(action, *args)
    except DomainError as exc:
        return await _page(request, principal, template, tab, build, status_code=exc.status,
                           error=error_view(policy, _tr(request), exc), failed_form=form_name,
                           form=form.values())
    if isinstance(target, dict):  # something to show once (never in a URL): render, do not redirect
        return await _page(request, principal, template, tab, build, **target)
    return RedirectResponse(target, status_code=303)


def _publish(request: Request, events: list[dict]) -> None:
    if events:
        request.app.state.bus.publish_many(events)


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _done(path: str, key: str, object_id: int | None = None, anchor: str | None = None) -> str:
    query = {"done": key, **({"id": object_id} if object_id is not None else {})}
    return f"{path}?{urlencode(query)}" + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------- the hub


@router.get("/access")
def access_home(request: Request, principal: Anyone, policy: PolicyDep) -> Response:
    """The first video-governance page this person may use."""
    for path, _, perms in TABS:
        if may(policy, principal, *perms):
            return RedirectResponse(path, status_code=303)
    return RedirectResponse("/cameras", status_code=303)  # pragma: no cover - requires() let them in


# ---------------------------------------------------------------- live-view panel (camera detail)


@router.get("/cameras/{camera_id}/video-panel")
def video_panel(camera_id: int, request: Request, principal: Viewer, db: DB, policy: PolicyDep,
                purpose: str | None = None, incident_id: str | None = None,
                provision_id: str | None = None) -> Response:
    """The live view / snapshot / playback panel of a camera's page (an htmx partial)."""
    with db.reading() as session:
        camera = registry.camera_read(registry.get_camera(session, camera_id))
    purposes = panel_purposes(policy, principal, camera)
    usable = [p for p in purposes if p.allowed]
    tr = _tr(request)
    refused = None
    if not usable and purposes:
        first = purposes[0]
        refused = {"message": first.reason_en if tr.lang == "en" else first.reason_ko,
                   "clause": clause_line(policy, tr, first.clause)}
    incident_only = policy.role(principal.user.role).organisation in policy.access.incident_only_organisations
    chosen = purpose if any(p.code == purpose for p in usable) else (usable[0].code if usable else "")
    return _render(request, "video/live_panel.html", principal, camera=camera, usable=usable, refused=refused,
                   chosen=chosen, incident_only=incident_only,
                   incident_id=incident_id if (incident_id or "").isdigit() else "",
                   provision_id=provision_id if (provision_id or "").isdigit() else "",
                   default_start=kst_input(utcnow() - timedelta(minutes=10)),
                   default_end=kst_input(utcnow()))


# ---------------------------------------------------------------- provision to the police


def _provisions_build(request: Request, principal: Principal) -> Callable[[Session], dict]:
    policy = request.app.state.policy
    status = request.query_params.get("status") or None
    if status not in rules.PROVISION_STATUS:
        status = None
    return lambda session: provisions_context(session, policy, principal, status)


@router.get("/access/provisions")
async def provisions_page(request: Request, principal: ProvisionReader) -> Response:
    return await _page(request, principal, "video/provisions.html", "/access/provisions",
                       _provisions_build(request, principal))


async def _read_scan(form: FormInput, *, required: bool) -> bytes | None:
    upload = form.file("file")
    if upload is None:
        if required:
            raise ValidationFailed("공문 사본 파일을 첨부하세요", "attach the official document scan", field="file")
        return None
    data = await upload.read(rules.MAX_DOCUMENT_BYTES + 1)
    rules.sniff_document(data)  # refuse a bad scan before anything is recorded
    return data


def _documents_dir(request: Request):  # noqa: ANN202
    return request.app.state.settings.var_dir / "documents"


# The request form carries its scan, so it posts to a path ending in /document: the app gives
# such paths the upload size limit (gwanje.web.app.UPLOAD_PATHS) instead of the form limit.
@router.post("/access/provisions/document")
async def request_provision(request: Request, principal: Requester) -> Response:
    """A police request for footage: cameras, KST period, purpose, legal ground, document number and scan."""
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user

    async def prepare(form: FormInput) -> bytes:
        return await _read_scan(form, required=True)

    def action(form: FormInput, scan: bytes) -> str:
        numbers = form.words("cameras")
        with db.reading() as session:
            ids = camera_ids_by_number(session, numbers)
        number = form.text("document_number", 100, required=True)
        p = access.request_provision(db, policy, user, access.RequestProvision(
            camera_ids=tuple(ids), period_start=form.kst("period_start"), period_end=form.kst("period_end"),
            purpose=form.text("purpose", 40, required=True), legal_ground=form.text("legal_ground", 40, required=True),
            reason=form.text("reason", 2000, required=True), document_number=number,
            incident_id=form.number("incident_id")), request_id=_rid(request))
        access.attach_document(db, policy, user, p.id, document_number=number, data=scan,
                               documents_dir=_documents_dir(request), request_id=_rid(request))
        return _done("/access/provisions", "requested", p.id, f"p{p.id}")

    return await _submit(request, principal, template="video/provisions.html", tab="/access/provisions",
                         build=_provisions_build(request, principal), action=action, prepare=prepare,
                         form_name="request")


@router.post("/access/provisions/{provision_id}/document")
async def upload_document(provision_id: int, request: Request, principal: Requester) -> Response:
    """The official document's scan for a request or an emergency access ('document pending')."""
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user
    back = "/access/emergency" if request.query_params.get("from") == "emergency" else "/access/provisions"

    async def prepare(form: FormInput) -> bytes:
        return await _read_scan(form, required=True)

    def action(form: FormInput, scan: bytes) -> str:
        access.attach_document(db, policy, user, provision_id,
                               document_number=form.text("document_number", 100, required=True) or "",
                               data=scan, documents_dir=_documents_dir(request), request_id=_rid(request))
        return _done(back, "document", provision_id, f"p{provision_id}")

    if back == "/access/emergency":
        return await _submit(request, principal, template="video/emergency.html", tab=back,
                             build=_emergency_build(request, principal), action=action, prepare=prepare,
                             form_name=f"document-{provision_id}")
    return await _submit(request, principal, template="video/provisions.html", tab=back,
                         build=_provisions_build(request, principal), action=action, prepare=prepare,
                         form_name=f"document-{provision_id}")


@router.post("/access/provisions/{provision_id}/decision")
async def decide_provision(provision_id: int, request: Request, principal: Approver) -> Response:
    """The district IT officer approves or rejects, always with a reason."""
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user

    def action(form: FormInput) -> str:
        decision = form.text("decision", 10, required=True)
        if decision not in ("approve", "reject"):
            raise ValidationFailed("승인 또는 거부를 선택하세요", "choose approve or reject", field="decision")
        p, events = access.decide_provision(db, policy, user, provision_id, approve=decision == "approve",
                                            reason=form.text("reason", 2000, required=True) or "",
                                            request_id=_rid(request))
        _publish(request, events)
        if decision == "approve":  # approval prepares the export; the password is shown on this answer only
            return _try_export(request, principal, provision_id, _flag(form, "mask_faces"), approved=True)
        return _done("/access/provisions", "rejected", p.id, f"p{p.id}")

    return await _submit(request, principal, template="video/provisions.html", tab="/access/provisions",
                         build=_provisions_build(request, principal), action=action,
                         form_name=f"decision-{provision_id}")


@router.post("/access/provisions/{provision_id}/export")
async def prepare_export(provision_id: int, request: Request, principal: Approver) -> Response:
    """Retry preparing an approved provision's export (e.g. once the recordings are in place)."""

    def action(form: FormInput) -> dict:
        return _try_export(request, principal, provision_id, _flag(form, "mask_faces"), approved=False)

    return await _submit(request, principal, template="video/provisions.html", tab="/access/provisions",
                         build=_provisions_build(request, principal), action=action,
                         form_name=f"export-{provision_id}")


@router.post("/access/provisions/{provision_id}/download")
async def download_package(provision_id: int, request: Request, principal: Requester) -> Response:
    """The recipient's own download: a fresh single-use, 15-minute link, issued to them and followed."""
    db, user = request.app.state.db, principal.user

    def action(form: FormInput) -> str:
        with db.reading() as session:
            p = access.get_provision(session, provision_id)
            package = evidence.package_by_uid(session, p.export_ref) if p.requester_id == user.id else None
            package_id = package.id if package is not None else None
        if package_id is None:
            raise not_found("반출 패키지", "export package", provision_id, field="provision_id")
        token, _ = evidence.issue_recipient_link(db, package_id, user, principal.actor(request))
        return f"/api/evidence/{package_id}/download?{urlencode({'token': token})}"

    return await _submit(request, principal, template="video/provisions.html", tab="/access/provisions",
                         build=_provisions_build(request, principal), action=action,
                         form_name=f"download-{provision_id}")


def _flag(form: FormInput, name: str) -> bool:
    return (form.text(name, 10) or "").lower() in ("yes", "on", "true", "1")


def _try_export(request: Request, principal: Principal, provision_id: int, mask_faces: bool, *,
                approved: bool) -> dict[str, Any]:
    """Prepare the export in its own transactions; a failure is shown, never undoing the approval."""
    tr, policy = _tr(request), request.app.state.policy
    view: dict[str, Any] = {"provision_id": provision_id, "approved": approved, "prepared": False}
    status = 200
    try:
        made = evidence.prepare_provision_export(
            request.app.state.db, policy, principal.user, provision_id, mask_faces=mask_faces,
            var_dir=request.app.state.settings.var_dir, secret_key=request.app.state.secret_key,
            request_id=_rid(request))
    except DomainError as exc:
        view["error"] = error_view(policy, tr, exc)
        status = 200 if approved else exc.status
    except Exception:  # the approval is committed: say what happened rather than answer 500
        log.exception("preparing the export of provision %s failed", provision_id)
        view["error"] = {"message": "내부 오류 — 관리자에게 문의하십시오" if tr.lang != "en"
                         else "internal error — contact the administrator", "clause": None}
        status = 200 if approved else 500
    else:
        view.update(prepared=True, package=made.package.record, password=made.package.password,
                    missing=list(made.cameras_without_recordings))
    return {"export_result": view, "status_code": status}


# ---------------------------------------------------------------- emergency access (Art. 11 ①)


def _emergency_build(request: Request, principal: Principal) -> Callable[[Session], dict]:
    policy = request.app.state.policy
    return lambda session: emergency_context(session, policy, principal)


@router.get("/access/emergency")
async def emergency_page(request: Request, principal: EmergencyReader) -> Response:
    return await _page(request, principal, "video/emergency.html", "/access/emergency",
                       _emergency_build(request, principal),
                       due_hours=request.app.state.policy.access.document_due_hours)


@router.post("/access/emergency")
async def open_emergency(request: Request, principal: EmergencyOpener) -> Response:
    """Access at once with a stated reason; the official document is then due (shown on this page)."""
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user

    def action(form: FormInput) -> str:
        numbers = form.words("cameras")
        with db.reading() as session:
            ids = camera_ids_by_number(session, numbers)
        p, events = access.open_emergency_access(db, policy, user, access.OpenEmergencyAccess(
            camera_ids=tuple(ids), period_start=form.kst("period_start"), period_end=form.kst("period_end"),
            purpose=form.text("purpose", 40, required=True), legal_ground=form.text("legal_ground", 40, required=True),
            reason=form.text("reason", 2000, required=True), incident_id=form.number("incident_id")),
            request_id=_rid(request))
        _publish(request, events)
        return _done("/access/emergency", "emergency", p.id, f"p{p.id}")

    return await _submit(request, principal, template="video/emergency.html", tab="/access/emergency",
                         build=_emergency_build(request, principal), action=action, form_name="emergency")


# ---------------------------------------------------------------- usage results (Art. 11 ②)


def _usage_build(request: Request, principal: Principal) -> Callable[[Session], dict]:
    policy = request.app.state.policy
    return lambda session: usage_context(session, policy, principal)


@router.get("/access/usage-results")
async def usage_page(request: Request, principal: ResultReader) -> Response:
    return await _page(request, principal, "video/usage_results.html", "/access/usage-results",
                       _usage_build(request, principal))


@router.post("/access/provisions/{provision_id}/usage-result")
async def enter_usage_result(provision_id: int, request: Request, principal: ResultEnterer) -> Response:
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user

    def action(form: FormInput) -> str:
        access.enter_usage_result(db, policy, user, provision_id,
                                  used_for=form.text("used_for", 2000, required=True) or "",
                                  outcome=form.text("outcome", 40, required=True) or "", request_id=_rid(request))
        return _done("/access/usage-results", "result", provision_id, f"p{provision_id}")

    return await _submit(request, principal, template="video/usage_results.html", tab="/access/usage-results",
                         build=_usage_build(request, principal), action=action, form_name=f"result-{provision_id}")


# ---------------------------------------------------------------- statistics


@router.get("/access/statistics")
async def statistics_page(request: Request, principal: StatsReader) -> Response:
    """Usage results per camera, purpose and month (KST): the CCTV performance table."""
    policy = request.app.state.policy
    since_text, until_text = request.query_params.get("since", ""), request.query_params.get("until", "")
    error = None
    try:
        since = parse_month(since_text, "since")
        until = parse_month(until_text, "until", end=True)
    except DomainError as exc:
        since = until = None
        error = error_view(policy, _tr(request), exc)
    return await _page(request, principal, "video/statistics.html", "/access/statistics",
                       lambda session: statistics_context(session, policy, since, until),
                       status_code=422 if error else 200, error=error,
                       filters={"since": since_text[:7], "until": until_text[:7]})


# ---------------------------------------------------------------- data-subject requests (PIPA Art. 35)


def _subjects_build(request: Request) -> Callable[[Session], dict]:
    status = request.query_params.get("status") or None
    if status not in rules.SUBJECT_STATUS:
        status = None
    return lambda session: subjects_context(session, status)


@router.get("/access/subject-requests")
async def subjects_page(request: Request, principal: SubjectHandler) -> Response:
    return await _page(request, principal, "video/subject_requests.html", "/access/subject-requests",
                       _subjects_build(request))


@router.post("/access/subject-requests")
async def take_subject_request(request: Request, principal: SubjectHandler) -> Response:
    """Intake after the officer has checked the requester's identity (the form says how)."""
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user

    def action(form: FormInput) -> str:
        if form.text("identity_checked", 10) != "yes":
            raise ValidationFailed("신분증 등으로 본인 여부를 확인한 뒤 접수하세요",
                                   "check the requester's identity before taking the request",
                                   field="identity_checked", clause=access.PIPA_35)
        numbers = form.words("cameras")
        with db.reading() as session:
            ids = camera_ids_by_number(session, numbers)
        s = access.take_subject_request(db, policy, user, access.TakeSubjectRequest(
            requester_name=form.text("requester_name", 120, required=True) or "",
            requester_contact=form.text("requester_contact", 200),
            identity_method=form.text("identity_method", 40, required=True) or "",
            camera_ids=tuple(ids), period_start=form.kst("period_start"), period_end=form.kst("period_end"),
            description=form.text("description", 2000), received_at=form.kst("received_at", required=False)),
            request_id=_rid(request))
        return _done("/access/subject-requests", "subject", s.id, f"s{s.id}")

    return await _submit(request, principal, template="video/subject_requests.html",
                         tab="/access/subject-requests", build=_subjects_build(request), action=action,
                         form_name="intake")


@router.post("/access/subject-requests/{subject_id}/decision")
async def decide_subject_request(subject_id: int, request: Request, principal: SubjectHandler) -> Response:
    """Provided (others masked), delayed with a reason, or refused on a lawful ground only."""
    db, policy, user = request.app.state.db, request.app.state.policy, principal.user

    def action(form: FormInput) -> str:
        outcome = form.text("outcome", 20, required=True) or ""
        method = form.text("method", 40) or "viewing_in_person"
        access.decide_subject_request(db, policy, user, subject_id, outcome=outcome,
                                      reason=form.text("reason", 40), note=form.text("note", 2000),
                                      method=method, request_id=_rid(request))
        return _done("/access/subject-requests", "decided", subject_id, f"s{subject_id}")

    return await _submit(request, principal, template="video/subject_requests.html",
                         tab="/access/subject-requests", build=_subjects_build(request), action=action,
                         form_name=f"decision-{subject_id}")


# ---------------------------------------------------------------- ledgers


@router.get("/ledgers")
async def ledgers_page(request: Request, principal: LedgerReader) -> Response:
    """The video ledgers (use, provision, viewing, destruction), filtered, with XLSX and PDF downloads."""
    policy = request.app.state.policy
    q = request.query_params
    kind = q.get("kind") if q.get("kind") in rules.LEDGER_KINDS else None
    since_text, until_text = (q.get("since") or "")[:10], (q.get("until") or "")[:10]
    error = None
    try:
        since = parse_kst_day(since_text, "since")
        until = parse_kst_day(until_text, "until", end=True)
    except DomainError as exc:
        since = until = None
        since_text = until_text = ""
        error = error_view(policy, _tr(request), exc)
    export = {k: v for k, v in (("kind", kind), ("since", since and since.isoformat()),
                                ("until", until and until.isoformat())) if v}
    query = urlencode(export)
    return await _page(request, principal, "video/ledgers.html", "/ledgers",
                       lambda session: ledger_context(session, kind, since, until),
                       status_code=422 if error else 200, error=error, limit=LEDGER_PAGE,
                       filters={"kind": kind or "", "since": since_text, "until": until_text},
                       xlsx_url="/api/ledgers/export.xlsx" + (f"?{query}" if query else ""),
                       pdf_url="/api/ledgers/export.pdf" + (f"?{query}" if query else ""))


__all__ = ["install", "router", "parse_kst", "camera_ids_by_number"]
