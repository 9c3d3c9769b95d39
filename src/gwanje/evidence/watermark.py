"""The visible watermark: who asked for this copy and who received it, on every frame.

The text is drawn by ffmpeg's ``drawtext`` in the same encode as the face masking, so an
export is encoded once. The text goes through ``textfile=`` rather than ``text=``: a request
reference or a name can then hold quotes, colons or ``%`` without any filter-graph escaping.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

FONT_CANDIDATES = (
    # Debian's fonts-nanum: Hangul and Latin in one face.
    Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
)


class FontMissing(RuntimeError):
    pass


def find_font() -> Path:
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    raise FontMissing(
        "한글 글꼴이 없습니다 (apt-get install fonts-nanum) / no Korean font found (apt-get install fonts-nanum)"
    )


@dataclass(frozen=True)
class Watermark:
    """What the recipient's copy says about itself."""

    request_ref: str
    recipient_name: str
    package_id: str

    def lines(self) -> tuple[str, str]:
        top = f"증거영상 EVIDENCE {self.package_id}"
        bottom = f"요청 {self.request_ref} · 수령 {self.recipient_name} · 외부 제공 금지"
        return top, bottom

    def text(self) -> str:
        return " / ".join(self.lines())


def _escape_path(path: Path) -> str:
    # Inside a filter graph ':' separates options and '\\' and "'" are special; temp paths and
    # font paths hold none of these on Linux, but refuse them rather than emit a broken graph.
    text = str(path)
    if any(ch in text for ch in ":'\\,;[]"):
        raise ValueError(f"unsupported character in path for ffmpeg filter: {text}")
    return text


class WatermarkFilter:
    """Writes the text files and builds the ``-vf`` chain; remove the files with :meth:`close`."""

    def __init__(self, mark: Watermark, height: int, font: Path | None = None):
        self.font = font or find_font()
        self._dir = tempfile.TemporaryDirectory(prefix="gwanje-wm-")
        top, bottom = mark.lines()
        self._top = Path(self._dir.name) / "top.txt"
        self._bottom = Path(self._dir.name) / "bottom.txt"
        self._top.write_text(top, encoding="utf-8")
        self._bottom.write_text(bottom, encoding="utf-8")
        self.size = max(14, height // 28)

    def vf(self) -> str:
        common = (
            f"fontfile={_escape_path(self.font)}:expansion=none:fontsize={self.size}:"
            f"fontcolor=white@0.85:box=1:boxcolor=black@0.45:boxborderw={max(4, self.size // 4)}"
        )
        margin = max(8, self.size // 2)
        top = f"drawtext={common}:textfile={_escape_path(self._top)}:x={margin}:y={margin}"
        bottom = f"drawtext={common}:textfile={_escape_path(self._bottom)}:x=w-tw-{margin}:y=h-th-{margin}"
        return f"{top},{bottom}"

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> "WatermarkFilter":
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.close()
