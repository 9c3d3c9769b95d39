"""Situations request dependencies: who may read or work situations, and the incident a caller may see.

Routes take the incident as a parameter (:data:`VisibleIncident`, :data:`WorkableIncident`); the
dependency loads it and refuses, citing the clause, when the caller's role may not see it on the
board. Routes declare these instead of checking scope or loading the incident themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.situations import service
from gwanje.situations.models import Incident

# One instance each, so a route that asks for the principal and for the incident authenticates once.
_reader = requires("situations.read")
_responder = requires("situations.respond")

Reader = Annotated[Principal, Depends(_reader)]
Responder = Annotated[Principal, Depends(_responder)]


def _visible(incident_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> Incident:
    return service.visible_incident(db, policy, principal.user.role, principal.user.department, incident_id)


def _workable(incident_id: Id, principal: Responder, db: DB, policy: PolicyDep) -> Incident:
    return service.visible_incident(db, policy, principal.user.role, principal.user.department, incident_id)


VisibleIncident = Annotated[Incident, Depends(_visible)]
"""The path's incident, for a caller who may read situations and see this one (403 with the clause otherwise)."""

WorkableIncident = Annotated[Incident, Depends(_workable)]
"""The path's incident, for a caller who may respond to situations and sees this one."""
