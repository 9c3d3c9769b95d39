"""Account routes: bearer tokens for API clients, the caller, and account administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gwanje.accounts import service
from gwanje.accounts.schemas import (
    MeRead,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserRoleUpdate,
)
from gwanje.http.deps import DB, PUBLIC, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["accounts"])

Admin = Annotated[Principal, Depends(requires("users.manage"))]


@router.post("/auth/token", dependencies=[PUBLIC], response_model=TokenRead)
def create_token(body: TokenCreate, request: Request, db: DB, policy: PolicyDep) -> TokenRead:
    with db.uow() as uow:
        user, token = service.issue_token_for_credentials(
            uow, policy, body.username, body.password, body.totp, body.name, body.days, request.state.request_id
        )
    return TokenRead(token=token, username=user.username, role=user.role)


@router.get("/me", response_model=MeRead)
def me(principal: Annotated[Principal, Depends(requires("registry.read", "policy.read"))], policy: PolicyDep) -> MeRead:
    user = principal.user
    role = policy.role(user.role)
    return MeRead(
        **user.summary(), role_ko=role.ko, role_en=role.en, permissions=service.permissions_of(policy, user.role)
    )


@router.get("/users", response_model=list[UserRead])
def list_users(_: Admin, db: DB) -> list[UserRead]:
    with db.reading() as session:
        return [UserRead.from_user(u) for u in service.list_users(session)]


# A totp_uri appears only for roles that enrol a second factor (exclude_unset keeps the other fields,
# null or not, as they were).
@router.post("/users", status_code=201, response_model=UserCreated, response_model_exclude_unset=True)
def add_user(body: UserCreate, request: Request, db: DB, policy: PolicyDep, principal: Admin) -> UserCreated:
    with db.uow() as uow:
        user, secret = service.add_user(
            uow,
            principal.actor(request),
            policy,
            service.NewUser(
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                password=body.password,
                department=body.department,
            ),
        )
    enrol = {"totp_uri": service.totp_uri(user)} if secret else {}
    return UserCreated(**user.summary(), **enrol)


@router.post("/users/{username}/lock", response_model=UserRead)
def lock_user(username: str, request: Request, db: DB, principal: Admin) -> UserRead:
    with db.uow() as uow:
        return UserRead.from_user(service.set_locked(uow, principal.actor(request), username, True))


@router.post("/users/{username}/unlock", response_model=UserRead)
def unlock_user(username: str, request: Request, db: DB, principal: Admin) -> UserRead:
    with db.uow() as uow:
        return UserRead.from_user(service.set_locked(uow, principal.actor(request), username, False))


@router.put("/users/{username}/role", response_model=UserRead)
def change_role(
    username: str, body: UserRoleUpdate, request: Request, db: DB, policy: PolicyDep, principal: Admin
) -> UserRead:
    with db.uow() as uow:
        return UserRead.from_user(
            service.set_role(uow, principal.actor(request), policy, username, body.role, body.department)
        )


routers = [router]
