"""FastAPI dependencies of the evidence routes: where packages are kept and the key that signs them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from gwanje.evidence import service


def get_var_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir)


def get_store(request: Request) -> Path:
    return service.package_store(get_var_dir(request))


def get_secret_key(request: Request) -> str:
    return request.app.state.secret_key


VarDir = Annotated[Path, Depends(get_var_dir)]
Store = Annotated[Path, Depends(get_store)]
SecretKey = Annotated[str, Depends(get_secret_key)]
