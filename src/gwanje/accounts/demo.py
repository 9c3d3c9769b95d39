"""Demo accounts: one per role, so a newcomer can see the console as each person would.

Who they are is the policy's ``demo_accounts``; a policy without that section gets one account per
role, named after the role code (a department officer in its organisation's first department).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from gwanje.accounts import service
from gwanje.accounts.models import User
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.policy.model import DemoAccount as PolicyDemoAccount
from gwanje.policy.model import Policy

DEMO_PASSWORD = "gwanje-demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    """A demo account's login details, as the demo prints them."""

    username: str
    password: str
    role: str
    totp_secret: str | None


def demo_people(policy: Policy) -> tuple[PolicyDemoAccount, ...]:
    """The policy's demo accounts, or one per role named after its code."""
    if policy.demo_accounts:
        return policy.demo_accounts
    people = []
    for role in policy.roles:
        department = None
        if role.own_department:
            department = next((d.code for d in policy.departments if d.organisation == role.organisation), None)
        people.append(PolicyDemoAccount(role.code, role.ko, role.code, department))
    return tuple(people)


def create_demo_accounts(db: Database, policy: Policy) -> list[DemoAccount]:
    """Create the accounts that are missing; return all of them with their login details."""
    out = []
    with db.uow() as uow:
        existing = {u.username: u for u in uow.session.scalars(select(User))}
        for person in demo_people(policy):
            dept = person.department
            if dept is not None and policy.department(dept).organisation != policy.role(person.role).organisation:
                dept = None
            user = existing.get(person.username)
            if user is None:
                user, _ = service.add_user(
                    uow,
                    Actor.system("demo"),
                    policy,
                    service.NewUser(
                        username=person.username,
                        display_name=person.display_name,
                        role=person.role,
                        password=DEMO_PASSWORD,
                        department=dept,
                    ),
                )
            out.append(DemoAccount(person.username, DEMO_PASSWORD, person.role, user.totp_secret))
    return out
