"""A separate process running one cycle on a shared SQLite file (race and crash tests).

    python -m tests.sync_child DB HOMES SLOT_ISO NOW_ISO [GO_FILE [CHUNK [KILL_AFTER]]]

Waits for GO_FILE to exist when given (so racing processes start together), runs the cycle
and prints its result as JSON. With KILL_AFTER, the process kills itself (SIGKILL) once that
many channels are handled, before that chunk commits: a crash half-way.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from store.db import open_database
from sync.cycle import run_cycle


def main(argv: list[str]) -> int:
    db_path, homes, slot_iso, now_iso = argv[:4]
    open_database(db_path)
    slot, now = datetime.fromisoformat(slot_iso), datetime.fromisoformat(now_iso)
    chunk = int(argv[5]) if len(argv) > 5 else 50
    if len(argv) > 4 and argv[4]:
        go = Path(argv[4])
        deadline = time.monotonic() + 20
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    kill_after = int(argv[6]) if len(argv) > 6 else None

    def crash(handled: int) -> None:
        if kill_after is not None and handled >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    result = run_cycle(slot, homes, lambda: now, chunk=chunk, on_chunk=crash)
    print(
        json.dumps(
            {
                "status": result.status,
                "provisioned": result.provisioned,
                "took_over": result.took_over,
                "owner": result.owner,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
