"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint says "at time T the chain had N rows and its head was H (keyed since row K)". Each one
is a JSON line, signed with Ed25519, appended to ``var/audit-checkpoints.jsonl``; each line also
carries the SHA-256 of the line before it, so a line removed from the middle of the file shows.
The signing key is a PEM file in ``var/`` (``audit-signing-key.pem``, mode 0600), never in the
database: whoever can rewrite the database cannot forge a checkpoint, and ``gwanje audit verify``
then reports rows missing or rewritten since the last one. ``gwanje audit public-key`` exports the
public key so an auditor can check the file elsewhere.

This module knows nothing of the database; :mod:`gwanje.core.audit` reads the chain's head and
compares it with the checkpoints.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from Cryptodome.PublicKey import ECC
from Cryptodome.Signature import eddsa

GENESIS_LINE = "0" * 64
VERSION = 1


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint(public_key: ECC.EccKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of the SHA-256 of its DER."""
    return hashlib.sha256(public_key.export_key(format="DER")).hexdigest()[:16]


def load_public_key(pem: str) -> ECC.EccKey:
    key = ECC.import_key(pem)
    return key.public_key() if key.has_private() else key


@dataclass(frozen=True)
class Checkpoint:
    number: int
    at: datetime
    rows: int
    head: str
    keyed_since: int | None
    key_id: str | None
    signer: str
    line: int


@dataclass(frozen=True)
class CheckpointProblem:
    line: int
    problem_ko: str
    problem_en: str


@dataclass(frozen=True)
class CheckpointReading:
    checkpoints: list[Checkpoint]
    problems: list[CheckpointProblem]

    @property
    def latest(self) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None


class CheckpointLog:
    """The append-only file of signed checkpoints and the key that signs them."""

    def __init__(self, path: Path, signing_key_path: Path, interval_seconds: int = 300):
        self.path = Path(path)
        self.signing_key_path = Path(signing_key_path)
        self.interval_seconds = interval_seconds
        self._key: ECC.EccKey | None = None
        self._cache: tuple[tuple[int, int], CheckpointReading] | None = None

    # --- the signing key ---------------------------------------------------------------------

    def _signing_key(self) -> ECC.EccKey:
        if self._key is None:
            path = self.signing_key_path
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                pem = ECC.generate(curve="Ed25519").export_key(format="PEM")
                with contextlib.suppress(FileExistsError):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        fh.write(pem)
            self._key = ECC.import_key(path.read_text())
        return self._key

    def public_key(self) -> ECC.EccKey:
        return self._signing_key().public_key()

    def public_key_pem(self) -> str:
        return self.public_key().export_key(format="PEM")

    def signer(self) -> str:
        return fingerprint(self.public_key())

    # --- reading -----------------------------------------------------------------------------

    def read(self, public_key: ECC.EccKey | None = None) -> CheckpointReading:
        """Every checkpoint whose signature and link hold, and what is wrong with the others.

        ``public_key``: check against an exported key instead of this installation's own.
        """
        if not self.path.exists():
            return CheckpointReading([], [])
        stat = self.path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        if public_key is None and self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        verifier_key = public_key or self.public_key()
        expected_signer = fingerprint(verifier_key)
        verifier = eddsa.new(verifier_key, "rfc8032")
        problems: list[CheckpointProblem] = []
        # Each signed line names the SHA-256 of the line before it, so a good signature on the last
        # line of a run of linked lines vouches for the whole run: one signature check per run,
        # each line's own only when that fails.
        runs: list[list[tuple[Checkpoint, bytes, bytes]]] = []
        prev_line = GENESIS_LINE
        number = 0
        for line_no, raw in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            line_hash = hashlib.sha256(raw.encode("utf-8")).hexdigest()
            try:
                record = json.loads(raw)
                signature = base64.b64decode(record.pop("sig"), validate=True)
                cp = Checkpoint(
                    number=int(record["n"]),
                    at=datetime.fromisoformat(record["at"]),
                    rows=int(record["rows"]),
                    head=str(record["head"]),
                    keyed_since=None if record["keyed_since"] is None else int(record["keyed_since"]),
                    key_id=record["key_id"],
                    signer=str(record["signer"]),
                    line=line_no,
                )
                linked = record["prev"] == prev_line and cp.number == number + 1
            except (ValueError, KeyError, TypeError, AttributeError):
                problems.append(
                    CheckpointProblem(
                        line_no,
                        f"체크포인트 파일 {line_no}번째 줄을 읽을 수 없습니다 (변조)",
                        f"line {line_no} of the checkpoint file cannot be read (altered)",
                    )
                )
                prev_line = line_hash
                continue
            if not linked:
                problems.append(
                    CheckpointProblem(
                        line_no,
                        f"체크포인트 {cp.number} 앞의 체크포인트가 변경, 삭제되었거나 순서가 바뀌었습니다",
                        f"the checkpoint before checkpoint {cp.number} (line {line_no}) was altered, removed"
                        " or reordered",
                    )
                )
                runs.append([])
            elif not runs:
                runs.append([])
            runs[-1].append((cp, _canonical(record), signature))
            number = cp.number
            prev_line = line_hash

        def signed(cp: Checkpoint, message: bytes, signature: bytes) -> bool:
            try:
                verifier.verify(message, signature)
                return True
            except ValueError:
                who = "" if cp.signer == expected_signer else f", signer {cp.signer} ≠ {expected_signer}"
                problems.append(
                    CheckpointProblem(
                        cp.line,
                        f"체크포인트 {cp.number} ({cp.at.isoformat()}) 서명이 맞지 않습니다: "
                        f"파일이 변조되었습니다{who}",
                        f"checkpoint {cp.number} of {cp.at.isoformat()} (line {cp.line}): the signature does not "
                        f"verify; the checkpoint file was altered{who}",
                    )
                )
                return False

        checkpoints: list[Checkpoint] = []
        for run in runs:
            if signed(*run[-1]):
                checkpoints.extend(cp for cp, _, _ in run)
            else:
                checkpoints.extend(cp for cp, message, signature in run[:-1] if signed(cp, message, signature))
        problems.sort(key=lambda p: p.line)
        reading = CheckpointReading(checkpoints, problems)
        if public_key is None:
            self._cache = (stamp, reading)
        return reading

    # --- writing -----------------------------------------------------------------------------

    def append(self, *, at: datetime, rows: int, head: str, keyed_since: int | None, key_id: str | None) -> Checkpoint:
        """Sign and append one checkpoint; appends from several processes are serialised by a file lock."""
        key = self._signing_key()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.seek(0)
                lines = [raw for raw in fh.read().splitlines() if raw.strip()]
                prev_line = hashlib.sha256(lines[-1].encode("utf-8")).hexdigest() if lines else GENESIS_LINE
                number = 1
                if lines:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        number = int(json.loads(lines[-1])["n"]) + 1
                record = {
                    "v": VERSION,
                    "n": number,
                    "at": at.isoformat(timespec="microseconds"),
                    "rows": rows,
                    "head": head,
                    "keyed_since": keyed_since,
                    "key_id": key_id,
                    "prev": prev_line,
                    "signer": fingerprint(key.public_key()),
                }
                record["sig"] = base64.b64encode(eddsa.new(key, "rfc8032").sign(_canonical(record))).decode()
                fh.seek(0, os.SEEK_END)
                fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        self._cache = None
        return Checkpoint(number, at, rows, head, keyed_since, key_id, record["signer"], len(lines) + 1)
