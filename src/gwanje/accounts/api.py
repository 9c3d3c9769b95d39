"""Account routes: bearer tokens for API clients, the caller, and account administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StringConstraints

from gwanje.core.schemas import StrictModel

from gwanje.accounts import service
from gwanje.http.deps import DB, PUBLIC, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["accounts"])


class TokenRequest(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp: Annotated[str, StringConstraints(max_length=12)] | None = None
    name: Annotated[str, StringConstraints(max_length=120)] = "api"
    days: int = Field(default=90, ge=1, le=365)


class TokenResponse(BaseModel):
    token: str
    token_type: str = "bearer"
    username: str
    role: str


class UserCreate(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    role: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    department: Annotated[str, StringConstraints(max_length=40)] | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


@router.post("/auth/token", dependencies=[PUBLIC], response_model=TokenResponse)
def create_token(body: TokenRequest, request: Request, db: DB, policy: PolicyDep) -> TokenResponse:
    with db.uow() as uow:
        user = service.verify_credentials(uow, policy, body.username, body.password, body.totp,
                                          request.state.request_id)
        token = service.issue_token(uow, service.actor_of(user, request.state.request_id), user, body.name, body.days)
        uow.commit()
    return TokenResponse(token=token, username=user.username, role=user.role)


@router.get("/me")
def me(principal: Annotated[Principal, Depends(requires("registry.read", "policy.read"))],
       policy: PolicyDep) -> dict:
    user = principal.user
    role = policy.role(user.role)
    granted = sorted(p.code for p in policy.permissions if user.role in p.roles)
    return {**user.summary(), "role_ko": role.ko, "role_en": role.en, "permissions": granted}


@router.get("/users")
def list_users(_: Annotated[Principal, Depends(requires("users.manage"))], db: DB) -> list[dict]:
    with db.reading() as session:
        return [u.summary() for u in service.list_users(session)]


@router.post("/users", status_code=201)
def add_user(body: UserCreate, request: Request, db: DB, policy: PolicyDep,
             principal: Annotated[Principal, Depends(requires("users.manage"))]) -> dict:
    with db.uow() as uow:
        user, secret = service.add_user(uow, principal.actor(request), policy, service.NewUser(
            username=body.username, display_name=body.display_name, role=body.role,
            password=body.password, department=body.department))
        uow.commit()
        result = user.summary()
        if secret:
            result["totp_uri"] = service.totp_uri(user)
    return result


@router.post("/users/{username}/lock")
def lock_user(username: str, request: Request, db: DB,
              principal: Annotated[Principal, Depends(requires("users.manage"))]) -> dict:
    with db.uow() as uow:
        user = service.set_locked(uow, principal.actor(request), username, True)
        uow.commit()
        return user.summary()


@router.post("/users/{username}/unlock")
def unlock_user(username: str, request: Request, db: DB,
                principal: Annotated[Principal, Depends(requires("users.manage"))]) -> dict:
    with db.uow() as uow:
        user = service.set_locked(uow, principal.actor(request), username, False)
        uow.commit()
        return user.summary()


class RoleChange(StrictModel):
    role: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    department: Annotated[str, StringConstraints(max_length=40)] | None = None


@router.put("/users/{username}/role")
def change_role(username: str, body: RoleChange, request: Request, db: DB, policy: PolicyDep,
                principal: Annotated[Principal, Depends(requires("users.manage"))]) -> dict:
    with db.uow() as uow:
        user = service.set_role(uow, principal.actor(request), policy, username, body.role, body.department)
        uow.commit()
        return user.summary()
