"""Request and response models of the situations API, and the one view of an incident.

:func:`incident_view` is the only place that turns an incident into what a console shows: the
JSON API (:class:`IncidentRead`), the live feed's snapshot and every incident event carry it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from gwanje.core.schemas import StrictModel
from gwanje.situations import rules, titles

Note = Annotated[str, StringConstraints(max_length=2000)]


# ---- requests ----------------------------------------------------------------------------------


class IncidentActionCreate(StrictModel):
    """An action on an incident (``POST /api/incidents/{id}/actions/{action}``)."""

    note: Note | None = None
    unit: Annotated[str, StringConstraints(max_length=60)] | None = None


class SopStepUpdate(StrictModel):
    """Tick a checklist step (empty body) or skip it with a reason."""

    skip_reason: Note | None = None


class IncidentCreate(StrictModel):
    """A situation an operator reports by hand (seen on screen, or by phone)."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    latitude: float | None = None
    longitude: float | None = None
    camera: Annotated[str, StringConstraints(max_length=120)] | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


# ---- the incident as a console sees it -----------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def incident_view(incident: Any) -> dict[str, Any]:
    """What the board shows of an incident, in plain JSON values (times as ISO 8601 text).

    ``title`` is the stored text (codes as the device sent them); ``title_label`` is the title built
    in Korean and in English from the device message (:mod:`gwanje.situations.titles`)."""
    details = json.loads(incident.details or "{}")
    return {
        "id": incident.id,
        "type": incident.type,
        "status": incident.status,
        "title": incident.title,
        "title_label": titles.incident_titles(incident.title, details if isinstance(details, dict) else {}),
        "source": incident.source,
        "device_id": incident.device_id,
        "camera_id": incident.camera_id,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "responsible_org": incident.responsible_org,
        "recognising_org": incident.recognising_org,
        "recognising_role": incident.recognising_role,
        "responding_org": incident.responding_org,
        "responding_roles": sorted(rules.split(incident.responding_roles)),
        "assigned_role": incident.assigned_role,
        "period": incident.period,
        "clause": incident.clause,
        "escalation_level": incident.escalation_level,
        "ack_due_at": _iso(incident.ack_due_at),
        "sop_done": sorted(rules.split(incident.sop_done)),
        "sop_skipped": sorted(rules.split(incident.sop_skipped)),
        "details": details,
        "occurred_at": _iso(incident.occurred_at),
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "closed_at": _iso(incident.closed_at),
        "taken_by": getattr(incident, "taken_by_name", None),
        "taken_at": _iso(getattr(incident, "taken_at", None)),
        "review_required": bool(getattr(incident, "review_required", False)),
        "reviewed_at": _iso(getattr(incident, "reviewed_at", None)),
        "allowed_actions": rules.allowed_actions(
            incident.status,
            taken=getattr(incident, "taken_by_id", None) is not None,
            review_pending=bool(getattr(incident, "review_required", False))
            and getattr(incident, "reviewed_at", None) is None,
        ),
    }


class IncidentRead(BaseModel):
    """An incident with its routing by the duty table (Annex 2), frozen when it was raised."""

    id: int
    type: str
    status: str
    title: str
    title_label: dict[str, str] = Field(description="the title built from labels: {ko: …, en: …}")
    source: str
    device_id: str | None
    camera_id: int | None
    latitude: float | None
    longitude: float | None
    responsible_org: str
    recognising_org: str
    recognising_role: str
    responding_org: str
    responding_roles: list[str]
    assigned_role: str
    period: str
    clause: str
    escalation_level: int
    ack_due_at: datetime | None
    sop_done: list[str]
    sop_skipped: list[str]
    details: dict[str, Any]
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    taken_by: str | None = None
    taken_at: datetime | None = None
    review_required: bool = False
    reviewed_at: datetime | None = None
    allowed_actions: list[str]

    @classmethod
    def from_incident(cls, incident: Any) -> "IncidentRead":
        return cls.model_validate(incident_view(incident))


class SopStepRead(BaseModel):
    code: str
    ko: str
    en: str
    required: bool
    done: bool
    skipped: bool


class TimelineEntryRead(BaseModel):
    at: datetime
    actor_name: str
    actor_label: dict[str, str] = Field(default_factory=dict, description="who acted, as read: {ko: …, en: …}")
    role: str | None
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: str | None


class DispatchRead(BaseModel):
    unit: str
    dispatched_at: datetime
    dispatched_by: str
    arrived_at: datetime | None
    note: str | None


class IncidentDetailRead(IncidentRead):
    """An incident with its checklist, timeline and the patrols sent."""

    sop: list[SopStepRead]
    timeline: list[TimelineEntryRead]
    dispatches: list[DispatchRead]

    @classmethod
    def from_detail(cls, detail: Any) -> "IncidentDetailRead":
        """``detail``: a :class:`gwanje.situations.service.IncidentDetail`."""
        return cls.model_validate(
            {
                **incident_view(detail.incident),
                "sop": detail.sop,
                "timeline": [
                    TimelineEntryRead.model_validate(e, from_attributes=True).model_copy(
                        update={"actor_label": titles.actor_labels(e.actor_name)}
                    )
                    for e in detail.timeline
                ],
                "dispatches": [DispatchRead.model_validate(d, from_attributes=True) for d in detail.dispatches],
            }
        )


