"""Pure access rules: state machines, allowed codes, the police incident test. No I/O.

Codes carry a Korean and an English label; what the law allows is a closed list here, so that
a refusal the law does not allow (e.g. "no police present") can never be recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gwanje.core.errors import Conflict, ValidationFailed

# ---- video actions ---------------------------------------------------------------------------

ACTIONS: Mapping[str, tuple[str, str]] = {
    "live": ("실시간 열람", "live view"),
    "playback": ("저장영상 재생", "playback"),
    "snapshot": ("정지영상", "snapshot"),
    "export": ("사본 반출", "export"),
}

POLICE_ROUTED_ORGS = frozenset({"police"})
OPEN_INCIDENT_STATUSES = frozenset({"new", "acknowledged", "handed_over", "dispatched"})


@dataclass(frozen=True)
class IncidentView:
    """What the police test needs from an incident row."""

    id: int
    status: str
    responsible_org: str
    responding_org: str
    camera_id: int | None


def incident_covers_camera(incident: IncidentView | None, camera_id: int, attached: Collection[int],
                           open_statuses: Collection[str] = OPEN_INCIDENT_STATUSES) -> tuple[bool, str, str]:
    """Art. 9 ⑤: the camera belongs to an open incident the police are responding to.

    Returns (ok, reason_ko, reason_en) so a refusal can say which part failed.
    """
    if incident is None:
        return (False, "대응 중인 사건을 지정해야 경찰이 영상을 열람할 수 있습니다",
                "the police must name an incident they are responding to")
    if incident.status not in open_statuses:
        return (False, f"사건 {incident.id}이(가) 종결되어 열람 권한이 끝났습니다",
                f"incident {incident.id} is no longer open; access ended with it")
    if POLICE_ROUTED_ORGS.isdisjoint({incident.responding_org, incident.responsible_org}):
        return (False, f"사건 {incident.id}은(는) 경찰 대응 사건이 아닙니다",
                f"incident {incident.id} is not routed to the police")
    if camera_id != incident.camera_id and camera_id not in attached:
        return (False, f"이 CCTV는 사건 {incident.id}에 연결되지 않았습니다",
                f"this camera is not attached to incident {incident.id}")
    return True, "", ""


# ---- state machines --------------------------------------------------------------------------


def _transition(table: Mapping[tuple[str, str], str], labels: Mapping[str, tuple[str, str]],
                status: str, action: str, what_ko: str, what_en: str) -> str:
    try:
        return table[(status, action)]
    except KeyError:
        s_ko, s_en = labels.get(status, (status, status))
        raise Conflict(
            f"{what_ko}이(가) '{s_ko}' 상태여서 '{action}'을(를) 할 수 없습니다",
            f"cannot {action} a {what_en} that is {s_en}",
            field="status",
            details={"status": status, "action": action,
                     "allowed": sorted(a for (s, a) in table if s == status)},
        ) from None


PROVISION_STATUS: Mapping[str, tuple[str, str]] = {
    "requested": ("요청", "requested"),
    "approved": ("승인", "approved"),
    "rejected": ("거부", "rejected"),
    "withdrawn": ("철회", "withdrawn"),
    "exported": ("제공 완료", "exported"),
    "emergency_open": ("긴급 열람 (공문 대기)", "emergency access, document pending"),
    "document_received": ("공문 접수", "document received"),
    "usage_result_entered": ("활용결과 입력", "usage result entered"),
}

PROVISION_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("requested", "approve"): "approved",
    ("requested", "reject"): "rejected",
    ("requested", "withdraw"): "withdrawn",
    ("approved", "export"): "exported",
    ("exported", "enter_result"): "usage_result_entered",
    ("emergency_open", "receive_document"): "document_received",
    ("emergency_open", "export"): "emergency_open",
    ("document_received", "export"): "document_received",
    ("document_received", "enter_result"): "usage_result_entered",
}

# While in these states the requester may open the request's cameras (playback, snapshot, export).
PROVISION_ACCESS_STATUSES = frozenset({"approved", "exported", "emergency_open", "document_received"})


def provision_next(status: str, action: str) -> str:
    return _transition(PROVISION_TRANSITIONS, PROVISION_STATUS, status, action, "제공 요청", "provision request")


SUBJECT_STATUS: Mapping[str, tuple[str, str]] = {
    "received": ("접수", "received"),
    "delayed": ("연기", "delayed"),
    "provided": ("열람 제공 (타인 마스킹)", "provided (others masked)"),
    "refused": ("거절", "refused"),
}

SUBJECT_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("received", "provide"): "provided",
    ("received", "delay"): "delayed",
    ("received", "refuse"): "refused",
    ("delayed", "provide"): "provided",
    ("delayed", "refuse"): "refused",
}


def subject_next(status: str, action: str) -> str:
    return _transition(SUBJECT_TRANSITIONS, SUBJECT_STATUS, status, action, "열람 청구", "subject request")


# ---- legal codes -----------------------------------------------------------------------------

# PIPA Art. 18 ② (items 5-10 apply to public institutions; item 4 was deleted in 2020).
LEGAL_GROUNDS: Mapping[str, tuple[str, str]] = {
    "consent": ("제18조제2항제1호: 정보주체의 별도 동의", "Art. 18 ② 1: separate consent of the data subject"),
    "other_law": ("제18조제2항제2호: 다른 법률의 특별한 규정", "Art. 18 ② 2: special provision of another law"),
    "urgent_life_body_property": (
        "제18조제2항제3호: 급박한 생명·신체·재산의 이익",
        "Art. 18 ② 3: urgent interest of life, body or property"),
    "commission_resolution": (
        "제18조제2항제5호: 소관 업무 수행 (보호위원회 심의·의결)",
        "Art. 18 ② 5: statutory duty, after a resolution of the PIPC"),
    "international_agreement": ("제18조제2항제6호: 조약·국제협정 이행", "Art. 18 ② 6: treaty or international agreement"),
    "crime_investigation": (
        "제18조제2항제7호: 범죄의 수사와 공소의 제기 및 유지",
        "Art. 18 ② 7: investigation of a crime, prosecution"),
    "court": ("제18조제2항제8호: 법원의 재판업무 수행", "Art. 18 ② 8: court proceedings"),
    "sentence_execution": ("제18조제2항제9호: 형 및 감호, 보호처분의 집행", "Art. 18 ② 9: execution of sentences"),
    "public_safety_emergency": (
        "제18조제2항제10호: 공중위생 등 공공의 안전과 안녕을 위한 긴급 필요",
        "Art. 18 ② 10: urgent need for public health and safety"),
}

# What the footage was used for and what came of it (Art. 11 ②).
USAGE_OUTCOMES: Mapping[str, tuple[str, str]] = {
    "arrest": ("검거", "arrest"),
    "suspect_identified": ("용의자 특정", "suspect identified"),
    "evidence_submitted": ("증거 제출", "evidence submitted"),
    "missing_person_found": ("실종자 발견", "missing person found"),
    "accident_clarified": ("사고 경위 확인", "accident clarified"),
    "no_result": ("성과 없음", "no result"),
    "ongoing": ("수사 진행 중", "investigation ongoing"),
}

IDENTITY_METHODS: Mapping[str, tuple[str, str]] = {
    "resident_card": ("주민등록증", "resident registration card"),
    "driver_licence": ("운전면허증", "driver's licence"),
    "passport": ("여권", "passport"),
    "mobile_id": ("모바일 신분증", "mobile ID"),
    "alien_registration": ("외국인등록증", "alien registration card"),
    "agent_power_of_attorney": ("대리인 위임장 및 신분증", "agent: power of attorney and ID"),
}

# PIPA Art. 35 ④ and the standard guideline on video: the only grounds to refuse.
SUBJECT_REFUSAL_REASONS: Mapping[str, tuple[str, str]] = {
    "law_forbids": ("법률에 따라 열람이 금지되거나 제한되는 경우 (제35조제4항제1호)",
                    "viewing is forbidden or limited by law (Art. 35 ④ 1)"),
    "harm_life_body": ("다른 사람의 생명·신체를 해할 우려가 있는 경우 (제35조제4항제2호)",
                       "may harm another person's life or body (Art. 35 ④ 2)"),
    "harm_property_interests": ("다른 사람의 재산과 그 밖의 이익을 부당하게 침해할 우려 (제35조제4항제2호)",
                                "may unduly harm another person's property or other interests (Art. 35 ④ 2)"),
    "ongoing_investigation_trial": ("범죄 수사·공소 유지·재판 수행에 중대한 지장 (제35조제4항제3호)",
                                    "would seriously hinder an investigation, prosecution or trial (Art. 35 ④ 3)"),
    "public_duty_hindrance": ("조세·시험·보상금·감사 등 공공기관 업무에 중대한 지장 (제35조제4항제3호)",
                              "would seriously hinder a public duty (tax, examinations, audits) (Art. 35 ④ 3)"),
    "footage_destroyed": ("보관기간 경과로 이미 파기된 영상", "the footage was already destroyed after retention"),
    "not_the_subject": ("청구인이 영상에 나타나지 않음", "the requester does not appear in the footage"),
}

# Grounds that people often give and the law does not accept: refused with a pointed message.
INVALID_REFUSAL_REASONS: Mapping[str, tuple[str, str]] = {
    "no_police_present": ("경찰관 입회가 없다는 것은 열람 거절 사유가 아닙니다",
                          "'no police present' is not a ground to refuse viewing"),
    "others_in_frame": ("다른 사람이 찍혀 있다는 것은 거절 사유가 아닙니다 — 타인을 마스킹하여 제공하십시오",
                        "'other people are in the frame' is not a ground to refuse — mask them and provide"),
}

SUBJECT_DELAY_REASONS: Mapping[str, tuple[str, str]] = {
    "masking_in_progress": ("타인 마스킹 처리 중", "masking other people takes longer"),
    "retrieval_in_progress": ("현장저장 영상 회수 중", "retrieving footage stored on site"),
    "third_party_opinion": ("제3자 의견 청취 중", "hearing an affected third party"),
    "other": ("기타 정당한 사유", "other justified reason"),
}

SUBJECT_DUE_DAYS = 10  # PIPA Art. 35 ③ and enforcement decree Art. 41 ④

LEDGER_KINDS: Mapping[str, tuple[str, str]] = {
    "use": ("이용", "use"),
    "provision": ("제공", "provision"),
    "viewing": ("열람", "viewing"),
    "destruction": ("파기", "destruction"),
}

LEDGER_METHODS: Mapping[str, tuple[str, str]] = {
    "live_view": ("실시간 열람", "live view"),
    "playback": ("저장영상 열람", "playback"),
    "snapshot": ("정지영상", "snapshot"),
    "copy": ("사본 제공", "copy provided"),
    "viewing_in_person": ("방문 열람", "viewing in person"),
    "auto_delete": ("자동 삭제 (복구 불가)", "automatic deletion (unrecoverable)"),
    "overwrite": ("덮어쓰기", "overwriting"),
    "manual_delete": ("수동 삭제", "manual deletion"),
    "correction": ("정정", "correction"),
}

ACTION_METHOD = {"live": "live_view", "playback": "playback", "snapshot": "snapshot", "export": "copy"}


def check_code(table: Mapping[str, tuple[str, str]], code: str, field: str, what_ko: str, what_en: str) -> str:
    if code not in table:
        raise ValidationFailed(
            f"허용되지 않는 {what_ko}: {code}", f"{what_en} not allowed: {code}", field=field,
            details={"allowed": sorted(table)},
        )
    return code


def check_refusal_reason(code: str) -> str:
    if code in INVALID_REFUSAL_REASONS:
        ko, en = INVALID_REFUSAL_REASONS[code]
        raise ValidationFailed(ko, en, field="reason", clause="pipa-35",
                               details={"allowed": sorted(SUBJECT_REFUSAL_REASONS)})
    return check_code(SUBJECT_REFUSAL_REASONS, code, "reason", "거절 사유", "refusal reason")


def subject_due_at(received_at: datetime) -> datetime:
    return received_at + timedelta(days=SUBJECT_DUE_DAYS)


def check_period(start: datetime, end: datetime, *, max_days: int = 31) -> None:
    if end <= start:
        raise ValidationFailed("기간의 끝이 시작보다 뒤여야 합니다", "the period must end after it starts",
                               field="period_end")
    if end - start > timedelta(days=max_days):
        raise ValidationFailed(f"기간은 {max_days}일 이내여야 합니다", f"the period may not exceed {max_days} days",
                               field="period_end")


# ---- official document scans ----------------------------------------------------------------

DOCUMENT_TYPES: Mapping[str, tuple[bytes, str]] = {
    "application/pdf": (b"%PDF-", ".pdf"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
}
MAX_DOCUMENT_BYTES = 10 * 1_048_576


def sniff_document(data: bytes) -> str:
    """The content type by its magic bytes: what the client claims is not trusted."""
    if not data:
        raise ValidationFailed("빈 파일입니다", "the file is empty", field="file")
    if len(data) > MAX_DOCUMENT_BYTES:
        from gwanje.core.errors import TooLarge

        raise TooLarge(f"공문 파일은 {MAX_DOCUMENT_BYTES // 1_048_576}MB 이하여야 합니다",
                       f"the document scan may not exceed {MAX_DOCUMENT_BYTES // 1_048_576} MB", field="file")
    for content_type, (magic, _) in DOCUMENT_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise ValidationFailed("PDF, JPEG, PNG 파일만 받습니다", "only PDF, JPEG and PNG files are accepted", field="file")
