"""Audit has no pages yet: the chain is read and verified through ``/api/audit`` (``api.py``) and
``gwanje audit verify``."""

from __future__ import annotations

from fastapi import APIRouter

routers: list[APIRouter] = []
