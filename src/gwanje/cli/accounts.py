"""``gwanje users …``: accounts and roles."""

from __future__ import annotations


import click

from gwanje.cli.common import _actor, _database, _policy, _settings


@click.group()
def users() -> None:
    """Accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, help="Role code from the policy (e.g. monitoring_agent).")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--department", default=None, help="Department code (department officers).")
@click.option("--password", default=None, help="Password (prompted when omitted).")
def users_add(username: str, role: str, display_name: str | None, department: str | None, password: str | None) -> None:
    """Create an account."""
    from gwanje.accounts import service

    settings = _settings()
    policy = _policy(settings)
    db = _database(settings)
    if password is None:
        password = click.prompt("비밀번호 / password", hide_input=True, confirmation_prompt=True)
    with db.uow() as uow:
        user, secret = service.add_user(
            uow,
            _actor(),
            policy,
            service.NewUser(
                username=username,
                display_name=display_name or username,
                role=role,
                password=password,
                department=department,
            ),
        )
        uow.commit()
        click.echo(f"{user.username} ({user.role}, {user.organisation}) 생성 / created")
        if secret:
            click.echo(f"OTP 등록 / enrol TOTP: {service.totp_uri(user)}")


@users.command("list")
def users_list() -> None:
    """List accounts."""
    from gwanje.accounts import service

    settings = _settings()
    with _database(settings).reading() as session:
        for u in service.list_users(session):
            state = "LOCKED" if u.locked else "active"
            click.echo(f"{u.username:<16} {u.organisation:<9} {u.role:<22} {u.department or '-':<18} {state}")


def _set_locked(username: str, locked: bool) -> None:
    from gwanje.accounts import service

    settings = _settings()
    with _database(settings).uow() as uow:
        service.set_locked(uow, _actor(), username, locked)
        uow.commit()
    click.echo(f"{username}: {'잠금 / locked' if locked else '해제 / unlocked'}")


@users.command("lock")
@click.argument("username")
def users_lock(username: str) -> None:
    """Lock an account and end its sessions."""
    _set_locked(username, True)


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Unlock an account and reset its failed-login count."""
    _set_locked(username, False)


@users.command("role")
@click.argument("username")
@click.argument("role")
@click.option("--department", default=None, help="Department code (department officers).")
def users_role(username: str, role: str, department: str | None) -> None:
    """Change an account's role (audited; its sessions end)."""
    from gwanje.accounts import service

    settings = _settings()
    policy = _policy(settings)
    with _database(settings).uow() as uow:
        user = service.set_role(uow, _actor(), policy, username, role, department)
        uow.commit()
        click.echo(f"{user.username}: {user.role} ({user.organisation})")
        if user.totp_secret and policy.role(user.role).totp_required:
            click.echo(f"OTP 등록 / enrol TOTP: {service.totp_uri(user)}")


@users.command("otp")
@click.argument("username")
def users_otp(username: str) -> None:
    """Print the current one-time code of an account (demo and recovery; needs database access)."""
    from gwanje.accounts import service
    from gwanje.accounts.models import User
    from sqlalchemy import select

    settings = _settings()
    with _database(settings).reading() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"사용자 없음 / no such user: {username}")
        code = service.current_totp(user)
    if code is None:
        raise click.ClickException(f"{username}: OTP 미등록 / no TOTP enrolled")
    click.echo(code)
