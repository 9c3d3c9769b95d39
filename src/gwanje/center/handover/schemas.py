"""Request and response models of duty logs and handovers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from gwanje.core.schemas import Id, Instant, StrictModel, Timestamp

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Team = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ItemNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Position = Annotated[int, Field(ge=1, le=10_000)]


class DutyLogCreate(StrictModel):
    """Open the duty log of a shift of the caller's organisation (the caller leads it)."""

    team: Team
    period_start: Instant
    period_end: Instant
    members: Annotated[list[Name], Field(max_length=50)] = []


class EntryCreate(StrictModel):
    text: Text
    incident_id: Id | None = None


class HandoverCreate(StrictModel):
    """Prepare (or, while a draft, gather again) the handover, with the outgoing leader's notes."""

    notes: Annotated[list[Note], Field(max_length=50)] = []


class ItemAck(StrictModel):
    position: Position
    note: ItemNote


class HandoverAcknowledge(StrictModel):
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None
    items: Annotated[list[ItemAck], Field(max_length=500)] = []


class EntryRead(BaseModel):
    id: int
    at: Timestamp
    author_name: str
    text: str
    incident_id: int | None


class HandoverItemRead(BaseModel):
    position: int
    kind: str
    ref: str | None
    title: str
    status: str | None
    due_at: Timestamp | None
    ack_note: str | None


class HandoverRead(BaseModel):
    id: int
    log_id: int
    organisation: str
    status: str
    created_by: str
    created_at: Timestamp
    offered_at: Timestamp | None
    acknowledged_at: Timestamp | None
    acknowledged_by: str | None
    acknowledgement_note: str | None
    items: list[HandoverItemRead]

    @classmethod
    def of(cls, view: object) -> "HandoverRead":
        h = view.handover  # type: ignore[attr-defined]
        return cls(
            id=h.id,
            log_id=h.log_id,
            organisation=h.organisation,
            status=h.status,
            created_by=h.created_by_name,
            created_at=h.created_at,
            offered_at=h.offered_at,
            acknowledged_at=h.acknowledged_at,
            acknowledged_by=h.acknowledged_by_name,
            acknowledgement_note=h.acknowledgement_note,
            items=[
                HandoverItemRead(
                    position=i.position,
                    kind=i.kind,
                    ref=i.ref,
                    title=i.title,
                    status=i.status,
                    due_at=i.due_at,
                    ack_note=i.ack_note,
                )
                for i in view.items  # type: ignore[attr-defined]
            ],
        )


class DutyLogRead(BaseModel):
    id: int
    organisation: str
    team: str
    period_start: Timestamp
    period_end: Timestamp
    leader: str
    members: list[str]
    status: str
    signed_at: Timestamp | None
    signed_by: str | None
    signed_hash: str | None
    intact: bool | None
    entries: list[EntryRead]
    handover: HandoverRead | None

    @classmethod
    def of(cls, view: object) -> "DutyLogRead":
        log = view.log  # type: ignore[attr-defined]
        return cls(
            id=log.id,
            organisation=log.organisation,
            team=log.team,
            period_start=log.period_start,
            period_end=log.period_end,
            leader=log.leader_name,
            members=view.members,  # type: ignore[attr-defined]
            status=log.status,
            signed_at=log.signed_at,
            signed_by=log.signed_by_name,
            signed_hash=log.signed_hash,
            intact=view.intact,  # type: ignore[attr-defined]
            entries=[
                EntryRead(id=e.id, at=e.at, author_name=e.author_name, text=e.text, incident_id=e.incident_id)
                for e in view.entries  # type: ignore[attr-defined]
            ],
            handover=HandoverRead.of(view) if view.handover is not None else None,  # type: ignore[attr-defined]
        )
