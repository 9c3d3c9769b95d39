"""The request id for the audit chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


RequestId = Annotated[str | None, Depends(request_id)]
