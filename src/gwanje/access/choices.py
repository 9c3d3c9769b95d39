"""Access choice sets: video actions, request statuses and the closed lists of lawful codes.

What the law allows is a closed list here, so that a refusal the law does not allow (e.g. "no police
present") can never be recorded. The console colours statuses in ``static/css/video.css``
(``.pstatus[data-status=…]``), so these sets carry no colour of their own.
"""

from __future__ import annotations

from gwanje.core.choices import Choice, ChoiceSet


class VideoAction(ChoiceSet):
    """How a camera is opened; each is authorised and audited on its own."""

    live = Choice("실시간 열람", "live view")
    playback = Choice("저장영상 재생", "playback")
    snapshot = Choice("정지영상", "snapshot")
    export = Choice("사본 반출", "export")


class ProvisionStatus(ChoiceSet):
    requested = Choice("요청", "requested")
    approved = Choice("승인", "approved")
    rejected = Choice("거부", "rejected")
    withdrawn = Choice("철회", "withdrawn")
    exported = Choice("제공 완료", "exported")
    emergency_open = Choice("긴급 열람 (공문 대기)", "emergency access, document pending")
    document_received = Choice("공문 접수", "document received")
    usage_result_entered = Choice("활용결과 입력", "usage result entered")


class SubjectStatus(ChoiceSet):
    received = Choice("접수", "received")
    delayed = Choice("연기", "delayed")
    provided = Choice("열람 제공 (타인 마스킹)", "provided (others masked)")
    refused = Choice("거절", "refused")


class LegalGround(ChoiceSet):
    """PIPA Art. 18 ② (items 5-10 apply to public institutions; item 4 was deleted in 2020)."""

    consent = Choice("제18조제2항제1호: 정보주체의 별도 동의", "Art. 18 ② 1: separate consent of the data subject")
    other_law = Choice("제18조제2항제2호: 다른 법률의 특별한 규정", "Art. 18 ② 2: special provision of another law")
    urgent_life_body_property = Choice(
        "제18조제2항제3호: 급박한 생명·신체·재산의 이익", "Art. 18 ② 3: urgent interest of life, body or property"
    )
    commission_resolution = Choice(
        "제18조제2항제5호: 소관 업무 수행 (보호위원회 심의·의결)",
        "Art. 18 ② 5: statutory duty, after a resolution of the PIPC",
    )
    international_agreement = Choice(
        "제18조제2항제6호: 조약·국제협정 이행", "Art. 18 ② 6: treaty or international agreement"
    )
    crime_investigation = Choice(
        "제18조제2항제7호: 범죄의 수사와 공소의 제기 및 유지", "Art. 18 ② 7: investigation of a crime, prosecution"
    )
    court = Choice("제18조제2항제8호: 법원의 재판업무 수행", "Art. 18 ② 8: court proceedings")
    sentence_execution = Choice("제18조제2항제9호: 형 및 감호, 보호처분의 집행", "Art. 18 ② 9: execution of sentences")
    public_safety_emergency = Choice(
        "제18조제2항제10호: 공중위생 등 공공의 안전과 안녕을 위한 긴급 필요",
        "Art. 18 ② 10: urgent need for public health and safety",
    )


class UsageOutcome(ChoiceSet):
    """What the footage was used for and what came of it (Art. 11 ②)."""

    arrest = Choice("검거", "arrest")
    suspect_identified = Choice("용의자 특정", "suspect identified")
    evidence_submitted = Choice("증거 제출", "evidence submitted")
    missing_person_found = Choice("실종자 발견", "missing person found")
    accident_clarified = Choice("사고 경위 확인", "accident clarified")
    no_result = Choice("성과 없음", "no result")
    ongoing = Choice("수사 진행 중", "investigation ongoing")


# Outcomes that are no effect (yet): the statistics count the others as effective uses.
INEFFECTIVE_OUTCOMES = frozenset({"no_result", "ongoing"})


