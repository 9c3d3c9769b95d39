"""Response models of the audit API: chain entries, the result of verifying the chain, checkpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gwanje.core.schemas import Timestamp


class AuditEntryRead(BaseModel):
    """One row of the tamper-evident chain; ``before`` and ``after`` are the JSON text that was hashed."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: Timestamp
    actor_id: int | None
    actor_name: str
    organisation: str | None
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    purpose: str | None
    clause: str | None
    before: str | None
    after: str | None
    request_id: str | None
    prev_hash: str
    hash: str
    mac: str | None = Field(description="HMAC-SHA256 of the hash with the audit key; null on rows before keying")
    key_id: str | None = Field(description="which audit key made the MAC (an id, not the key)")


class ProblemRead(BaseModel):
    ko: str
    en: str


class CheckpointRead(BaseModel):
    """A signed checkpoint (Ed25519) from the append-only file outside the database."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    at: Timestamp
    rows: int
    head: str
    keyed_since: int | None
    key_id: str | None
    signer: str = Field(description="fingerprint of the public key that signed it")


class AuditVerifyRead(BaseModel):
    ok: bool
    rows: int
    head_hash: str
    bad_seq: int | None = Field(description="the first row that does not fit the chain")
    problem: ProblemRead | None
    kind: str | None = Field(
        description="edited, removed, reordered, unlinked, resigned, unkeyed, other_key, no_key, truncated, "
        "rewritten or checkpoint_file"
    )
    keyed_since: int | None = Field(description="the first row with an HMAC (the switch to the keyed chain)")
    checkpoint: CheckpointRead | None = Field(description="the latest signed checkpoint the chain was checked against")
    checkpoints: int = Field(description="how many signed checkpoints were checked")
    signer: str | None = Field(description="fingerprint of this installation's checkpoint signing key")


class PublicKeyRead(BaseModel):
    """The public key that verifies the checkpoints, to keep somewhere the server cannot reach."""

    pem: str
    fingerprint: str
