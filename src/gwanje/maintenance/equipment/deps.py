"""The register's permission guard: the policy's permission, and a policy that keeps a register at all."""

from __future__ import annotations

from fastapi import Request

from gwanje.core.errors import NotFound
from gwanje.http.deps import Principal, requires


class requires_register(requires):  # noqa: N801 - used like a function in route signatures
    """:class:`requires`, and the policy has a ``maintenance`` section: a district whose policy keeps no
    equipment register has no register pages or routes (404 to anyone signed in; 401 to a stranger)."""

    async def __call__(self, request: Request) -> Principal:
        if request.app.state.policy.maintenance is None:
            await requires()(request)  # signed in (and the CSRF token of a form), whatever the role
            raise NotFound(
                "이 지구의 정책에는 장비 관리(maintenance)가 없습니다",
                "this district's policy keeps no equipment register (maintenance)",
            )
        return await super().__call__(request)
