"""Provision workflows that span transactions, named.

``approve_and_prepare_export``: the approval is one transaction (it stands on its own, audited);
preparing the requester's export is the evidence side's own use case, in transactions of its own,
afterwards. When the export cannot be prepared the approval still stands, the approver is told why,
and :func:`try_prepare_export` retries it later.

``issue_provision_download``: the recipient of a prepared export asks for a fresh link — the
provision is read here, the link issued by the evidence side in its own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gwanje.access.models import ProvisionRequest
from gwanje.access.provisions import service as provisions
from gwanje.accounts.models import User
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.errors import DomainError, not_found
from gwanje.evidence import service as evidence
from gwanje.policy.model import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportAttempt:
    """How preparing a provision's export went: ``prepared``, or the refusal in ``error``; neither
    means an unexpected failure (logged), which is not the approver's to fix."""

    provision_id: int
    prepared: evidence.ProvisionExport | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.prepared is not None


@dataclass(frozen=True)
class Approval:
    provision: ProvisionRequest  # as it stands after the attempt (``exported`` when the export was prepared)
    export: ExportAttempt


def try_prepare_export(
    db: Database,
    policy: Policy,
    user: User,
    provision_id: int,
    *,
    mask_faces: bool,
    var_dir: Path,
    secret_key: str,
    request_id: str | None = None,
) -> ExportAttempt:
    """Prepare an approved provision's export for its requester; every failure is reported, not raised."""
    try:
        made = evidence.prepare_provision_export(
            db,
            policy,
            user,
            provision_id,
            mask_faces=mask_faces,
            var_dir=Path(var_dir),
            secret_key=secret_key,
            request_id=request_id,
        )
    except DomainError as exc:
        return ExportAttempt(provision_id, error=exc)
    except Exception:  # the approval is committed: report (and log) the failure rather than lose it
        log.exception("preparing the export of provision %s failed", provision_id)
        return ExportAttempt(provision_id)
    return ExportAttempt(provision_id, prepared=made)


def approve_and_prepare_export(
    db: Database,
    policy: Policy,
    user: User,
    provision_id: int,
    *,
    reason: str,
    mask_faces: bool,
    var_dir: Path,
    secret_key: str,
    request_id: str | None = None,
) -> Approval:
    """Approve a provision request (one transaction), then prepare its export (the evidence side's)."""
    approved = provisions.decide_provision(
        db, policy, user, provision_id, approve=True, reason=reason, request_id=request_id
    )
    attempt = try_prepare_export(
        db,
        policy,
        user,
        provision_id,
        mask_faces=mask_faces,
        var_dir=var_dir,
        secret_key=secret_key,
        request_id=request_id,
    )
    if not attempt.ok:
        return Approval(approved, attempt)
    with db.reading() as session:
        return Approval(provisions.get_provision(session, provision_id), attempt)


def issue_provision_download(db: Database, provision_id: int, user: User, actor: Actor) -> tuple[int, str]:
    """A fresh single-use link to the package prepared for ``user``'s own provision request:
    ``(package id, token)``. Anyone else's request, or one without a package, is 'not found'."""
    with db.reading() as session:
        p = provisions.get_provision(session, provision_id)
        package = evidence.package_by_uid(session, p.export_ref) if p.requester_id == user.id else None
        package_id = package.id if package is not None else None
    if package_id is None:
        raise not_found("반출 패키지", "export package", provision_id, field="provision_id")
    token, _ = evidence.issue_recipient_link(db, package_id, user, actor)
    return package_id, token
