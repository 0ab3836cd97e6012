"""Time of one provisioning cycle for 10,000 and then 100,000 pending SFTP channels.

    python bench/sync_cycle.py [COUNT ...]      (default: 10000 100000)

Each count gets a fresh SQLite file and homes folder in a temporary directory; the time
printed is ``run_cycle`` alone (lease, query, 7 mkdir per account, chunked updates).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFkZGVkIGZvciB0aGUgYmVuY2ggb25seSAwMDAwMDA"
       " bench")


def measure(count: int) -> tuple[float, float, float]:
    from store.db import close_database, open_database
    from sync.cycle import run_cycle
    from sync.homes import ensure_home
    from sync.schedule import current_slot
    from tests.sync_support import seed_pending_channels

    work = Path(tempfile.mkdtemp(prefix="expedito-cycle-"))
    try:
        open_database(work / "bench.sqlite3")
        seed_pending_channels(count, KEY)
        now = datetime.now(UTC)
        started = time.perf_counter()
        result = run_cycle(current_slot(now), work / "homes", lambda: now)
        elapsed = time.perf_counter() - started
        assert result.status == "done" and result.provisioned == count, result
        # the same mkdir calls on their own, to show what the file system costs
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
    first: tuple[int, float] | None = None
    for count in counts:
        elapsed, mkdir_only, _rest = measure(count)
        per = elapsed / count * 1e6
        line = (f"{count:>7} pending channels: cycle {elapsed:6.2f} s ({per:5.1f} µs each); "
                f"mkdir alone {mkdir_only:6.2f} s")
        if first is not None:
            line += f"; x{elapsed / first[1]:.1f} time for x{count / first[0]:.0f} channels"
        else:
            first = (count, elapsed)
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
