"""Provision request dependencies: the provision a caller may see (scope as a dependency, not a
check in a route)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gwanje.access.models import ProvisionRequest
from gwanje.access.provisions import service
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires

ProvisionReader = Annotated[Principal, Depends(requires("video.provision.request", "video.provision.approve"))]


def visible_provision(provision_id: Id, principal: ProvisionReader, db: DB, policy: PolicyDep) -> ProvisionRequest:
    """The provision request in the path, if the caller's organisation may see it (the operator's
    staff see every organisation's; others only their own — another's is 'not found')."""
    return service.get_visible_provision(db, policy, principal.user, provision_id)


VisibleProvision = Annotated[ProvisionRequest, Depends(visible_provision)]
