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


# ---- what device messages say, for incident titles built in the reader's language ----------------


class AnalyticsRule(ChoiceSet):
    """Video-analytics rules a server reports (``video_analytics.rule``); an unknown rule shows its code."""

    loitering = Choice("배회", "loitering")
    intrusion = Choice("침입", "intrusion")
    fall_detection = Choice("쓰러짐", "fall")
    fight = Choice("싸움", "fight")
    abandoned_object = Choice("방치 물체", "abandoned object")
    crowding = Choice("군집", "crowding")
    wrong_way = Choice("역주행", "wrong way")
    illegal_parking = Choice("불법 주정차", "illegal parking")
    illegal_dumping = Choice("쓰레기 무단투기", "illegal dumping")
    dumping = Choice("쓰레기 무단투기", "dumping")
    fire = Choice("화재", "fire")
    smoke = Choice("연기", "smoke")
    flood = Choice("침수", "flooding")


class ObjectClass(ChoiceSet):
    """What the analytics saw (``video_analytics.object_class``)."""

    person = Choice("사람", "person")
    vehicle = Choice("차량", "vehicle")
    bag = Choice("가방", "bag")
    bicycle = Choice("자전거", "bicycle")
    motorcycle = Choice("오토바이", "motorcycle")
    animal = Choice("동물", "animal")
    object = Choice("물체", "object")


class CameraFault(ChoiceSet):
    """How a camera failed (``camera_fault.fault``)."""

    offline = Choice("연결 끊김", "offline")
    video_loss = Choice("영상 없음", "video loss")
    tamper = Choice("훼손·가림", "tampering")
    storage = Choice("저장 장애", "storage failure")
    other = Choice("기타 장애", "other fault")


class PersonCategory(ChoiceSet):
    """Who sent a u-Seoul safety signal (``u_seoul_safety.category``)."""

    child = Choice("아동", "child")
    elderly = Choice("어르신", "elderly person")
    disabled = Choice("장애인", "disabled person")
    woman = Choice("여성", "woman")
    other = Choice("기타", "other")


class PlateMatch(ChoiceSet):
    """How a read plate matched the wanted/stolen list."""

    exact = Choice("일치", "exact")
    confusable = Choice("유사", "look-alike")
