"""What publishing the live SFTP sessions costs (``sync.session_board``, ``store.sessions``).

    python bench/sessions_board.py [COUNT ...]      (default: 10 100 1000)

For each count of logged-in sessions, on a fresh SQLite file: the first write (every row
inserted), a write where every session's bytes changed (every row updated: a busy server,
once a second at most), a poll for end requests (what each server does every half second),
and the *Sessions SFTP* page's read of every row (once a second while it is shown). Median
of 21 runs each, in milliseconds.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = 21


def median_ms(step: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(count: int) -> tuple[float, float, float, float]:
    from store import sessions
    from store.claims import new_owner
    from store.db import close_database, open_database
    from store.sessions import PublishedSession

    work = Path(tempfile.mkdtemp(prefix="expedito-sessions-"))
    try:
        open_database(work / "bench.sqlite3")
        server = new_owner()
        now = time.time()

        def rows(moved: int) -> list[PublishedSession]:
            return [
                PublishedSession(
                    f"s{i}", f"user{i:05d}", 100000 + i, "127.0.0.1", now, moved, moved, "f"
                )
                for i in range(count)
            ]

        def first() -> None:
            sessions.withdraw(server)
            sessions.publish(server, rows(0), heartbeat=True)

        first_ms = median_ms(first)
        moved = iter(range(1, 10 * RUNS))
        update_ms = median_ms(lambda: sessions.publish(server, rows(next(moved))))
        poll_ms = median_ms(lambda: sessions.end_requests(server))
        read_ms = median_ms(sessions.live_sessions)
        close_database()
        return first_ms, update_ms, poll_ms, read_ms
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    counts = [int(a) for a in argv] or [10, 100, 1000]
    print(f"median of {RUNS} runs, ms")
    print(
        f"{'sessions':>9} {'insert all':>11} {'update all':>11} {'poll ends':>10} {'page read':>10}"
    )
    for count in counts:
        first, update, poll, read = measure(count)
        print(f"{count:>9} {first:>11.2f} {update:>11.2f} {poll:>10.3f} {read:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
