"""Response model of the hot-list routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class HotListRead(BaseModel):
    """The wanted/stolen list in force: its version, how many plates, when it was uploaded."""

    version: int
    count: int
    uploaded_at: datetime | None

    @classmethod
    def from_status(cls, status: object) -> "HotListRead":
        """``status``: a :class:`gwanje.situations.hotlist.service.HotListStatus`."""
        return cls(version=status.version, count=status.count, uploaded_at=status.uploaded_at)
