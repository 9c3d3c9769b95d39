"""Account routes: bearer tokens for API clients, the caller, and account administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from gwanje.accounts import service
from gwanje.accounts.schemas import (
    MeRead,
    TokenCreate,
    TokenInfoRead,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserRoleUpdate,
)
from gwanje.core.clock import utcnow
from gwanje.http.deps import DB, PUBLIC, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["accounts"])

Admin = Annotated[Principal, Depends(requires("users.manage"))]


def source_of(request: Request) -> str | None:
    """The address a sign-in comes from, for throttling (the peer; proxies are not trusted)."""
    return request.client.host if request.client else None


@router.post("/auth/token", dependencies=[PUBLIC], response_model=TokenRead)
def create_token(body: TokenCreate, request: Request, db: DB, policy: PolicyDep) -> TokenRead:
    with db.uow() as uow:
        user, token, expires = service.issue_token_for_credentials(
            uow,
            policy,
            body.username,
            body.password,
            body.totp,
            body.name,
            body.days,
            request.state.request_id,
            source_of(request),
            body.hours,
        )
    return TokenRead(token=token, username=user.username, role=user.role, expires_at=expires)


SignedIn = Annotated[Principal, Depends(requires())]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/tokens", response_model=list[TokenInfoRead])
def list_tokens(principal: SignedIn, db: DB, policy: PolicyDep) -> list[TokenInfoRead]:
    """The caller's bearer tokens; every account's for those who manage users."""
    now = utcnow()
    with db.reading() as session:
        return [TokenInfoRead.from_info(t, now) for t in service.list_tokens(session, policy, principal.user)]


@router.delete("/tokens/{token_id}", response_model=TokenInfoRead)
def revoke_token(token_id: TokenId, request: Request, principal: SignedIn, db: DB, policy: PolicyDep) -> TokenInfoRead:
    with db.uow() as uow:
        info = service.revoke_token(uow, policy, principal.actor(request), principal.user, token_id)
    return TokenInfoRead.from_info(info, utcnow())


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
