"""What happens to the registry, as typed domain events (recorded by the use cases in ``service.py``).

The unit of work publishes them after commit; the app's camera index listens (a camera added, moved
or retired makes the nearest-camera index stale, in this instance and, over NATS, in the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gwanje.core.events import DomainEvent


@dataclass(frozen=True)
class CameraEvent(DomainEvent):
    """Base of the registry's camera events (not sent itself: it has no ``kind``)."""

    camera_id: int
    management_number: str


@dataclass(frozen=True)
class CameraRegistered(CameraEvent):
    kind: ClassVar[str] = "camera.registered"


@dataclass(frozen=True)
class CameraUpdated(CameraEvent):
    kind: ClassVar[str] = "camera.updated"
    fields: tuple[str, ...] = ()  # the fields that changed


@dataclass(frozen=True)
class CameraRetired(CameraEvent):
    kind: ClassVar[str] = "camera.retired"


@dataclass(frozen=True)
class StandardDataImported(DomainEvent):
    """A national standard-data file was applied (sites and cameras added, changed or retired)."""

    kind: ClassVar[str] = "registry.imported"
    file_sha256: str
    imported: int
    updated: int
    cameras_added: int
    cameras_retired: int


@dataclass(frozen=True)
class RegistrySeeded(DomainEvent):
    kind: ClassVar[str] = "registry.seeded"
    sites: int
    cameras: int


CAMERA_SET_CHANGES = (CameraRegistered, CameraUpdated, CameraRetired, StandardDataImported, RegistrySeeded)
