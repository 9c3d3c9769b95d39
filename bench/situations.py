"""Situations benchmark (issue: situations): ingest, nearest cameras, hot-list matching.

Runs its parts one after the other in separate processes, so no part's memory or threads affect
another, and passes their tables and JSON figure lines through (run a part directly for its options):
- bench/situations_ingest.py — MQTT publish → stored (PostgreSQL) → WebSocket; anchor: raw
  Mosquitto QoS 1 publish→subscribe with the same Python client.
- bench/situations_nearest_hotlist.py — nearest-10 at 1,069 / 110,000 / 1,600,000 cameras
  (anchor: PostGIS KNN over loopback) and hot-list matching (anchor: exact set lookup).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("situations_ingest.py", "situations_nearest_hotlist.py")


def main() -> int:
    worst = 0
    for part in PARTS:
        print(f"\n=== {part} ===", flush=True)
        worst = max(worst, subprocess.call([sys.executable, str(HERE / part)]))
    return worst


if __name__ == "__main__":
    sys.exit(main())
