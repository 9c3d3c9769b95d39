"""Evidence has no pages of its own: a package is prepared and handed out from the provision pages of
``gwanje.access`` (which show it through ``evidence.schemas.EvidencePackageRead``), and downloaded through
``/api/evidence/{id}/download``. Nothing to register, so ``routers`` is empty."""

from __future__ import annotations

from fastapi import APIRouter

routers: list[APIRouter] = []
