"""Console language: Korean by default, English on request.

The language comes from ``?lang=`` (one request), else the ``lang`` cookie (set by ``/lang/{code}``),
else Korean. Fixed UI text lives in :data:`MESSAGES`; labels of purposes, departments and roles come
from the loaded policy so that another district's agreement brings its own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from gwanje.core.clock import to_kst
from gwanje.policy.model import Policy, UnknownCode
from gwanje.registry.rules import LABELS

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"
LANG_COOKIE = "lang"

MESSAGES: dict[str, dict[str, str]] = {
    "ko": {
        "app.name": "{district} 통합관제센터",
        "app.short": "관제",
        "nav.cameras": "카메라 목록",
        "nav.map": "지도",
        "nav.annex1": "별표1 보고서",
        "nav.logout": "로그아웃",
        "nav.language": "언어",
        "nav.skip": "본문으로 건너뛰기",
        "login.title": "로그인",
        "login.username": "사용자명",
        "login.password": "비밀번호",
        "login.otp": "OTP 코드",
        "login.otp_hint": "2단계 인증이 필요한 역할만 입력합니다 (6자리)",
        "login.submit": "로그인",
        "login.expired": "로그인 화면이 만료되었습니다. 다시 시도해 주세요.",
        "login.notice": "허가된 사용자만 접속할 수 있습니다. 모든 접속과 조회는 기록됩니다.",
        "cameras.title": "카메라 목록",
        "cameras.search": "검색",
        "cameras.search_placeholder": "주소, 관리번호, 이름",
        "cameras.all": "전체",
        "cameras.filter": "조회",
        "cameras.reset": "초기화",
        "cameras.total": "총 {total:,}대",
        "cameras.showing": "{start:,}–{end:,} 표시",
        "cameras.none": "조건에 맞는 카메라가 없습니다.",
        "cameras.prev": "이전",
        "cameras.next": "다음",
        "cameras.page": "{page} / {pages} 쪽",
        "camera.title": "카메라 상세",
        "camera.back": "목록으로",
        "camera.on_map": "위치",
        "camera.not_found": "카메라를 찾을 수 없습니다.",
        "map.title": "카메라 지도",
        "map.legend": "주목적",
        "map.status": "상태",
        "map.loading": "불러오는 중…",
        "map.loaded": "카메라 {count:,}대",
        "map.load_failed": "카메라 위치를 불러오지 못했습니다.",
        "map.detail": "상세 보기",
        "map.boundary": "구 경계",
        "map.all_off": "모두 끄기",
        "map.all_on": "모두 켜기",
        "annex1.title": "{district} 다목적 CCTV 운영 현황",
        "annex1.caption": "[별표 1] 협약서 양식, 등록부 자료로 산출",
        "annex1.as_of": "({when} 현재)",
        "annex1.label": "[별표 1]",
        "annex1.total": "합계",
        "annex1.print": "인쇄",
        "annex1.note": "개소는 서로 다른 설치 장소 수이며, 한 장소에 여러 부서의 카메라가 있으면 합계에서는 한 번만 셉니다. 철거된 카메라는 제외합니다.",
        "col.department": "부서",
        "col.primary_purpose": "주목적",
        "col.sites": "개소",
        "col.cameras": "대수",
        "col.secondary_purposes": "주목적 외 용도",
        "col.remarks": "비고",
        "field.management_number": "관리번호",
        "field.name": "이름",
        "field.site_key": "개소(설치장소) 번호",
        "field.road_address": "도로명주소",
        "field.lot_address": "지번주소",
        "field.department": "부서",
        "field.owner_organisation": "소유 기관",
        "field.primary_purpose": "주목적",
        "field.secondary_purposes": "주목적 외 용도",
        "field.camera_group": "카메라 그룹",
        "field.storage_mode": "저장 방식",
        "field.position": "위치 (WGS84 위도, 경도)",
        "field.direction": "촬영 방면",
        "field.direction_deg": "촬영 방향(도)",
        "field.resolution_mp": "화소(백만)",
        "field.retention_days": "보관기간(일)",
        "field.installed_month": "설치연월",
        "field.status": "상태",
        "field.stream_url": "영상 주소",
        "field.created_at": "등록 일시",
        "field.updated_at": "수정 일시",
        "field.retired_at": "철거 일시",
        "field.address": "주소",
        "common.none": "—",
        "common.days": "{n:,}일",
        "error.title": "오류",
        "error.csrf": "요청을 확인할 수 없습니다(CSRF). 화면을 새로 고친 뒤 다시 시도해 주세요.",
        "error.forbidden": "이 화면을 볼 권한이 없습니다.",
        "nav.board": "상황판",
        "board.title": "상황판",
        "board.title_112": "112 상황실",
        "board.subtitle_112": "경찰 대응 상황 (협약 제9조 ⑤, 동일 GIS 화면)",
        "board.incidents": "진행 중 상황",
        "board.map": "상황 지도",
        "board.detail": "상황 상세",
        "board.live.connecting": "실시간 연결 중…",
        "board.live.open": "실시간",
        "board.live.closed": "연결 끊김 — 재연결 중",
        "board.live.forbidden": "실시간 상황을 볼 권한이 없습니다",
        "board.empty": "진행 중인 상황이 없습니다.",
        "board.select_hint": "목록이나 지도에서 상황을 선택하세요.",
        "board.col.time": "발생",
        "board.col.status": "상태",
        "board.col.type": "유형",
        "board.col.title": "내용",
        "board.col.assigned": "담당",
        "board.actions": "조치",
        "board.unit": "출동 차량 호출부호",
        "board.unit_required": "출동 지령에는 호출부호가 필요합니다.",
        "board.note": "메모",
        "board.send": "확인",
        "board.sop": "표준 대응 절차 (SOP)",
        "board.sop.done": "완료",
        "board.sop.skipped": "건너뜀",
        "board.sop.tick": "완료 처리",
        "board.sop.skip": "건너뛰기",
        "board.sop.skip_reason": "건너뛰는 사유",
        "board.sop.required": "필수",
        "board.timeline": "처리 이력",
        "board.dispatches": "출동",
        "board.nearby": "인근 CCTV",
        "board.nearby.none": "인근 CCTV 정보가 없습니다.",
        "board.nearby.may_open": "열람 가능",
        "board.nearby.may_not_open": "열람 불가",
        "board.rejected": "처리 불가 메시지",
        "board.alert": "알림",
        "board.error": "처리하지 못했습니다",
        "board.assigned": "담당",
        "board.occurred": "발생 일시",
        "board.ack_due": "접수 기한",
        "board.routing": "처리 주체",
        "board.recognising": "상황 인지",
        "board.responding": "대응",
        "board.no_location": "위치 정보 없음",
        "board.finished": "종료된 상황",
        "board.event.created": "상황 생성",
        "board.event.escalated": "상향 보고",
        "board.event.sop_done": "절차 완료",
        "board.event.sop_skipped": "절차 생략",
        "lang.ko": "한국어",
        "lang.en": "English",
    },
    "en": {
        "app.name": "Integrated CCTV Control Center · {district}",
        "app.short": "gwanje",
        "nav.cameras": "Cameras",
        "nav.map": "Map",
        "nav.annex1": "Annex 1 report",
        "nav.logout": "Sign out",
        "nav.language": "Language",
        "nav.skip": "Skip to content",
        "login.title": "Sign in",
        "login.username": "Username",
        "login.password": "Password",
        "login.otp": "One-time code",
        "login.otp_hint": "Only roles with two-factor authentication (6 digits)",
        "login.submit": "Sign in",
        "login.expired": "The sign-in form expired. Please try again.",
        "login.notice": "Authorised users only. Every sign-in and every view is recorded.",
        "cameras.title": "Cameras",
        "cameras.search": "Search",
        "cameras.search_placeholder": "address, management number, name",
        "cameras.all": "All",
        "cameras.filter": "Filter",
        "cameras.reset": "Reset",
        "cameras.total": "{total:,} cameras",
        "cameras.showing": "showing {start:,}–{end:,}",
        "cameras.none": "No camera matches.",
        "cameras.prev": "Previous",
        "cameras.next": "Next",
        "cameras.page": "page {page} of {pages}",
        "camera.title": "Camera",
        "camera.back": "Back to list",
        "camera.on_map": "Location",
        "camera.not_found": "Camera not found.",
        "map.title": "Camera map",
        "map.legend": "Primary purpose",
        "map.status": "Status",
        "map.loading": "Loading…",
        "map.loaded": "{count:,} cameras",
        "map.load_failed": "Could not load camera positions.",
        "map.detail": "Details",
        "map.boundary": "District boundary",
        "map.all_off": "Hide all",
        "map.all_on": "Show all",
        "annex1.title": "Multi-purpose CCTV — {district}",
        "annex1.caption": "[Annex 1] as printed in the agreement, computed from the registry",
        "annex1.as_of": "(as of {when})",
        "annex1.label": "[Annex 1]",
        "annex1.total": "Total",
        "annex1.print": "Print",
        "annex1.note": "Sites count distinct installation places; a place with cameras of several departments counts once in the total. Retired cameras are excluded.",
        "col.department": "Department",
        "col.primary_purpose": "Primary purpose",
        "col.sites": "Sites",
        "col.cameras": "Cameras",
        "col.secondary_purposes": "Secondary purposes",
        "col.remarks": "Remarks",
        "field.management_number": "Management number",
        "field.name": "Name",
        "field.site_key": "Site key",
        "field.road_address": "Road address",
        "field.lot_address": "Lot address",
        "field.department": "Department",
        "field.owner_organisation": "Owner",
        "field.primary_purpose": "Primary purpose",
        "field.secondary_purposes": "Secondary purposes",
        "field.camera_group": "Camera group",
        "field.storage_mode": "Storage",
        "field.position": "Position (WGS84 lat, lon)",
        "field.direction": "Direction",
        "field.direction_deg": "Bearing (°)",
        "field.resolution_mp": "Resolution (MP)",
        "field.retention_days": "Retention (days)",
        "field.installed_month": "Installed",
        "field.status": "Status",
        "field.stream_url": "Stream URL",
        "field.created_at": "Registered",
        "field.updated_at": "Updated",
        "field.retired_at": "Retired",
        "field.address": "Address",
        "common.none": "—",
        "common.days": "{n:,} days",
        "error.title": "Error",
        "error.csrf": "The request could not be verified (CSRF). Reload the page and try again.",
        "error.forbidden": "You are not allowed to see this page.",
        "nav.board": "Situation board",
        "board.title": "Situation board",
        "board.title_112": "Police 112 situation room",
        "board.subtitle_112": "Incidents the police respond to (Art. 9 ⑤, the same GIS view)",
        "board.incidents": "Open incidents",
        "board.map": "Incident map",
        "board.detail": "Incident",
        "board.live.connecting": "Connecting…",
        "board.live.open": "Live",
        "board.live.closed": "Disconnected — reconnecting",
        "board.live.forbidden": "You are not allowed to see the live board",
        "board.empty": "No open incidents.",
        "board.select_hint": "Select an incident in the list or on the map.",
        "board.col.time": "Time",
        "board.col.status": "Status",
        "board.col.type": "Type",
        "board.col.title": "What",
        "board.col.assigned": "Assigned",
        "board.actions": "Actions",
        "board.unit": "Patrol unit call sign",
        "board.unit_required": "A dispatch needs the unit's call sign.",
        "board.note": "Note",
        "board.send": "OK",
        "board.sop": "Standard operating procedure",
        "board.sop.done": "done",
        "board.sop.skipped": "skipped",
        "board.sop.tick": "Done",
        "board.sop.skip": "Skip",
        "board.sop.skip_reason": "Reason for skipping",
        "board.sop.required": "required",
        "board.timeline": "Timeline",
        "board.dispatches": "Dispatches",
        "board.nearby": "Nearby cameras",
        "board.nearby.none": "No nearby cameras.",
        "board.nearby.may_open": "may open",
        "board.nearby.may_not_open": "may not open",
        "board.rejected": "Rejected messages",
        "board.alert": "Alert",
        "board.error": "Could not do that",
        "board.assigned": "Assigned to",
        "board.occurred": "Occurred",
        "board.ack_due": "Acknowledge by",
        "board.routing": "Responsibility",
        "board.recognising": "Recognises",
        "board.responding": "Responds",
        "board.no_location": "No location",
        "board.finished": "Finished incident",
        "board.event.created": "created",
        "board.event.escalated": "escalated",
        "board.event.sop_done": "SOP step done",
        "board.event.sop_skipped": "SOP step skipped",
        "lang.ko": "한국어",
        "lang.en": "English",
    },
}


def request_lang(request: Request) -> str:
    """``?lang=`` for this request, else the cookie, else Korean."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return DEFAULT_LANG


