"""Demo accounts: one per role, so a newcomer can see the console as each person would."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from gwanje.accounts import service
from gwanje.accounts.models import User
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.policy.model import Policy

DEMO_PASSWORD = "gwanje-demo-2026"

# username, display name, role, department
DEMO_ACCOUNTS = (
    ("manager", "김관리 (관리책임자)", "district_manager", None),
    ("itofficer", "이전산 (전산정보과)", "district_it_officer", "it_info"),
    ("agent", "박요원 (모니터링 요원)", "monitoring_agent", None),
    ("maint", "최보수 (유지보수 요원)", "maintenance_staff", None),
    ("dept", "정부서 (자치행정과 담당)", "department_officer", "autonomous_admin"),
    ("police", "강경관 (상주 경찰관)", "police_officer", None),
    ("p112", "윤상황 (112 상황실)", "police_112", None),
    ("detective", "한수사 (수사관)", "police_investigator", None),
    ("auditor", "서감사 (감사자)", "auditor", None),
    ("sensor", "시뮬레이터 장치 (비상벨·영상분석)", "device", None),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    totp_secret: str | None


def create_demo_accounts(db: Database, policy: Policy) -> list[DemoAccount]:
    """Create the accounts that are missing; return all of them with their login details."""
    out = []
    with db.uow() as uow:
        existing = {u.username: u for u in uow.session.scalars(select(User))}
        for username, name, role, dept in DEMO_ACCOUNTS:
            if dept is not None and policy.department(dept).organisation != policy.role(role).organisation:
                dept = None
            user = existing.get(username)
            if user is None:
                user, _ = service.add_user(uow, Actor.system("demo"), policy, service.NewUser(
                    username=username, display_name=name, role=role, password=DEMO_PASSWORD, department=dept))
            out.append(DemoAccount(username, DEMO_PASSWORD, role, user.totp_secret))
        uow.commit()
    return out
