"""Request and response models of video access decisions, attached cameras and the closed lists.

The parts keep their own: :mod:`gwanje.access.provisions.schemas`, :mod:`gwanje.access.subjects.schemas`,
:mod:`gwanje.access.retention.schemas`, :mod:`gwanje.access.ledger.schemas`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from gwanje.access.models import IncidentCamera
from gwanje.core.choices import ChoiceSet
from gwanje.core.schemas import Id, StrictModel, Timestamp

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Label(BaseModel):
    ko: str
    en: str


class VideoAccessCreate(StrictModel):
    """Ask to open a camera for a purpose (an incident or a provision where the role needs one)."""

    camera_id: Id
    purpose: Code
    action: Literal["live", "playback", "snapshot", "export"]
    incident_id: Id | None = None
    provision_id: Id | None = None


class AccessGrantRead(BaseModel):
    """An allowed opening, with the clause it rests on and the audit entry that records it."""

    user_id: int
    username: str
    role: str
    camera_id: int
    purpose: str
    action: str
    incident_id: int | None
    clause: str
    audit_seq: int
    provision_id: int | None
    clause_text: Label


class AttachedCameraCreate(StrictModel):
    camera_id: Id
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class AttachedCameraRead(BaseModel):
    incident_id: int
    camera_id: int
    attached_by: str
    attached_at: Timestamp
    reason: str | None

    @classmethod
    def of(cls, link: IncidentCamera) -> "AttachedCameraRead":
        return cls(
            incident_id=link.incident_id,
            camera_id=link.camera_id,
            attached_by=link.attached_by_name,
            attached_at=link.attached_at,
            reason=link.reason,
        )


class CodeRead(BaseModel):
    code: str
    ko: str
    en: str

    @classmethod
    def all_of(cls, choices: type[ChoiceSet]) -> list["CodeRead"]:
        return [cls(code=c.code, ko=c.ko, en=c.en) for c in choices]


class AccessCodesRead(BaseModel):
    """The closed lists the forms offer."""

    legal_grounds: list[CodeRead]
    usage_outcomes: list[CodeRead]
    identity_methods: list[CodeRead]
    refusal_reasons: list[CodeRead]
    delay_reasons: list[CodeRead]
    ledger_kinds: list[CodeRead]
    ledger_methods: list[CodeRead]
