"""Hot-list routes: the police replace the list with a CSV and read which version is in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from gwanje.http.deps import DB, Principal, requires
from gwanje.situations.hotlist import service
from gwanje.situations.hotlist.schemas import HotListRead

router = APIRouter(prefix="/api", tags=["situations"])

HotListManager = Annotated[Principal, Depends(requires("hotlist.manage"))]


# The route reads the raw CSV, so FastAPI cannot describe the body on its own.
CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.put("/hotlist", openapi_extra=CSV_BODY)
async def upload_hotlist(request: Request, db: DB, principal: HotListManager) -> HotListRead:
    """Replace the wanted/stolen list with a CSV (차량번호,구분,사건번호,비고); a bad line refuses it all."""
    data = await request.body()
    status = await run_in_threadpool(service.replace_hotlist_csv, db, principal.actor(request), data)
    request.app.state.hotlist.invalidate()  # this instance matches against the new list at once
    return HotListRead.from_status(status)


@router.get("/hotlist")
def hotlist_info(_: HotListManager, db: DB) -> HotListRead:
    return HotListRead.from_status(service.hotlist_status(db))


routers = [router]
