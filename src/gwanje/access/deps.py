"""Access request dependencies shared by its parts: the request id for the audit chain, and where
official documents and exports are kept. (The provision a caller may see is
:mod:`gwanje.access.provisions.deps`.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


RequestId = Annotated[str | None, Depends(request_id)]


def documents_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir) / "documents"


DocumentsDir = Annotated[Path, Depends(documents_dir)]


@dataclass(frozen=True)
class ExportPlace:
    """Where the evidence side writes a provision's export, and the key it signs it with."""

    var_dir: Path
    secret_key: str


def export_place(request: Request) -> ExportPlace:
    return ExportPlace(Path(request.app.state.settings.var_dir), request.app.state.secret_key)


Exporting = Annotated[ExportPlace, Depends(export_place)]
