"""What happens in video access governance, as typed domain events (recorded by the use cases).

Events that someone must see at once carry ``to_roles`` and a ``message`` (``{"ko": …, "en": …}``):
the live feed gives them, as an alert, only to viewers whose role is among ``to_roles``. Values are
plain JSON (times as ISO 8601 text) so the events travel over NATS unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gwanje.core.events import DomainEvent


@dataclass(frozen=True)
class ProvisionApproved(DomainEvent):
    """A provision request was approved: its export is due to the requester."""

    kind: ClassVar[str] = "provision.approved"
    provision_id: int
    camera_ids: tuple[int, ...]
    period_start: str
    period_end: str
    purpose: str
    requester_id: int


@dataclass(frozen=True)
class ProvisionDecided(DomainEvent):
    """The requester hears that their request was approved or rejected, and why."""

    kind: ClassVar[str] = "provision.decided"
    to_roles: tuple[str, ...]
    provision_id: int
    approved: bool
    message: dict[str, str]


@dataclass(frozen=True)
class EmergencyAccessOpened(DomainEvent):
    """Art. 11 ①: video was opened at once; the approvers hear of it and of the document's deadline."""

    kind: ClassVar[str] = "provision.emergency_opened"
    to_roles: tuple[str, ...]
    provision_id: int
    document_due_at: str
    message: dict[str, str]


@dataclass(frozen=True)
class DeadlineMissed(DomainEvent):
    """An emergency's document, a usage result or a subject request went past its deadline
    (sent once per item)."""

    kind: ClassVar[str] = "access.deadline_missed"
    to_roles: tuple[str, ...]
    overdue: str  # document | usage_result | subject_request
    object_id: int
    due_at: str
    clause: str
    message: dict[str, str]
