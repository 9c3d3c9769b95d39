"""What happens to situations, as typed domain events (recorded by the use cases in ``service.py``).

Every change to an incident is one event class named for what happened; each carries the incident
as the board shows it (:func:`gwanje.situations.schemas.incident_view`, plain JSON values), so a
console can redraw the row without asking. ``change`` is the word the browser receives
(``{"kind": "incident", "change": ..., "incident": ...}``, see :func:`to_browser`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gwanje.core.events import DomainEvent


@dataclass(frozen=True)
class IncidentChange(DomainEvent):
    """Base of the incident events: not sent itself (it has no ``kind``)."""

    change: ClassVar[str] = ""
    incident: dict[str, Any]

    @property
    def incident_id(self) -> int:
        return self.incident["id"]


@dataclass(frozen=True)
class IncidentRaised(IncidentChange):
    kind: ClassVar[str] = "incident.raised"
    change: ClassVar[str] = "created"


@dataclass(frozen=True)
class IncidentAcknowledged(IncidentChange):
    kind: ClassVar[str] = "incident.acknowledged"
    change: ClassVar[str] = "acknowledge"


@dataclass(frozen=True)
class IncidentHandedOver(IncidentChange):
    kind: ClassVar[str] = "incident.handed_over"
    change: ClassVar[str] = "hand_over"


@dataclass(frozen=True)
class PatrolDispatched(IncidentChange):
    kind: ClassVar[str] = "incident.dispatched"
    change: ClassVar[str] = "dispatch"


@dataclass(frozen=True)
class IncidentResolved(IncidentChange):
    kind: ClassVar[str] = "incident.resolved"
    change: ClassVar[str] = "resolve"


@dataclass(frozen=True)
class IncidentClosed(IncidentChange):
    kind: ClassVar[str] = "incident.closed"
    change: ClassVar[str] = "close"


@dataclass(frozen=True)
class IncidentMarkedFalseAlarm(IncidentChange):
    kind: ClassVar[str] = "incident.false_alarm"
    change: ClassVar[str] = "false_alarm"


@dataclass(frozen=True)
class IncidentCancelled(IncidentChange):
    kind: ClassVar[str] = "incident.cancelled"
    change: ClassVar[str] = "cancel"


@dataclass(frozen=True)
class IncidentTaken(IncidentChange):
    """A responder took the incident: the only incident-only user it grants a view to (Art. 9 ⑤)."""

    kind: ClassVar[str] = "incident.taken"
    change: ClassVar[str] = "take"


@dataclass(frozen=True)
class IncidentReviewed(IncidentChange):
    """The operator reviewed a situation the police reported by hand: it may now ground a view."""

    kind: ClassVar[str] = "incident.reviewed"
    change: ClassVar[str] = "review"


@dataclass(frozen=True)
class CameraAttached(IncidentChange):
    """A camera was attached to the incident (on its timeline, seen by the district)."""

    kind: ClassVar[str] = "incident.camera_attached"
    change: ClassVar[str] = "camera.attached"
    camera_id: int = 0


@dataclass(frozen=True)
class IncidentEscalated(IncidentChange):
    kind: ClassVar[str] = "incident.escalated"
    change: ClassVar[str] = "escalated"


@dataclass(frozen=True)
class SopStepDone(IncidentChange):
    kind: ClassVar[str] = "incident.sop_done"
    change: ClassVar[str] = "sop.done"
    step: str = ""


@dataclass(frozen=True)
class SopStepSkipped(IncidentChange):
    kind: ClassVar[str] = "incident.sop_skipped"
    change: ClassVar[str] = "sop.skipped"
    step: str = ""


# The action of the state machine (rules.ACTIONS) -> the event that records it.
ACTION_EVENTS: dict[str, type[IncidentChange]] = {
    cls.change: cls
    for cls in (
        IncidentAcknowledged,
        IncidentHandedOver,
        PatrolDispatched,
        IncidentResolved,
        IncidentClosed,
        IncidentMarkedFalseAlarm,
        IncidentCancelled,
        IncidentTaken,
        IncidentReviewed,
    )
}


@dataclass(frozen=True)
class SupervisorAlerted(DomainEvent):
    """Someone must look now (a required SOP step was skipped); only ``to_roles`` receive it."""

    kind: ClassVar[str] = "incident.supervisor_alerted"
    to_roles: tuple[str, ...]
    incident_id: int
    message: dict[str, str]  # {"ko": ..., "en": ...}


@dataclass(frozen=True)
class MessageRejected(DomainEvent):
    """A device message was kept in the inbox with its error instead of being used."""

    kind: ClassVar[str] = "inbox.rejected"
    inbox_id: int
    source: str
    type: str | None
    error: str
    rule: str | None = None  # a video-analytics message's rule: with the type, the situation it raises


@dataclass(frozen=True)
class CameraFaulted(DomainEvent):
    """A device reported a camera fault and the registry now shows it as faulty."""

    kind: ClassVar[str] = "camera.faulted"
    camera_id: int
    management_number: str
    status: ClassVar[str] = "fault"


@dataclass(frozen=True)
class CameraRecovered(DomainEvent):
    """A device reported a camera working again."""

    kind: ClassVar[str] = "camera.recovered"
    camera_id: int
    management_number: str
    status: ClassVar[str] = "active"


def to_browser(event: DomainEvent) -> dict[str, Any]:
    """The message a console receives over ``WS /api/live`` (what ``static/js/board.js`` reads)."""
    if isinstance(event, IncidentChange):
        return {"kind": "incident", "change": event.change, "incident": event.incident}
    if isinstance(event, (CameraFaulted, CameraRecovered)):
        return {"kind": "camera.status", "camera_id": event.camera_id, "status": event.status}
    body = event.to_wire()
    if isinstance(getattr(event, "to_roles", None), tuple):
        body["kind"] = "alert"
    return body