# ---- device messages in -----------------------------------------------------------------------


class LocalText(BaseModel):
    ko: str
    en: str


class IngestResultRead(BaseModel):
    """What became of one device message: ``stored`` (202), ``duplicate`` (200) or ``rejected`` (422).

    A stored message raises an incident only when the policy names a situation for its type;
    ``note`` says why one that did not raise any was only kept.
    """

    status: str
    message_id: str
    inbox_id: int | None
    incident_id: int | None
    note: str | None = None
    error: str | None = None
    message: LocalText | None = None

    @classmethod
    def from_result(cls, result: Any) -> "IngestResultRead":
        """``result``: a :class:`gwanje.situations.service.IngestResult`."""
        body = cls(
            status=result.status,
            message_id=result.message_id,
            inbox_id=result.inbox_id,
            incident_id=result.incident_id,
            note=result.note,
        )
        if result.status == "rejected":
            body.error = "message_rejected"
            body.message = LocalText(
                ko="메시지를 보관했으나 처리할 수 없습니다: " + (result.error or ""),
                en="message kept but cannot be used: " + (result.error or ""),
            )
        return body

    @property
    def http_status(self) -> int:
        return {"stored": 202, "duplicate": 200}.get(self.status, 422)


class RejectedMessageRead(BaseModel):
    """A rejected device message as the reader may see it: personal fields (a person's id and position,
    a phone number, a plate) read ``***`` unless the reader's role handles situations; a message that
    is not JSON is then withheld whole (``raw`` empty)."""

    id: int
    source: str
    message_id: str
    channel: str
    type: str | None
    received_at: datetime
    error: str | None
    raw: str
    masked: bool = Field(description="personal fields are masked for this reader")

    @classmethod
    def from_item(cls, item: Any) -> "RejectedMessageRead":
        """``item``: a :class:`gwanje.situations.service.ShelfItem`."""
        message = item.message
        if not item.masked:
            raw = message.raw
        elif item.data is not None:
            raw = json.dumps(item.data, ensure_ascii=False)
        else:
            raw = ""
        return cls(
            id=message.id,
            source=message.source,
            message_id=message.message_id,
            channel=message.channel,
            type=message.type,
            received_at=message.received_at,
            error=message.error,
            raw=raw[:2000],
            masked=item.masked,
        )


class DeviceLossRead(BaseModel):
    source: str
    device_id: str
    missing: int
    received: int
    late: int
    gaps: int
    restarts: int
    last_seq: int
    last_seen_at: datetime
    last_gap_at: datetime | None
    incident_id: int | None


class IngestHealthRead(BaseModel):
    """``GET /api/ingest/health``: messages the devices' sequence numbers show never arrived."""

    status: str  # ok | loss
    devices: int
    received: int
    missing: int
    late: int
    restarts: int
    devices_with_loss: int
    lossy_devices: list[DeviceLossRead]

    @classmethod
    def from_health(cls, health: Any) -> "IngestHealthRead":
        t = health.totals
        return cls(
            status="loss" if t["missing"] > 0 else "ok",
            **t,
            lossy_devices=[
                DeviceLossRead(
                    source=r.source,
                    device_id=r.device_id,
                    missing=r.missing,
                    received=r.received,
                    late=r.late,
                    gaps=r.gaps,
                    restarts=r.restarts,
                    last_seq=r.last_seq,
                    last_seen_at=r.last_seen_at,
                    last_gap_at=r.last_gap_at,
                    incident_id=r.incident_id,
                )
                for r in health.devices
            ],
        )


# ---- cameras near a place ------------------------------------------------------------------------


class CameraDistanceRead(BaseModel):
    """A camera, how far and in which direction it is from the point asked about."""

    id: int
    management_number: str
    name: str | None
    latitude: float
    longitude: float
    status: str
    department: str | None
    primary_purpose: str
    purposes: list[str]
    direction_deg: int | None
    distance_m: float
    bearing_deg: float
    compass: LocalText

    @classmethod
    def _fields(cls, near: Any) -> dict[str, Any]:
        c = near.camera
        return {
            "id": c.id,
            "management_number": c.management_number,
            "name": c.name,
            "latitude": c.latitude,
            "longitude": c.longitude,
            "status": c.status,
            "department": c.department,
            "primary_purpose": c.primary_purpose,
            "purposes": near.purposes,
            "direction_deg": c.direction_deg,
            "distance_m": near.distance_m,
            "bearing_deg": near.bearing_deg,
            "compass": near.compass,
        }

    @classmethod
    def from_near(cls, near: Any) -> "CameraDistanceRead":
        """``near``: a :class:`gwanje.situations.service.NearCamera`."""
        return cls.model_validate(cls._fields(near))


class NearbyCameraRead(CameraDistanceRead):
    """A camera near an incident, and whether the caller may open its video for it (and why not)."""

    may_open: bool
    clause: str
    purpose: str
    attached: bool
    reason: LocalText

    @classmethod
    def from_near(cls, near: Any) -> "NearbyCameraRead":
        """``near``: a :class:`gwanje.situations.service.NearbyCamera`."""
        return cls.model_validate(
            {
                **cls._fields(near),
                "may_open": near.may_open,
                "clause": near.clause,
                "purpose": near.purpose,
                "attached": near.attached,
                "reason": near.reason,
            }
        )
