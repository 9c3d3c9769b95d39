"""Access request dependencies: the request id for the audit chain, where official documents and
exports are kept, and the provision a caller may see (scope as a dependency, not a check in a route)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from gwanje.access.models import ProvisionRequest
from gwanje.access.provisions import service as provisions
from gwanje.http.deps import DB, PolicyDep, Principal, requires


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


RequestId = Annotated[str | None, Depends(request_id)]


def documents_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir) / "documents"


DocumentsDir = Annotated[Path, Depends(documents_dir)]


@dataclass(frozen=True)
class ExportPlace:
    """Where the evidence side writes a provision's export, and the key it signs it with."""

    var_dir: Path
    secret_key: str


def export_place(request: Request) -> ExportPlace:
    return ExportPlace(Path(request.app.state.settings.var_dir), request.app.state.secret_key)


Exporting = Annotated[ExportPlace, Depends(export_place)]

ProvisionReader = Annotated[Principal, Depends(requires("video.provision.request", "video.provision.approve"))]


def visible_provision(provision_id: int, principal: ProvisionReader, db: DB, policy: PolicyDep) -> ProvisionRequest:
    """The provision request in the path, if the caller's organisation may see it (the operator's
    staff see every organisation's; others only their own — another's is 'not found')."""
    return provisions.get_visible_provision(db, policy, principal.user, provision_id)


VisibleProvision = Annotated[ProvisionRequest, Depends(visible_provision)]
