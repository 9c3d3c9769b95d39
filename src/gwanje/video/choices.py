"""The video capability's choice sets: what a cut clip is for."""

from __future__ import annotations

from gwanje.core.choices import Choice, ChoiceSet


class ClipKind(ChoiceSet):
    """A clip cut from the recorded segments: a short-lived playback cache or a kept export copy."""

    playback = Choice("재생 캐시", "playback cache")
    export = Choice("반출 사본", "export copy")
