"""Registry request dependencies: who may read or change cameras, the camera scope a caller may
change, and the camera a route is about.

Routes declare these instead of checking scope or loading the camera themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gwanje.core.crypto import SecretBox
from gwanje.core.errors import NotFound
from gwanje.core.revisions import RevisionCache
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.policy import decisions
from gwanje.registry import service
from gwanje.registry.schemas import CameraRead
from gwanje.registry.service import Scope
from gwanje.registry.spatial import CameraIndex, CameraIndexCache
from gwanje.ui.i18n import Translator

# One instance each, so a route that asks for the principal and for a scope authenticates once.
_reader = requires("registry.read")
_writer = requires("registry.write", "registry.write_own_department")
_report_reader = requires("reports.read")

Reader = Annotated[Principal, Depends(_reader)]
Writer = Annotated[Principal, Depends(_writer)]
ReportReader = Annotated[Principal, Depends(_report_reader)]
READ = Depends(_reader)


def write_scope(principal: Principal, policy) -> Scope:  # noqa: ANN001
    """Department officers change only their own department's cameras; registry writers change any."""
    if decisions.role_has_permission(policy, principal.user.role, "registry.write").allowed:
        return Scope()
    return Scope(department=principal.user.department or "\0none")


def _write_scope(policy: PolicyDep, principal: Writer) -> Scope:
    return write_scope(principal, policy)


WriteScope = Annotated[Scope, Depends(_write_scope)]


def get_credentials_box(request: Request) -> SecretBox:
    """Seals and opens camera stream credentials (``app.state.credentials``, made by the app factory)."""
    return request.app.state.credentials


CredentialsBox = Annotated[SecretBox, Depends(get_credentials_box)]


async def get_registry_cache(request: Request) -> RevisionCache:
    """Search pages and map GeoJSON as sent, kept while the registry's revision stands (``app.state``)."""
    return request.app.state.registry_cache


RegistryCache = Annotated[RevisionCache, Depends(get_registry_cache)]


def _camera(camera_id: Id, _: Reader, db: DB) -> CameraRead:
    with db.reading() as session:
        return service.read_camera(session, camera_id)


ReadableCamera = Annotated[CameraRead, Depends(_camera)]
"""The camera of the path's ``camera_id``, for a caller who may read the registry (404 otherwise)."""


def _console_camera(camera_id: Id, _: Reader, db: DB, policy: PolicyDep) -> CameraRead:
    try:
        return _camera(camera_id, _, db)
    except NotFound:
        # The console says it in its own words (the API names the id it did not find).
        raise NotFound(
            Translator("ko", policy)("camera.not_found"), Translator("en", policy)("camera.not_found")
        ) from None


ConsoleCamera = Annotated[CameraRead, Depends(_console_camera)]


def camera_index(request: Request) -> CameraIndex:
    """The app's in-memory nearest-camera index (``state.camera_index``); made on first use where there is none."""
    cache = getattr(request.app.state, "camera_index", None)
    if cache is None:
        cache = request.app.state.camera_index = CameraIndexCache(request.app.state.db)
    return cache.get()


CameraIndexDep = Annotated[CameraIndex, Depends(camera_index)]
