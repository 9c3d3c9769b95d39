"""Rules of room entry (Annex 2 출입관리), pure: who is authorised at an instant, what a door event means,
and which of them raise the ``room_access`` situation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

EVENTS: dict[str, tuple[str, str]] = {
    "entry": ("입실", "Entry"),
    "exit": ("퇴실", "Exit"),
    "refused": ("출입 거부(카드)", "Badge refused"),
    "held_open": ("출입문 열림 지속", "Door held open"),
    "forced": ("강제 개방", "Door forced"),
}
CONSOLE_EVENTS = ("entry", "exit")
# A console entry may be recorded up to this long after it happened (a guard writes it after the fact).
MAX_BACKDATE = timedelta(days=1)
# A visitor is expected for at most this long.
MAX_VISIT = timedelta(days=7)
# A device's clock may run this far ahead of ours before its time is not believed.
CLOCK_SKEW = timedelta(minutes=5)


class Window(Protocol):
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None


def in_force(auth: Window, at: datetime) -> bool:
    """An authorisation lets its holder in at ``at``: inside its window and not revoked by then."""
    if auth.revoked_at is not None and auth.revoked_at <= at:
        return False
    return auth.valid_from <= at < auth.valid_until


@dataclass(frozen=True)
class Refusal:
    ko: str
    en: str
    field: str | None = None


def grant_refusal(valid_from: datetime, valid_until: datetime, max_days: int, now: datetime) -> Refusal | None:
    """Why an authorisation over [valid_from, valid_until) may not be granted at ``now``, or None."""
    if valid_until <= valid_from:
        return Refusal("만료 일시가 시작 일시보다 늦어야 합니다", "valid_until must be after valid_from", "valid_until")
    if valid_until <= now:
        return Refusal("이미 만료된 기간입니다", "that period is already over", "valid_until")
    if valid_until - valid_from > timedelta(days=max_days):
        return Refusal(
            f"출입 권한은 최대 {max_days}일까지 부여할 수 있습니다",
            f"entry may be granted for at most {max_days} days",
            "valid_until",
        )
    if valid_from < now - MAX_BACKDATE:
        return Refusal(
            "시작 일시가 너무 이릅니다 (최대 1일 전)", "valid_from is too far back (1 day at most)", "valid_from"
        )
    return None


@dataclass(frozen=True)
class Alarm:
    """A door event that raises the room's situation: ``kind`` keys one open incident per room and who
    (or door), so a badge refused ten times is one incident with ten lines on its timeline."""

    kind: str  # unauthorised | refused | held_open | forced
    key: str
    ko: str
    en: str


def alarm_for(
    event: str,
    room: str,
    *,
    authorised: bool,
    who: str | None,
    door: str | None,
    held_seconds: int | None,
    held_open_limit: int,
) -> Alarm | None:
    """Which alarm a log line raises, if any. An exit or an authorised entry raises none; a door held open
    raises one only from ``held_open_limit`` seconds on."""
    who = who or "-"
    if event == "entry" and not authorised:
        return Alarm(
            "unauthorised", f"{room}:unauthorised:{who}", f"미인가 출입: {who}", f"Entry not authorised: {who}"
        )
    if event == "refused":
        return Alarm("refused", f"{room}:refused:{who}", f"출입 카드 거부: {who}", f"Badge refused: {who}")
    if event == "held_open" and (held_seconds or 0) >= held_open_limit:
        return Alarm(
            "held_open",
            f"{room}:{door}:held_open",
            f"출입문 열림 지속 {held_seconds}초",
            f"Door held open {held_seconds} s",
        )
    if event == "forced":
        return Alarm("forced", f"{room}:{door}:forced", "출입문 강제 개방", "Door forced open")
    return None
