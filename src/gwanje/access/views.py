"""Console pages of video access governance: the hub that opens the first page a person may use;
the parts' pages (provisions, subject requests, ledgers) are in their own ``views.py`` and registered
with it through :data:`routers`. Their shared frame is :mod:`gwanje.access.pages`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gwanje.access.ledger import views as ledger_views
from gwanje.access.pages import ANY_TAB, first_tab
from gwanje.access.provisions import views as provisions_views
from gwanje.access.subjects import views as subjects_views
from gwanje.http.deps import PolicyDep, Principal, requires

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Anyone = Annotated[Principal, Depends(requires(*ANY_TAB))]


@router.get("/access")
def access_home(principal: Anyone, policy: PolicyDep) -> Response:
    """The first video-governance page this person may use."""
    return RedirectResponse(first_tab(policy, principal) or "/cameras", status_code=303)


routers = [router, provisions_views.router, subjects_views.router, ledger_views.router]
