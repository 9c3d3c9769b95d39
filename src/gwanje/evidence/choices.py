"""The evidence capability's choice sets: the steps of a package's chain of custody, and why a
download was refused (both stored as codes in ``evidence_custody``)."""

from __future__ import annotations

from gwanje.core.choices import Choice, ChoiceSet


class CustodyAction(ChoiceSet):
    created = Choice("패키지 생성", "package created")
    link_issued = Choice("다운로드 링크 발급", "download link issued")
    downloaded = Choice("다운로드", "downloaded")
    download_refused = Choice("다운로드 거부", "download refused")
    verified = Choice("무결성 검증", "integrity verified")


class DownloadRefusal(ChoiceSet):
    not_recipient = Choice("수령인이 아님", "not the recipient")
    invalid_token = Choice("잘못된 링크", "invalid link")
    revoked = Choice("회수됨", "revoked")
    expired = Choice("만료됨", "expired")
    used_up = Choice("사용 횟수 초과", "used up")
    file_missing = Choice("파일 파기됨", "file destroyed")
