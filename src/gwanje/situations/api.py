"""Situation routes: device events in, incidents listed and worked, the rejected-message shelf."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from gwanje.core.errors import Forbidden, ValidationFailed
from gwanje.core.schemas import StrictModel
from gwanje.situations import rules, service
from gwanje.situations.messages import MAX_MESSAGE_BYTES
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["situations"])

Reader = Annotated[Principal, Depends(requires("situations.read"))]
Responder = Annotated[Principal, Depends(requires("situations.respond"))]


class ActionBody(StrictModel):
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    unit: Annotated[str, StringConstraints(max_length=60)] | None = None


class StepBody(StrictModel):
    skip_reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ManualReportBody(StrictModel):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    latitude: float | None = None
    longitude: float | None = None
    camera: Annotated[str, StringConstraints(max_length=120)] | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


def _bus(request: Request):  # noqa: ANN202
    return request.app.state.bus


def _visible(policy, principal: Principal, incident) -> bool:  # noqa: ANN001
    return rules.may_see(policy, principal.user.role, principal.user.department,
                         service._routed_with_policy(policy, incident), _camera_purposes(incident))


def _camera_purposes(incident) -> tuple[str, ...]:  # noqa: ANN001
    import json

    details = json.loads(incident.details or "{}")
    return tuple(details.get("camera_purposes", ()))


@router.post("/events", status_code=202)
async def post_event(request: Request, db: DB, policy: PolicyDep,
                     principal: Annotated[Principal, Depends(requires("events.ingest"))]) -> JSONResponse:
    """A device message over HTTP: stored in the inbox before this answers (202)."""
    raw = await request.body()
    if len(raw) > MAX_MESSAGE_BYTES:
        raw = raw[:MAX_MESSAGE_BYTES + 1]
    item = service.RawMessage(source=f"http:{principal.user.username}", raw=raw, channel="http",
                              device_id=request.headers.get("x-device-id"))
    from starlette.concurrency import run_in_threadpool

    batch = await run_in_threadpool(service.ingest_batch, db, policy, [item],
                                    hotlist=request.app.state.hotlist.match)
    _bus(request).publish_many(batch.events)
    result = batch.results[0]
    body: dict[str, Any] = {"status": result.status, "message_id": result.message_id, "inbox_id": result.inbox_id,
                            "incident_id": result.incident_id}
    if result.status == "rejected":
        body.update({"error": "message_rejected",
                     "message": {"ko": "메시지를 보관했으나 처리할 수 없습니다: " + (result.error or ""),
                                 "en": "message kept but cannot be used: " + (result.error or "")}})
        return JSONResponse(body, status_code=422)
    return JSONResponse(body, status_code=200 if result.status == "duplicate" else 202)


@router.get("/incidents")
def list_incidents(principal: Reader, db: DB, policy: PolicyDep, open_only: bool = False) -> list[dict]:
    with db.reading() as session:
        rows = service.list_incidents(session, open_only=open_only)
        return [service.incident_dict(i) for i in rows if _visible(policy, principal, i)]


@router.get("/incidents/{incident_id}")
def read_incident(incident_id: int, principal: Reader, db: DB, policy: PolicyDep) -> dict:
    with db.reading() as session:
        incident = service.get_incident(session, incident_id)
        if not _visible(policy, principal, incident):
            raise Forbidden("이 상황을 볼 수 없습니다", "you may not see this incident", clause="art-9-5")
        out = service.incident_dict(incident)
        out["sop"] = rules.sop_status(policy, incident.type, rules.split(incident.sop_done),
                                      rules.split(incident.sop_skipped))
        out["timeline"] = [
            {"at": e.at, "actor_name": e.actor_name, "role": e.role, "action": e.action,
             "from_status": e.from_status, "to_status": e.to_status, "note": e.note, "data": e.data}
            for e in service.timeline(session, incident.id)
        ]
        out["dispatches"] = [
            {"unit": d.unit, "dispatched_at": d.dispatched_at, "dispatched_by": d.dispatched_by,
             "arrived_at": d.arrived_at, "note": d.note}
            for d in service.dispatches(session, incident.id)
        ]
        return out


@router.post("/incidents/{incident_id}/actions/{action}")
def incident_action(incident_id: int, action: str, body: ActionBody, request: Request, db: DB,
                    policy: PolicyDep, principal: Responder) -> dict:
    with db.reading() as session:
        if not _visible(policy, principal, service.get_incident(session, incident_id)):
            raise Forbidden("이 상황을 볼 수 없습니다", "you may not see this incident", clause="art-9-5")
    incident, event = service.act(db, policy, principal.actor(request), incident_id, action,
                                  note=body.note, unit=body.unit)
    _bus(request).publish(event)
    return service.incident_dict(incident)


@router.post("/incidents/{incident_id}/sop/{code}")
def incident_step(incident_id: int, code: str, body: StepBody, request: Request, db: DB, policy: PolicyDep,
                  principal: Responder) -> dict:
    incident, events = service.sop_step(db, policy, principal.actor(request), incident_id, code,
                                        skip_reason=body.skip_reason)
    _bus(request).publish_many(events)
    return service.incident_dict(incident)


@router.post("/incidents", status_code=201)
def report_incident(body: ManualReportBody, request: Request, db: DB, policy: PolicyDep,
                    principal: Annotated[Principal, Depends(requires("situations.report"))]) -> dict:
    import json
    import uuid

    payload = {k: v for k, v in body.model_dump().items() if v is not None}
    raw = json.dumps({"message_id": f"manual-{uuid.uuid4().hex}", "type": "manual_report", "payload": payload},
                     ensure_ascii=False).encode("utf-8")
    batch = service.ingest_batch(db, policy, [service.RawMessage(f"operator:{principal.user.username}", raw,
                                                                 channel="http")])
    result = batch.results[0]
    if result.status != "stored":
        raise ValidationFailed("보고를 처리할 수 없습니다: " + (result.error or ""),
                               "the report cannot be used: " + (result.error or ""), field="payload")
    _bus(request).publish_many(batch.events)
    with db.reading() as session:
        return service.incident_dict(service.get_incident(session, result.incident_id))


@router.get("/inbox/rejected")
def rejected(principal: Reader, db: DB) -> list[dict]:
    with db.reading() as session:
        return [
            {"id": m.id, "source": m.source, "message_id": m.message_id, "channel": m.channel, "type": m.type,
             "received_at": m.received_at, "error": m.error, "raw": m.raw[:2000]}
            for m in service.rejected_messages(session)
        ]


@router.put("/hotlist")
async def upload_hotlist(request: Request, db: DB,
                         principal: Annotated[Principal, Depends(requires("hotlist.manage"))]) -> dict:
    """Replace the wanted/stolen list with a CSV (차량번호,구분,사건번호,비고); a bad line refuses it all."""
    from starlette.concurrency import run_in_threadpool

    from gwanje.situations import hotlist_service

    data = await request.body()
    status = await run_in_threadpool(hotlist_service.replace_hotlist_csv, db, principal.actor(request), data)
    request.app.state.hotlist.invalidate()
    return {"version": status.version, "count": status.count, "uploaded_at": status.uploaded_at}


@router.get("/hotlist")
def hotlist_info(_: Annotated[Principal, Depends(requires("hotlist.manage"))], db: DB) -> dict:
    from gwanje.situations import hotlist_service

    status = hotlist_service.hotlist_status(db)
    return {"version": status.version, "count": status.count, "uploaded_at": status.uploaded_at}
