"""The rooms' permission guard: the policy's permission, and a policy that keeps rooms at all."""

from __future__ import annotations

from fastapi import Request

from gwanje.core.errors import NotFound
from gwanje.http.deps import Principal, requires


class requires_rooms(requires):  # noqa: N801 - used like a function in route signatures
    """:class:`requires`, and the policy has a ``rooms_access`` section: a district whose policy keeps no
    room access (its rooms may still be named in the duty table) has no rooms pages or routes (404)."""

    async def __call__(self, request: Request) -> Principal:
        principal = await super().__call__(request)
        if request.app.state.policy.rooms_access is None:
            raise NotFound(
                "이 지구의 정책에는 출입관리(rooms_access)가 없습니다",
                "this district's policy keeps no room access (rooms_access)",
            )
        return principal
