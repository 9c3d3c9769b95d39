"""Video benchmark (issue: video): evidence export by stream copy, face masking throughput.

Runs its parts one after the other in separate processes, so no part's memory or threads affect
another, and passes their tables and JSON figure lines through (run a part directly for its options):
- bench/video_export.py — a 60 s 1080p clip cut from recorded segments by stream copy;
  anchor: ffmpeg's own -ss/-to -c copy cut of the same span.
- bench/video_masking.py — masking frames/s at 720p and 1080p; anchor: plain ffmpeg decode +
  encode of the same clip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("video_export.py", "video_masking.py")


def main() -> int:
    worst = 0
    for part in PARTS:
        print(f"\n=== {part} ===", flush=True)
        worst = max(worst, subprocess.call([sys.executable, str(HERE / part)]))
    return worst


if __name__ == "__main__":
    sys.exit(main())
