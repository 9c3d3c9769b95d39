"""Request and response models of agent requests and replacement demands (Art. 9 ③ ④)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from gwanje.center.agents.models import AgentRequest, ReplacementDemand, ReplacementEntry
from gwanje.center.agents.rules import MAX_HEADCOUNT, MAX_MONTHLY_COST_KRW
from gwanje.core.schemas import Id, StrictModel, Timestamp

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]
Headcount = Annotated[int, Field(ge=1, le=MAX_HEADCOUNT)]
Cost = Annotated[int, Field(ge=0, le=MAX_MONTHLY_COST_KRW)]


class AgentRequestCreate(StrictModel):
    """How many agents, which hours (KST, e.g. 18:00–09:00 daily), from/to which dates, and why."""

    headcount: Headcount
    hours_from: HHMM
    hours_to: HHMM
    period_start: Day
    period_end: Day
    reason: Required


class AgentRequestDecision(StrictModel):
    outcome: Literal["approve", "partially_approve", "refuse"]
    approved_headcount: Headcount | None = None
    monthly_cost_krw: Cost | None = None
    reason: Text | None = None


class AgentRequestRead(BaseModel):
    id: int
    status: str
    requester_name: str
    requester_organisation: str
    headcount: int
    hours_from: str
    hours_to: str
    period_start: date
    period_end: date
    reason: str
    approved_headcount: int | None
    monthly_cost_krw: int | None
    cost_bearer: str | None
    decision_reason: str | None
    decided_by_name: str | None
    decided_at: Timestamp | None
    withdrawn_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, r: AgentRequest) -> "AgentRequestRead":
        return cls.model_validate(r, from_attributes=True)


class AgentSummaryRead(BaseModel):
    """Agents the district currently takes on (granted requests whose period has not ended)."""

    on_date: date
    approved_headcount: int
    monthly_cost_krw: int
    cost_bearer: str
    requests: int
    clause: str


class ReplacementDemandCreate(StrictModel):
    agent_id: Id
    ground: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    facts: Required


class ReplacementResponse(StrictModel):
    """The district's answer: review, accept (replace / order training), refuse (reasons), complete
    (the replacement is in place, naming the new agent where replaced)."""

    action: Literal["review", "accept", "refuse", "complete"]
    resolution: Literal["replace", "training"] | None = None
    replacement_agent_id: Id | None = None
    note: Text | None = None


class ReplacementEntryCreate(StrictModel):
    """What followed: a follow-up line on the demand's timeline."""

    note: Required


class ReplacementEntryRead(BaseModel):
    at: Timestamp
    actor_name: str
    action: str
    note: str | None

    @classmethod
    def of(cls, e: ReplacementEntry) -> "ReplacementEntryRead":
        return cls.model_validate(e, from_attributes=True)


class ReplacementDemandRead(BaseModel):
    id: int
    status: str
    agent_id: int
    ground: str
    facts: str
    requester_name: str
    requester_organisation: str
    resolution: str | None
    replacement_agent_id: int | None
    created_at: Timestamp
    timeline: list[ReplacementEntryRead] = []

    @classmethod
    def of(cls, d: ReplacementDemand, entries: list[ReplacementEntry] | None = None) -> "ReplacementDemandRead":
        out = cls.model_validate(d, from_attributes=True)
        out.timeline = [ReplacementEntryRead.of(e) for e in entries or []]
        return out
