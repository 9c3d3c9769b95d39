"""Pure provision rules: the request's state machine, which states open the cameras, and the
official document scans recognised by their content. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gwanje.access.choices import ProvisionStatus
from gwanje.access.rules import transition
from gwanje.core.errors import TooLarge, ValidationFailed
from gwanje.policy import decisions

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

# Provided footage whose usage result (Art. 11 ②) is still to be entered.
RESULT_PENDING_STATUSES = frozenset({"exported", "document_received"})


def provision_next(status: str, action: str) -> str:
    return transition(PROVISION_TRANSITIONS, ProvisionStatus, status, action, "제공 요청", "provision request")


def document_overdue(due_at: datetime | None, received_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and received_at is None and decisions.is_overdue(due_at, now)


def result_overdue(due_at: datetime | None, entered_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and entered_at is None and decisions.is_overdue(due_at, now)


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
        raise TooLarge(
            f"공문 파일은 {MAX_DOCUMENT_BYTES // 1_048_576}MB 이하여야 합니다",
            f"the document scan may not exceed {MAX_DOCUMENT_BYTES // 1_048_576} MB",
            field="file",
        )
    for content_type, (magic, _) in DOCUMENT_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise ValidationFailed("PDF, JPEG, PNG 파일만 받습니다", "only PDF, JPEG and PNG files are accepted", field="file")


def check_document_number(number: str | None) -> str:
    number = (number or "").strip()
    if not number:
        raise ValidationFailed("공문 번호를 입력하세요", "give the official document number", field="document_number")
    return number[:100]
