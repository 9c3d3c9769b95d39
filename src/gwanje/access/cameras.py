"""Cameras named in access requests: by id (the JSON API) or by management number, as printed on
the pole (the console's forms). Read inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access.rules import check_camera_count
from gwanje.core.errors import ValidationFailed, not_found
from gwanje.registry.models import Camera


def ids_by_number(session: Session, numbers: Sequence[str], field: str = "cameras") -> list[int]:
    """Management numbers → camera ids, in the order given; unknown ones are named in the refusal."""
    numbers = list(numbers)
    if not numbers:
        raise ValidationFailed("CCTV를 하나 이상 지정하세요", "name at least one camera", field=field)
    found = dict(
        session.execute(select(Camera.management_number, Camera.id).where(Camera.management_number.in_(numbers))).all()
    )
    missing = [n for n in numbers if n not in found]
    if missing:
        raise not_found("CCTV", "camera", ", ".join(missing), field=field)
    return [found[n] for n in numbers]


def requested(session: Session, camera_ids: Sequence[int]) -> list[Camera]:
    """The cameras of a request, each one checked to exist."""
    ids = check_camera_count(camera_ids)
    cameras = list(session.scalars(select(Camera).where(Camera.id.in_(ids))))
    missing = sorted(set(ids) - {c.id for c in cameras})
    if missing:
        raise not_found("CCTV", "camera", ", ".join(map(str, missing)), field="camera_ids")
    return cameras


def by_ids(session: Session, camera_ids: Iterable[int]) -> list[Camera]:
    ids = list(camera_ids)
    return list(session.scalars(select(Camera).where(Camera.id.in_(ids)))) if ids else []


def numbers_of(session: Session, camera_ids: Iterable[int]) -> dict[int, str]:
    """``{camera id: management number}`` for showing a request's cameras."""
    ids = set(camera_ids)
    if not ids:
        return {}
    return dict(session.execute(select(Camera.id, Camera.management_number).where(Camera.id.in_(ids))).all())
