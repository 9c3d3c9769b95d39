"""Request and response models of provisions, emergency access, usage results and statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from gwanje.access.choices import ProvisionStatus
from gwanje.access.models import ProvisionRequest
from gwanje.access.provisions import rules
from gwanje.access.rules import MAX_CAMERAS, id_list
from gwanje.access.schemas import Timestamp
from gwanje.core.clock import utcnow
from gwanje.core.schemas import Id, Instant, StrictModel
from gwanje.evidence.schemas import EvidencePackageRead

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
CameraIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_CAMERAS)]


class Label(BaseModel):
    ko: str
    en: str


# ---- requests ---------------------------------------------------------------------------------


class ProvisionCreate(StrictModel):
    """A request for footage, with its legal ground and official document number (the scan follows)."""

    camera_ids: CameraIds
    period_start: Instant
    period_end: Instant
    purpose: Code
    legal_ground: Code
    reason: Reason
    document_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    incident_id: Id | None = None


class EmergencyCreate(StrictModel):
    """Art. 11 ①: access at once with a stated reason; the document is due afterwards."""

    camera_ids: CameraIds
    period_start: Instant
    period_end: Instant
    purpose: Code
    legal_ground: Code
    reason: Reason
    incident_id: Id | None = None


class ProvisionDecisionCreate(StrictModel):
    decision: Literal["approve", "reject"]
    reason: Reason
    mask_faces: bool = Field(default=False, description="Approve: mask faces in the prepared export.")


class ExportCreate(StrictModel):
    mask_faces: bool = False


class UsageResultCreate(StrictModel):
    used_for: Reason
    outcome: Code


# ---- answers ----------------------------------------------------------------------------------


class ProvisionRead(BaseModel):
    """A provision request or an emergency access, with its deadlines as of now."""

    id: int
    kind: str  # regular | emergency
    status: str
    status_label: Label
    requester: str
    requester_role: str
    organisation: str
    camera_ids: list[int]
    period_start: Timestamp
    period_end: Timestamp
    purpose: str
    legal_ground: str
    reason: str
    incident_id: int | None
    document_number: str | None
    document_sha256: str | None
    document_content_type: str | None
    document_received_at: Timestamp | None
    document_due_at: Timestamp | None
    document_overdue: bool
    decided_by: str | None
    decided_at: Timestamp | None
    decision_reason: str | None
    provided_at: Timestamp | None
    export_ref: str | None
    usage_result_due_at: Timestamp | None
    usage_result_overdue: bool
    usage_result: str | None
    usage_outcome: str | None
    usage_result_entered_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, p: ProvisionRequest, now: datetime | None = None) -> "ProvisionRead":
        now = now or utcnow()
        ko, en = ProvisionStatus.labels(p.status)
        return cls(
            id=p.id,
            kind=p.kind,
            status=p.status,
            status_label=Label(ko=ko, en=en),
            requester=p.requester_name,
            requester_role=p.requester_role,
            organisation=p.organisation,
            camera_ids=id_list(p.camera_ids),
            period_start=p.period_start,
            period_end=p.period_end,
            purpose=p.purpose,
            legal_ground=p.legal_ground,
            reason=p.reason,
            incident_id=p.incident_id,
            document_number=p.document_number,
            document_sha256=p.document_sha256,
            document_content_type=p.document_content_type,
            document_received_at=p.document_received_at,
            document_due_at=p.document_due_at,
            document_overdue=rules.document_overdue(p.document_due_at, p.document_received_at, now),
            decided_by=p.decided_by_name,
            decided_at=p.decided_at,
            decision_reason=p.decision_reason,
            provided_at=p.provided_at,
            export_ref=p.export_ref,
            usage_result_due_at=p.usage_result_due_at,
            usage_result_overdue=rules.result_overdue(p.usage_result_due_at, p.usage_result_entered_at, now),
            usage_result=p.usage_result,
            usage_outcome=p.usage_outcome,
            usage_result_entered_at=p.usage_result_entered_at,
            created_at=p.created_at,
        )


EXPORT_NOTICE = Label(
    ko="비밀번호는 다시 볼 수 없습니다. 수령인에게 다른 경로(전화 등)로 전달하십시오. 수령인은 로그인한 뒤 자신의 제공 "
    "요청 화면에서 내려받습니다.",
    en="The password cannot be shown again: give it to the recipient by another channel (e.g. phone). The "
    "recipient downloads the package from their provisions page after signing in.",
)


class ExportPrepared(BaseModel):
    """The package prepared for the requester. The password is in this answer only."""

    prepared: Literal[True]
    package: EvidencePackageRead
    password: str
    download_url: str
    download_expires_at: Timestamp
    cameras_without_recordings: list[str]
    notice: Label

    @classmethod
    def of(cls, made: Any) -> "ExportPrepared":
        """From ``gwanje.evidence.service.ProvisionExport``."""
        created = made.package
        return cls(
            prepared=True,
            package=created.record,
            password=created.password,
            download_url=f"/api/evidence/{created.id}/download?token={created.download_token}",
            download_expires_at=created.download_expires_at,
            cameras_without_recordings=list(made.cameras_without_recordings),
            notice=EXPORT_NOTICE,
        )


class ExportFailed(BaseModel):
    """The approval stands; the export could not be prepared and can be retried at ``retry``."""

    prepared: Literal[False]
    error: str
    message: Label
    retry: str

    @classmethod
    def of(cls, provision_id: int, code: str, ko: str, en: str) -> "ExportFailed":
        return cls(
            prepared=False,
            error=code,
            message=Label(
                ko=f"승인은 완료되었으나 반출 영상을 준비하지 못했습니다: {ko}",
                en=f"Approved, but the export could not be prepared: {en}",
            ),
            retry=f"/api/access/provisions/{provision_id}/export",
        )


class ProvisionDecisionRead(ProvisionRead):
    """The decided request; an approval says whether its export was prepared (absent on a rejection)."""

    export: Annotated[ExportPrepared | ExportFailed, Field(discriminator="prepared")] | None = None

    @classmethod
    def decided(cls, p: ProvisionRequest, export: ExportPrepared | ExportFailed) -> "ProvisionDecisionRead":
        return cls(**ProvisionRead.of(p).model_dump(), export=export)


class OverdueItemRead(BaseModel):
    kind: str  # document | usage_result | subject_request
    object_id: int
    due_at: Timestamp
    responsible: str
    clause: str
    label_ko: str
    label_en: str


class DeadlineAlertRead(BaseModel):
    """A deadline the viewer's role must act on (``access.deadline_alerts`` in the policy): an
    emergency's official document past due (``blocks_at``: from then on access under it is refused),
    a usage result past due, a subject request near (``overdue`` false) or past its 10 days."""

    kind: Literal["document", "usage_result", "subject_request"]
    object_id: int
    due_at: Timestamp
    overdue: bool
    blocks_at: Timestamp | None
    organisation: str
    responsible: str
    clause: str
    label_ko: str
    label_en: str
    href: str


class UsageStatisticRead(BaseModel):
    """CCTV performance: the usage results of one camera, purpose and month (KST)."""

    camera_id: int
    management_number: str | None
    purpose: str
    month: str
    uses: int
    outcomes: dict[str, int]
    effective: int
