"""Time of one provisioning cycle for 10,000 and then 100,000 pending SFTP channels.

    python bench/sync_cycle.py [COUNT ...]      (default: 10000 100000)

Each count runs three times (median and best shown), each on a fresh SQLite file and homes
folder in a temporary directory; the time is ``run_cycle`` alone (lease, query, 7 mkdir per
account, chunked updates), next to the same mkdir calls timed on their own.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFkZGVkIGZvciB0aGUgYmVuY2ggb25seSAwMDAwMDA bench"


def measure(count: int) -> tuple[float, float, float]:
    from store.db import close_database, open_database
    from sync.cycle import run_cycle
    from sync.homes import ensure_home
    from sync.schedule import current_slot
    from tests.support.bulk import seed_pending_channels

    work = Path(tempfile.mkdtemp(prefix="expedito-cycle-"))
    try:
        open_database(work / "bench.sqlite3")
        seed_pending_channels(count, KEY)
        now = datetime.now(UTC)
        os.sync()  # the seeding's dirty pages are not the cycle's cost
        started = time.perf_counter()
        result = run_cycle(current_slot(now), work / "homes", lambda: now)
        elapsed = time.perf_counter() - started
        assert result.status == "done" and result.provisioned == count, result
        # the same mkdir calls on their own, to show what the file system costs
        (work / "mkdir-only").mkdir()
        os.sync()
        started = time.perf_counter()
        for index in range(count):
            ensure_home(work / "mkdir-only", f"bulkuser{index:07d}")
        mkdir_only = time.perf_counter() - started
        close_database()
        return elapsed, mkdir_only, elapsed - mkdir_only
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    counts = [int(a) for a in argv] or [10_000, 100_000]
    repeat = 3
    medians: list[tuple[int, float]] = []
    for count in counts:
        runs = [measure(count) for _ in range(repeat)]
        cycles = sorted(r[0] for r in runs)
        mkdirs = sorted(r[1] for r in runs)
        median = statistics.median(cycles)
        line = (
            f"{count:>7} pending channels: cycle median {median:6.2f} s "
            f"(min {cycles[0]:.2f}, {median / count * 1e6:5.1f} µs each); "
            f"the same mkdir calls alone: median {statistics.median(mkdirs):6.2f} s "
            f"(min {mkdirs[0]:.2f})"
        )
        if medians:
            first_count, first_time = medians[0]
            line += (
                f"; x{median / first_time:.1f} the time for x{count / first_count:.0f} the channels"
            )
        medians.append((count, median))
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
