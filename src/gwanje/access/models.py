"""Access tables: cameras attached to incidents, provision and subject requests, retention holds
and the append-only ledger (개인영상정보 관리대장)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime


class IncidentCamera(Base):
    """A nearby camera attached to an incident: police may open it while the incident is open (Art. 9 ⑤)."""

    __tablename__ = "incident_cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), nullable=False)
    attached_by_id: Mapped[int | None] = mapped_column(Integer)
    attached_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("incident_id", "camera_id", name="uq_incident_cameras_incident_camera"),)


class ProvisionRequest(Base):
    """영상정보 제공 요청: a police request for footage, or an emergency first access (Art. 11)."""

    __tablename__ = "provision_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # regular | emergency
    status: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True)
    requester_name: Mapped[str] = mapped_column(String(200), nullable=False)
    requester_role: Mapped[str] = mapped_column(String(40), nullable=False)
    organisation: Mapped[str] = mapped_column(String(40), nullable=False)
    camera_ids: Mapped[str] = mapped_column(String(2000), nullable=False)  # ",1,2,"
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    legal_ground: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    document_number: Mapped[str | None] = mapped_column(String(100))
    document_path: Mapped[str | None] = mapped_column(String(500))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_content_type: Mapped[str | None] = mapped_column(String(40))
    document_size: Mapped[int | None] = mapped_column(Integer)
    document_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    document_overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    provided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    export_ref: Mapped[str | None] = mapped_column(String(200))
    usage_result_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    usage_result_overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usage_result: Mapped[str | None] = mapped_column(Text)
    usage_outcome: Mapped[str | None] = mapped_column(String(40))
    usage_result_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usage_result_by_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    @property
    def camera_id_list(self) -> list[int]:
        return [int(c) for c in self.camera_ids.split(",") if c]


class SubjectRequest(Base):
    """개인영상정보 열람 청구 (PIPA Art. 35): a person asks to see footage of themselves."""

    __tablename__ = "subject_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    requester_name: Mapped[str] = mapped_column(String(120), nullable=False)
    requester_contact: Mapped[str | None] = mapped_column(String(200))
    identity_method: Mapped[str] = mapped_column(String(40), nullable=False)
    identity_verified_by_id: Mapped[int | None] = mapped_column(Integer)
    identity_verified_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    identity_verified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    camera_ids: Mapped[str] = mapped_column(String(2000), nullable=False)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_reason: Mapped[str | None] = mapped_column(String(40))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    # "provided" always means a copy or viewing with everyone else masked: the export must honour it.
    mask_others: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    export_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    @property
    def camera_id_list(self) -> list[int]:
        return [int(c) for c in self.camera_ids.split(",") if c]


class RetentionHold(Base):
    """Keeps a recording or export past its retention period, on a recorded legal basis."""

    __tablename__ = "retention_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)  # recording | export | camera
    object_id: Mapped[str] = mapped_column(String(120), nullable=False)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    request_number: Mapped[str | None] = mapped_column(String(100))
    placed_by_id: Mapped[int | None] = mapped_column(Integer)
    placed_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_name: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_retention_holds_object", "object_type", "object_id"),)


class LedgerEntry(Base):
    """개인영상정보 관리대장: one row per use, provision, viewing or destruction.

    Append-only (database triggers refuse UPDATE and DELETE); a correction is a new row that names
    the row it corrects and why.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # use|provision|viewing|destruction
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    recipient: Mapped[str | None] = mapped_column(String(200))
    recipient_organisation: Mapped[str | None] = mapped_column(String(120))
    purpose: Mapped[str | None] = mapped_column(String(40))
    legal_ground: Mapped[str | None] = mapped_column(String(200))
    items: Mapped[str] = mapped_column(Text, nullable=False)
    camera_ids: Mapped[str] = mapped_column(String(2000), nullable=False, default=",")
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    retention_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(40), nullable=False)
    handler_id: Mapped[int | None] = mapped_column(Integer)
    handler_name: Mapped[str] = mapped_column(String(200), nullable=False)
    reference_type: Mapped[str | None] = mapped_column(String(40))
    reference_id: Mapped[str | None] = mapped_column(String(120))
    clause: Mapped[str | None] = mapped_column(String(60))
    audit_seq: Mapped[int | None] = mapped_column(Integer)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id", ondelete="RESTRICT"))
    correction_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_ledger_entries_reference", "reference_type", "reference_id"),)
