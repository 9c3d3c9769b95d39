"""Monitoring-agent routes: requests for agents (Art. 9 ③, costs Art. 12) and replacement demands
(Art. 9 ④) with their timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from gwanje.center.agents import service
from gwanje.center.agents.deps import RequestId
from gwanje.center.agents.schemas import (
    AgentRequestCreate,
    AgentRequestDecision,
    AgentRequestRead,
    AgentSummaryRead,
    ReplacementDemandCreate,
    ReplacementDemandRead,
    ReplacementEntryCreate,
    ReplacementResponse,
)
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api/center", tags=["center"])

Requester = Annotated[Principal, Depends(requires("agents.request"))]
Decider = Annotated[Principal, Depends(requires("agents.decide"))]
Reader = Annotated[Principal, Depends(requires("agents.read"))]
Status = Literal["submitted", "approved", "partially_approved", "refused", "withdrawn"]


@router.post("/agent-requests", status_code=201)
def request_agents(
    body: AgentRequestCreate, principal: Requester, db: DB, policy: PolicyDep, rid: RequestId
) -> AgentRequestRead:
    r = service.request_agents(
        db,
        policy,
        principal.user,
        service.RequestAgents(
            headcount=body.headcount,
            hours_from=body.hours_from,
            hours_to=body.hours_to,
            period_start=body.period_start,
            period_end=body.period_end,
            reason=body.reason,
        ),
        request_id=rid,
    )
    return AgentRequestRead.of(r)


@router.get("/agent-requests")
def list_agent_requests(
    principal: Reader, db: DB, policy: PolicyDep, status: Annotated[Status | None, Query()] = None
) -> list[AgentRequestRead]:
    return [AgentRequestRead.of(r) for r in service.read_requests(db, policy, principal.user, status)]


@router.get("/agent-requests/summary")
def agent_summary(principal: Reader, db: DB, policy: PolicyDep) -> AgentSummaryRead:
    s = service.summary(db, policy, principal.user)
    return AgentSummaryRead(**s.__dict__)


@router.get("/agent-requests/{request_id}")
def get_agent_request(request_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> AgentRequestRead:
    return AgentRequestRead.of(service.read_request(db, policy, principal.user, request_id))


@router.post("/agent-requests/{request_id}/decision")
def decide_agent_request(
    request_id: Id, body: AgentRequestDecision, principal: Decider, db: DB, policy: PolicyDep, rid: RequestId
) -> AgentRequestRead:
    r = service.decide_request(
        db,
        policy,
        principal.user,
        request_id,
        outcome=body.outcome,
        approved_headcount=body.approved_headcount,
        monthly_cost_krw=body.monthly_cost_krw,
        reason=body.reason,
        request_id=rid,
    )
    return AgentRequestRead.of(r)


@router.post("/agent-requests/{request_id}/withdraw")
def withdraw_agent_request(
    request_id: Id, principal: Requester, db: DB, policy: PolicyDep, rid: RequestId
) -> AgentRequestRead:
    return AgentRequestRead.of(service.withdraw_request(db, policy, principal.user, request_id, request_id=rid))


@router.post("/replacement-demands", status_code=201)
def demand_replacement(
    body: ReplacementDemandCreate, principal: Requester, db: DB, policy: PolicyDep, rid: RequestId
) -> ReplacementDemandRead:
    d = service.demand_replacement(
        db, policy, principal.user, agent_id=body.agent_id, ground=body.ground, facts=body.facts, request_id=rid
    )
    return ReplacementDemandRead.of(d, service.read_demand(db, policy, principal.user, d.id)[1])


@router.get("/replacement-demands")
def list_replacement_demands(principal: Reader, db: DB, policy: PolicyDep) -> list[ReplacementDemandRead]:
    return [ReplacementDemandRead.of(d) for d in service.read_demands(db, policy, principal.user)]


@router.get("/replacement-demands/{demand_id}")
def get_replacement_demand(demand_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> ReplacementDemandRead:
    return ReplacementDemandRead.of(*service.read_demand(db, policy, principal.user, demand_id))


@router.post("/replacement-demands/{demand_id}/response")
def respond_to_demand(
    demand_id: Id, body: ReplacementResponse, principal: Decider, db: DB, policy: PolicyDep, rid: RequestId
) -> ReplacementDemandRead:
    return ReplacementDemandRead.of(
        *service.respond(
            db,
            policy,
            principal.user,
            demand_id,
            action=body.action,
            resolution=body.resolution,
            replacement_agent_id=body.replacement_agent_id,
            note=body.note,
            request_id=rid,
        )
    )


@router.post("/replacement-demands/{demand_id}/entries", status_code=201)
def add_follow_up(
    demand_id: Id, body: ReplacementEntryCreate, principal: Reader, db: DB, policy: PolicyDep, rid: RequestId
) -> ReplacementDemandRead:
    return ReplacementDemandRead.of(
        *service.add_follow_up(db, policy, principal.user, demand_id, note=body.note, request_id=rid)
    )


routers = [router]
