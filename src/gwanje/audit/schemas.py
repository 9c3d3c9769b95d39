"""Response models of the audit API: chain entries and the result of verifying the chain."""

from __future__ import annotations


from gwanje.core.schemas import Timestamp
from pydantic import BaseModel, ConfigDict, Field


class AuditEntryRead(BaseModel):
    """One row of the tamper-evident chain; ``before`` and ``after`` are the JSON text that was hashed."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: Timestamp
    actor_id: int | None
    actor_name: str
    organisation: str | None
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    purpose: str | None
    clause: str | None
    before: str | None
    after: str | None
    request_id: str | None
    prev_hash: str
    hash: str


class ProblemRead(BaseModel):
    ko: str
    en: str


class AuditVerifyRead(BaseModel):
    ok: bool
    rows: int
    head_hash: str
    bad_seq: int | None = Field(description="the first row that does not fit the chain")
    problem: ProblemRead | None
