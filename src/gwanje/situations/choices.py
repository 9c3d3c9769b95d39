"""Situation choice sets: incident statuses (with the colours the board draws them in) and actions."""

from __future__ import annotations

from gwanje.core.choices import Choice, ChoiceSet


class IncidentStatus(ChoiceSet):
    """Where an incident stands. Open ones stand out (red → amber → violet → blue); finished ones are quiet."""

    new = Choice("신규", "new", "#c62828")
    acknowledged = Choice("접수", "acknowledged", "#ef6c00")
    handed_over = Choice("인계", "handed over", "#6a1b9a")
    dispatched = Choice("출동", "dispatched", "#1565c0")
    resolved = Choice("해결", "resolved", "#2e7d32")
    closed = Choice("종결", "closed", "#607d8b")
    false_alarm = Choice("오경보", "false alarm", "#78909c")
    cancelled = Choice("취소", "cancelled", "#90a4ae")


class IncidentAction(ChoiceSet):
    """What a person may do to an incident (the state machine in :mod:`gwanje.situations.rules`)."""

    acknowledge = Choice("접수", "acknowledge")
    hand_over = Choice("경찰 인계", "hand over to police")
    dispatch = Choice("112 출동 지령", "dispatch a 112 patrol")
    resolve = Choice("해결", "resolve")
    close = Choice("종결", "close")
    false_alarm = Choice("오경보 처리", "mark false alarm")
    cancel = Choice("취소", "cancel")
    take = Choice("담당", "take")
    review = Choice("검토 완료", "review")
