"""Registry request dependencies: the camera scope a caller may change."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gwanje.http.deps import PolicyDep, Principal, requires
from gwanje.policy import decisions
from gwanje.registry.service import Scope


def write_scope(principal: Principal, policy) -> Scope:  # noqa: ANN001
    """Department officers change only their own department's cameras; registry writers change any."""
    if decisions.role_has_permission(policy, principal.user.role, "registry.write").allowed:
        return Scope()
    return Scope(department=principal.user.department or "\0none")


_writer = requires("registry.write", "registry.write_own_department")


def _write_scope(policy: PolicyDep, principal: Annotated[Principal, Depends(_writer)]) -> Scope:
    return write_scope(principal, policy)


WriteScope = Annotated[Scope, Depends(_write_scope)]
