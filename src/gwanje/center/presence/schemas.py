"""Presence request and response models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from gwanje.core.schemas import Id, StrictModel
from gwanje.policy.model import Policy


class CheckOut(StrictModel):
    """퇴근(퇴실): without ``account_id`` oneself; with it, someone else (shift leader, roster manager)."""

    account_id: Id | None = None


class PresenceRead(BaseModel):
    id: int
    account_id: int
    name: str
    organisation: str
    role: str
    room: str
    in_at: datetime
    out_at: datetime | None
    via: str
    recorded_by: str

    @classmethod
    def of(cls, p) -> PresenceRead:  # noqa: ANN001
        return cls(
            id=p.id,
            account_id=p.account_id,
            name=p.name,
            organisation=p.organisation,
            role=p.role,
            room=p.room,
            in_at=p.in_at,
            out_at=p.out_at,
            via=p.via,
            recorded_by=p.recorded_by,
        )


class PersonOnDuty(BaseModel):
    account_id: int
    name: str
    since: datetime
    via: str


class RoleOnDuty(BaseModel):
    role: str
    ko: str
    en: str
    people: list[PersonOnDuty]


class OrganisationOnDuty(BaseModel):
    organisation: str
    ko: str
    en: str
    roles: list[RoleOnDuty]


class StaffingRuleRead(BaseModel):
    code: str
    ko: str
    en: str
    organisation: str
    roles: list[str]
    holds: bool
    present: int
    required: int
    grace_minutes: int
    since: datetime | None
    overdue: bool
    incident_id: int | None
    clause: str


class OnDutyRead(BaseModel):
    at: datetime
    organisations: list[OrganisationOnDuty]
    rules: list[StaffingRuleRead]


class TrainingCreate(StrictModel):
    account_id: Id
    course: str = Field(min_length=1, max_length=40)
    completed_on: date
    evidence: str | None = Field(default=None, max_length=1000)


class TrainingRead(BaseModel):
    id: int
    account_id: int
    course: str
    completed_on: date
    valid_until: date
    evidence: str | None
    recorded_by: str


class PledgeCreate(StrictModel):
    account_id: Id
    signed_on: date
    witness: str = Field(min_length=1, max_length=120)


class PledgeRead(BaseModel):
    id: int
    account_id: int
    signed_on: date
    witness: str
    recorded_by: str


class TrainingsRead(BaseModel):
    trainings: list[TrainingRead]
    pledges: list[PledgeRead]


def on_duty_read(policy: Policy, duty) -> OnDutyRead:  # noqa: ANN001 - service.OnDuty
    """Who is present, grouped by organisation then role (in the policy's order), and each rule."""
    orgs: list[OrganisationOnDuty] = []
    for org in policy.organisations:
        roles = []
        for role in policy.roles:
            if role.organisation != org.code:
                continue
            people = [
                PersonOnDuty(account_id=p.account_id, name=p.name, since=p.in_at, via=p.via)
                for p in duty.present
                if p.organisation == org.code and p.role == role.code
            ]
            if people:
                roles.append(RoleOnDuty(role=role.code, ko=role.ko, en=role.en, people=people))
        if roles:
            orgs.append(OrganisationOnDuty(organisation=org.code, ko=org.name_ko, en=org.name_en, roles=roles))
    rules = [
        StaffingRuleRead(
            code=v.state.rule.code,
            ko=v.state.rule.ko,
            en=v.state.rule.en,
            organisation=v.state.rule.organisation,
            roles=list(v.state.rule.roles),
            holds=v.state.holds,
            present=v.state.present,
            required=v.state.rule.min_present,
            grace_minutes=v.state.rule.grace_minutes,
            since=v.state.since,
            overdue=v.state.overdue,
            incident_id=v.incident_id,
            clause=v.state.rule.clause,
        )
        for v in duty.rules
    ]
    return OnDutyRead(at=duty.at, organisations=orgs, rules=rules)
