"""Console pages of video: the live view / snapshot / playback panel of a camera's page.

``static/js/video.js`` drives the pictures against the JSON video API, which authorises and audits
each opening itself; this panel only offers the purposes the caller's role may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from gwanje.core.clock import utcnow
from gwanje.http.deps import PolicyDep, Principal, requires
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.registry.deps import ReadableCamera
from gwanje.ui.i18n import Translator
from gwanje.ui.forms import kst_input
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Viewer = Annotated[Principal, Depends(requires("registry.read"))]


@dataclass(frozen=True)
class PanelPurpose:
    code: str
    allowed: bool
    clause: str
    reason_ko: str
    reason_en: str


def panel_purposes(policy: Policy, principal: Principal, camera: Any) -> list[PanelPurpose]:
    """The camera's approved purposes, each with whether this caller's role may use it.

    The incident test (Art. 9 ⑤) is left to the API: it depends on the incident named at opening.
    """
    user = principal.user
    approved = list(dict.fromkeys((camera.primary_purpose, *camera.secondary_purposes)))
    out = []
    for code in approved:
        d = decisions.may_view_video(
            policy,
            role=user.role,
            user_department=user.department,
            purpose=code,
            camera_purposes=approved,
            camera_department=camera.department,
            responding_incident_camera=True,
        )
        out.append(PanelPurpose(code, d.allowed, d.clause, d.reason_ko, d.reason_en))
    return out


def _clause_line(policy: Policy, lang: str, clause: str | None) -> str | None:
    """A clause as people cite it (its name and text, never the bare id): :meth:`Translator.clause`."""
    return Translator(lang, policy).clause(clause) or None


@router.get("/cameras/{camera_id}/video-panel")
def video_panel(
    request: Request,
    principal: Viewer,
    camera: ReadableCamera,
    policy: PolicyDep,
    purpose: str | None = None,
    incident_id: str | None = None,
    provision_id: str | None = None,
) -> Response:
    """The live view / snapshot / playback panel of a camera's page (an htmx partial)."""
    purposes = panel_purposes(policy, principal, camera)
    usable = [p for p in purposes if p.allowed]
    tr = translator(request)
    refused = None
    if not usable and purposes:
        first = purposes[0]
        refused = {
            "message": first.reason_en if tr.lang == "en" else first.reason_ko,
            "clause": _clause_line(policy, tr.lang, first.clause),
        }
    chosen = purpose if any(p.code == purpose for p in usable) else (usable[0].code if usable else "")
    return render(
        request,
        "video/live_panel.html",
        principal,
        camera=camera,
        usable=usable,
        refused=refused,
        chosen=chosen,
        incident_only=decisions.is_incident_only(policy, principal.user.role),
        incident_id=incident_id if (incident_id or "").isdigit() else "",
        provision_id=provision_id if (provision_id or "").isdigit() else "",
        default_start=kst_input(utcnow() - timedelta(minutes=10)),
        default_end=kst_input(utcnow()),
    )


routers = [router]
