"""The registry's choice sets: a camera's status and storage mode, each with its Korean and English
label and the colour the console draws it in (list, detail, map legend and markers, reports)."""

from __future__ import annotations

from gwanje.core.choices import Choice, ChoiceSet


class CameraStatus(ChoiceSet):
    active = Choice("운영", "active", "#2e7d32")
    fault = Choice("고장", "fault", "#c62828")
    maintenance = Choice("점검", "maintenance", "#ef6c00")
    retired = Choice("철거", "retired", "#757575")


class StorageMode(ChoiceSet):
    """Where the video is kept (Annex 1 비고: 현장저장, 이동형)."""

    central = Choice("센터저장", "central storage")
    on_site = Choice("현장저장", "on-site storage")
    mobile = Choice("이동형", "mobile")


def status_colours() -> dict[str, str]:
    """``{status: colour}`` for the legend and the markers."""
    return {c.code: CameraStatus.colour(c.code) for c in CameraStatus}