class IdentityMethod(ChoiceSet):
    resident_card = Choice("주민등록증", "resident registration card")
    driver_licence = Choice("운전면허증", "driver's licence")
    passport = Choice("여권", "passport")
    mobile_id = Choice("모바일 신분증", "mobile ID")
    alien_registration = Choice("외국인등록증", "alien registration card")
    agent_power_of_attorney = Choice("대리인 위임장 및 신분증", "agent: power of attorney and ID")


class SubjectRefusalReason(ChoiceSet):
    """PIPA Art. 35 ④ and the standard guideline on video: the only grounds to refuse."""

    law_forbids = Choice(
        "법률에 따라 열람이 금지되거나 제한되는 경우 (제35조제4항제1호)",
        "viewing is forbidden or limited by law (Art. 35 ④ 1)",
    )
    harm_life_body = Choice(
        "다른 사람의 생명·신체를 해할 우려가 있는 경우 (제35조제4항제2호)",
        "may harm another person's life or body (Art. 35 ④ 2)",
    )
    harm_property_interests = Choice(
        "다른 사람의 재산과 그 밖의 이익을 부당하게 침해할 우려 (제35조제4항제2호)",
        "may unduly harm another person's property or other interests (Art. 35 ④ 2)",
    )
    ongoing_investigation_trial = Choice(
        "범죄 수사·공소 유지·재판 수행에 중대한 지장 (제35조제4항제3호)",
        "would seriously hinder an investigation, prosecution or trial (Art. 35 ④ 3)",
    )
    public_duty_hindrance = Choice(
        "조세·시험·보상금·감사 등 공공기관 업무에 중대한 지장 (제35조제4항제3호)",
        "would seriously hinder a public duty (tax, examinations, audits) (Art. 35 ④ 3)",
    )
    footage_destroyed = Choice("보관기간 경과로 이미 파기된 영상", "the footage was already destroyed after retention")
    not_the_subject = Choice("청구인이 영상에 나타나지 않음", "the requester does not appear in the footage")


class InvalidRefusalReason(ChoiceSet):
    """Grounds that people often give and the law does not accept: refused with a pointed message."""

    no_police_present = Choice(
        "경찰관 입회가 없다는 것은 열람 거절 사유가 아닙니다", "'no police present' is not a ground to refuse viewing"
    )
    others_in_frame = Choice(
        "다른 사람이 찍혀 있다는 것은 거절 사유가 아닙니다 — 타인을 마스킹하여 제공하십시오",
        "'other people are in the frame' is not a ground to refuse — mask them and provide",
    )


class SubjectDelayReason(ChoiceSet):
    masking_in_progress = Choice("타인 마스킹 처리 중", "masking other people takes longer")
    retrieval_in_progress = Choice("현장저장 영상 회수 중", "retrieving footage stored on site")
    third_party_opinion = Choice("제3자 의견 청취 중", "hearing an affected third party")
    other = Choice("기타 정당한 사유", "other justified reason")


class LedgerKind(ChoiceSet):
    use = Choice("이용", "use")
    provision = Choice("제공", "provision")
    viewing = Choice("열람", "viewing")
    destruction = Choice("파기", "destruction")


class LedgerMethod(ChoiceSet):
    live_view = Choice("실시간 열람", "live view")
    playback = Choice("저장영상 열람", "playback")
    snapshot = Choice("정지영상", "snapshot")
    copy = Choice("사본 제공", "copy provided")
    viewing_in_person = Choice("방문 열람", "viewing in person")
    auto_delete = Choice("자동 삭제 (복구 불가)", "automatic deletion (unrecoverable)")
    overwrite = Choice("덮어쓰기", "overwriting")
    manual_delete = Choice("수동 삭제", "manual deletion")
    correction = Choice("정정", "correction")


# The ledger method each video action is recorded with.
ACTION_METHOD = {"live": "live_view", "playback": "playback", "snapshot": "snapshot", "export": "copy"}

# How a subject request is shown to the requester: in person or as a masked copy.
SUBJECT_METHODS = ("viewing_in_person", "copy")

# How a destroyed recording or export went.
DESTRUCTION_METHODS = ("auto_delete", "overwrite", "manual_delete")


# What a retention hold keeps past its period.
HOLD_OBJECT_TYPES = ("recording", "export", "camera")
