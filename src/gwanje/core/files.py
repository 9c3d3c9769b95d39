"""File helpers shared by every capability."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (recordings and exports are large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
