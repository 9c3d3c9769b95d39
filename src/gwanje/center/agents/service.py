"""Monitoring-agent use cases: the police request agents (Art. 9 ③) and the district decides,
bearing the cost (Art. 12); the police demand an agent's replacement (Art. 9 ④), the district
answers, and what followed goes on the demand's one timeline. One action = one commit with its
audit row.

Who sees what: the organisation bearing the agents (the policy's ``agents.cost.bearer``) sees every
request and demand; any other organisation sees only its own. The agent concerned does not read a
demand about them unless the policy's ``agents.agent_sees_demands`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.center.agents import rules
from gwanje.center.agents.models import AgentRequest, ReplacementDemand, ReplacementEntry
from gwanje.center.agents.schemas import AgentRequestRead, ReplacementDemandRead
from gwanje.core.audit import AuditLog, Change
from gwanje.core.clock import to_kst, utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed, not_found
from gwanje.policy.model import AgentRules, Policy


def agent_rules(policy: Policy) -> AgentRules:
    if policy.agents is None:
        raise Conflict(
            "정책 파일에 모니터링 요원(agents) 규정이 없습니다",
            "the policy file has no agents section",
        )
    return policy.agents


def _role_in(roles: frozenset[str], user: User, ko: str, en: str) -> None:
    if user.role not in roles:
        raise Forbidden(ko, en)


@dataclass(frozen=True)
class RequestAgents:
    headcount: int
    hours_from: str
    hours_to: str
    period_start: date
    period_end: date
    reason: str


def _req_snapshot(r: AgentRequest) -> dict[str, Any]:
    return AgentRequestRead.of(r).model_dump(mode="json")


def request_agents(
    db: Database, policy: Policy, user: User, cmd: RequestAgents, *, request_id: str | None = None
) -> AgentRequest:
    """Art. 9 ③: the police ask the district for monitoring agents."""
    ar = agent_rules(policy)
    _role_in(ar.request_roles, user, "요원 지원을 요청할 수 있는 역할이 아닙니다", "this role may not request agents")
    rules.check_period(cmd.period_start, cmd.period_end)
    reason = (cmd.reason or "").strip()
    if not reason:
        raise ValidationFailed("요청 사유를 입력하세요", "give the reason for the request", field="reason")
    with db.uow() as uow:
        now = utcnow()
        r = AgentRequest(
            status="submitted",
            requester_id=user.id,
            requester_name=user.username,
            requester_organisation=user.organisation,
            headcount=cmd.headcount,
            hours_from=cmd.hours_from,
            hours_to=cmd.hours_to,
            period_start=cmd.period_start,
            period_end=cmd.period_end,
            reason=reason,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(r)
        uow.session.flush()
        AuditLog(uow.session).append(
            actor_of(user, request_id),
            Change("agent_request.submitted", "agent_request", r.id, None, _req_snapshot(r), clause=ar.request_clause),
        )
        uow.commit()
        return r


def _visible_request(session: Session, ar: AgentRules, user: User, request_id_: int) -> AgentRequest:
    r = session.get(AgentRequest, request_id_)
    if r is None or not (rules.sees_all(ar, user.organisation) or r.requester_organisation == user.organisation):
        raise not_found("요원 지원 요청", "agent request", request_id_)
    return r


def decide_request(
    db: Database,
    policy: Policy,
    user: User,
    request_id_: int,
    *,
    outcome: str,
    approved_headcount: int | None = None,
    monthly_cost_krw: int | None = None,
    reason: str | None = None,
    request_id: str | None = None,
) -> AgentRequest:
    """The district approves (all or fewer agents, with the monthly cost it bears, Art. 12) or refuses
    with a reason."""
    ar = agent_rules(policy)
    _role_in(
        ar.decide_roles,
        user,
        "요원 지원 요청을 결정할 수 있는 역할이 아닙니다",
        "this role may not decide agent requests",
    )
    with db.uow() as uow:
        r = _visible_request(uow.session, ar, user, request_id_)
        action, headcount, cost = rules.decision(ar, outcome, r.headcount, approved_headcount, monthly_cost_krw, reason)
        before = _req_snapshot(r)
        r.status = rules.request_next(r.status, action)
        now = utcnow()
        r.approved_headcount = headcount
        r.monthly_cost_krw = cost
        r.cost_bearer = None if action == "refuse" else ar.cost.bearer
        r.decision_reason = (reason or "").strip() or None
        r.decided_by_id, r.decided_by_name, r.decided_at, r.updated_at = user.id, user.username, now, now
        AuditLog(uow.session).append(
            actor_of(user, request_id),
            Change(
                f"agent_request.{r.status}",
                "agent_request",
                r.id,
                before,
                _req_snapshot(r),
                clause=ar.cost.clause if action != "refuse" else ar.request_clause,
            ),
        )
        uow.commit()
        return r


def withdraw_request(
    db: Database, policy: Policy, user: User, request_id_: int, *, request_id: str | None = None
) -> AgentRequest:
    ar = agent_rules(policy)
    with db.uow() as uow:
        r = _visible_request(uow.session, ar, user, request_id_)
        if r.requester_id != user.id:
            raise Forbidden("요청한 사람만 철회할 수 있습니다", "only the requester may withdraw the request")
        before = _req_snapshot(r)
        r.status = rules.request_next(r.status, "withdraw")
        r.withdrawn_at = r.updated_at = utcnow()
        AuditLog(uow.session).append(
            actor_of(user, request_id),
            Change(
                "agent_request.withdrawn", "agent_request", r.id, before, _req_snapshot(r), clause=ar.request_clause
            ),
        )
        uow.commit()
        return r


def read_requests(db: Database, policy: Policy, user: User, status: str | None = None) -> list[AgentRequest]:
    ar = agent_rules(policy)
    with db.reading() as session:
        q = select(AgentRequest).order_by(AgentRequest.id.desc()).limit(500)
        if not rules.sees_all(ar, user.organisation):
            q = q.where(AgentRequest.requester_organisation == user.organisation)
        if status:
            q = q.where(AgentRequest.status == status)
        return list(session.scalars(q))


def read_request(db: Database, policy: Policy, user: User, request_id_: int) -> AgentRequest:
    with db.reading() as session:
        return _visible_request(session, agent_rules(policy), user, request_id_)


@dataclass(frozen=True)
class Summary:
    on_date: date
    approved_headcount: int
    monthly_cost_krw: int
    cost_bearer: str
    requests: int
    clause: str


def summary(db: Database, policy: Policy, user: User, now: datetime | None = None) -> Summary:
    """The agents the district takes on today (KST): granted requests whose period covers today."""
    ar = agent_rules(policy)
    today = to_kst(now or utcnow()).date()
    rows = [
        r
        for r in read_requests(db, policy, user)
        if r.status in rules.GRANTED_STATUSES and r.period_start <= today <= r.period_end
    ]
    return Summary(
        on_date=today,
        approved_headcount=sum(r.approved_headcount or 0 for r in rows),
        monthly_cost_krw=sum(r.monthly_cost_krw or 0 for r in rows),
        cost_bearer=ar.cost.bearer,
        requests=len(rows),
        clause=ar.cost.clause,
    )


# ---- replacement demands (Art. 9 ④) ------------------------------------------------------------


def _agent(session: Session, ar: AgentRules, agent_id: int, field: str) -> User:
    agent = session.get(User, agent_id)
    if agent is None:
        raise ValidationFailed("없는 계정입니다", "no such account", field=field)
    rules.check_agent_role(ar, agent.role, field)
    return agent


def _entry(session: Session, demand: ReplacementDemand, user: User, action: str, note: str | None) -> None:
    session.add(
        ReplacementEntry(
            demand_id=demand.id, at=utcnow(), actor_id=user.id, actor_name=user.username, action=action, note=note
        )
    )


def _entries(session: Session, demand_id: int) -> list[ReplacementEntry]:
    return list(
        session.scalars(
            select(ReplacementEntry).where(ReplacementEntry.demand_id == demand_id).order_by(ReplacementEntry.id)
        )
    )


def _dem_snapshot(d: ReplacementDemand) -> dict[str, Any]:
    # The facts stay out of the audit chain's before/after: they are about a person.
    return ReplacementDemandRead.of(d).model_dump(mode="json", exclude={"facts", "timeline"})


def demand_replacement(
    db: Database,
    policy: Policy,
    user: User,
    *,
    agent_id: int,
    ground: str,
    facts: str,
    request_id: str | None = None,
) -> ReplacementDemand:
    """Art. 9 ④: the police demand an agent's replacement on one of the policy's grounds."""
    ar = agent_rules(policy)
    _role_in(ar.request_roles, user, "교체를 요구할 수 있는 역할이 아닙니다", "this role may not demand a replacement")
    rules.check_ground(ar, ground)
    facts = (facts or "").strip()
    if not facts:
        raise ValidationFailed("사실관계를 입력하세요", "give the facts", field="facts")
    with db.uow() as uow:
        _agent(uow.session, ar, agent_id, "agent_id")
        now = utcnow()
        d = ReplacementDemand(
            status="submitted",
            agent_id=agent_id,
            ground=ground,
            facts=facts,
            requester_id=user.id,
            requester_name=user.username,
            requester_organisation=user.organisation,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(d)
        uow.session.flush()
        _entry(uow.session, d, user, "submitted", None)
        AuditLog(uow.session).append(
            actor_of(user, request_id),
            Change(
                "replacement_demand.submitted",
                "replacement_demand",
                d.id,
                None,
                _dem_snapshot(d),
                clause=ar.replacement_clause,
            ),
        )
        uow.commit()
        return d


def _visible_demand(session: Session, ar: AgentRules, user: User, demand_id: int) -> ReplacementDemand:
    d = session.get(ReplacementDemand, demand_id)
    visible = d is not None and (rules.sees_all(ar, user.organisation) or d.requester_organisation == user.organisation)
    if d is not None and d.agent_id == user.id and not ar.agent_sees_demands:
        visible = False
    if not visible:
        raise not_found("교체 요구", "replacement demand", demand_id)
    return d  # type: ignore[return-value]


def respond(
    db: Database,
    policy: Policy,
    user: User,
    demand_id: int,
    *,
    action: str,
    resolution: str | None = None,
    replacement_agent_id: int | None = None,
    note: str | None = None,
    request_id: str | None = None,
) -> tuple[ReplacementDemand, list[ReplacementEntry]]:
    """The district's answer, each step a line on the timeline: review → accept (replace or order
    training) | refuse (with reasons); accepted → completed (naming the new agent where replaced)."""
    ar = agent_rules(policy)
    _role_in(
        ar.decide_roles,
        user,
        "교체 요구에 회신할 수 있는 역할이 아닙니다",
        "this role may not answer replacement demands",
    )
    note = (note or "").strip() or None
    with db.uow() as uow:
        d = _visible_demand(uow.session, ar, user, demand_id)
        before = _dem_snapshot(d)
        nxt = rules.demand_next(d.status, action)
        if action == "accept":
            if resolution not in rules.RESOLUTIONS:
                raise ValidationFailed(
                    "수용 방법(교체/교육)을 고르세요",
                    "choose how it is accepted (replace / training)",
                    field="resolution",
                )
            d.resolution = resolution
        if action == "refuse" and not note:
            raise ValidationFailed("거부 사유를 입력하세요", "give the reasons for the refusal", field="note")
        if action == "complete" and d.resolution == "replace":
            if replacement_agent_id is None:
                raise ValidationFailed(
                    "교체된 요원을 지정하세요", "name the replacement agent", field="replacement_agent_id"
                )
            if replacement_agent_id == d.agent_id:
                raise ValidationFailed(
                    "교체 요원이 같은 사람입니다", "the replacement is the same agent", field="replacement_agent_id"
                )
            _agent(uow.session, ar, replacement_agent_id, "replacement_agent_id")
            d.replacement_agent_id = replacement_agent_id
        d.status = nxt
        d.updated_at = utcnow()
        _entry(uow.session, d, user, action if action != "accept" else f"accept_{resolution}", note)
        AuditLog(uow.session).append(
            actor_of(user, request_id),
            Change(
                f"replacement_demand.{nxt}",
                "replacement_demand",
                d.id,
                before,
                _dem_snapshot(d),
                clause=ar.replacement_clause,
            ),
        )
        entries = _entries(uow.session, d.id)
        uow.commit()
        return d, entries


def add_follow_up(
    db: Database, policy: Policy, user: User, demand_id: int, *, note: str, request_id: str | None = None
) -> tuple[ReplacementDemand, list[ReplacementEntry]]:
    """What followed: a line by the district or the requesting organisation."""
    ar = agent_rules(policy)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("내용을 입력하세요", "give the note", field="note")
    if user.role not in ar.decide_roles | ar.request_roles:
        raise Forbidden("후속 조치를 기록할 수 있는 역할이 아닙니다", "this role may not add follow-ups")
    with db.uow() as uow:
        d = _visible_demand(uow.session, ar, user, demand_id)
        _entry(uow.session, d, user, "follow_up", note)
        d.updated_at = utcnow()
        AuditLog(uow.session).append(
            actor_of(user, request_id),
            Change(
                "replacement_demand.follow_up",
                "replacement_demand",
                d.id,
                None,
                {"action": "follow_up"},
                clause=ar.replacement_clause,
            ),
        )
        entries = _entries(uow.session, d.id)
        uow.commit()
        return d, entries


def read_demands(db: Database, policy: Policy, user: User) -> list[ReplacementDemand]:
    ar = agent_rules(policy)
    with db.reading() as session:
        q = select(ReplacementDemand).order_by(ReplacementDemand.id.desc()).limit(500)
        if not rules.sees_all(ar, user.organisation):
            q = q.where(ReplacementDemand.requester_organisation == user.organisation)
        if not ar.agent_sees_demands:
            q = q.where(ReplacementDemand.agent_id != user.id)
        return list(session.scalars(q))


def read_demand(
    db: Database, policy: Policy, user: User, demand_id: int
) -> tuple[ReplacementDemand, list[ReplacementEntry]]:
    with db.reading() as session:
        d = _visible_demand(session, agent_rules(policy), user, demand_id)
        return d, _entries(session, d.id)