def _check_catalogue() -> None:
    # Both languages must name the same keys; a missing English line would show the key to an operator.
    missing = set(MESSAGES["ko"]) ^ set(MESSAGES["en"])
    if missing:
        raise RuntimeError("i18n catalogue keys differ between ko and en: " + ", ".join(sorted(missing)))


_check_catalogue()


@dataclass(frozen=True)
class Translator:
    """Everything a template needs to speak the request's language."""

    lang: str
    policy: Policy

    def __call__(self, key: str, **values: object) -> str:
        text = MESSAGES[self.lang].get(key) or MESSAGES[DEFAULT_LANG].get(key) or key
        if "{" not in text:
            return text
        return text.format(district=self.district, **values)

    def raw(self, key: str) -> str:
        """The catalogue text with its ``{placeholders}`` left in, for scripts to fill."""
        return MESSAGES[self.lang].get(key) or MESSAGES[DEFAULT_LANG].get(key) or key

    @property
    def district(self) -> str:
        """The district (party 갑) that runs the center, named by the policy."""
        for org in self.policy.organisations:
            if org.party_ko == "갑":
                return self._pick(org.name_ko, org.name_en)
        return ""

    def _pick(self, ko: str, en: str) -> str:
        return en if self.lang == "en" else ko

    def purpose(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            p = self.policy.purpose(code)
        except UnknownCode:
            return code
        return self._pick(p.ko, p.en)

    def department(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            d = self.policy.department(code)
        except UnknownCode:
            return code
        return self._pick(d.ko, d.en)

    def role(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            r = self.policy.role(code)
        except UnknownCode:
            return code
        return self._pick(r.ko, r.en)

    def organisation(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            o = self.policy.organisation(code)
        except UnknownCode:
            return code
        return self._pick(o.name_ko, o.name_en)

    def label(self, code: str | None) -> str:
        """Statuses and storage modes (registry enums)."""
        if not code:
            return ""
        pair = LABELS.get(code)
        return self._pick(*pair) if pair else code

    def datetime(self, value: datetime | None) -> str:
        """Times are stored in UTC; people read them in KST."""
        kst = to_kst(value)
        return "" if kst is None else kst.strftime("%Y-%m-%d %H:%M KST")
