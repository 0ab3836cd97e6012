#!/usr/bin/env python3
"""Where an idle Expedito's CPU time goes, thread by thread, against the minimal app; and two
versions of the code side by side (issue 18's idle goal).

Each round starts Expedito as ``bench/startup.py`` does (a real 80x24 pty, the back office in
the process, the demo manager logged in), leaves it alone ``SETTLE`` seconds, then reads every
thread's own CPU clock (``/proc/PID/task/TID/schedstat``, nanoseconds) before and after
``--seconds`` more, and the whole process's (``/proc/PID/stat``, the 10 ms ticks
``bench/startup.py`` counts). With ``--tree DIR`` (repeatable) it runs the code of each
directory in turn (a worktree at another commit: ``git worktree add /tmp/old COMMIT``), in
ABBA order across rounds so none always runs first; the minimal app runs once a round.
The load average is printed beside each figure: on a shared machine, compare only the
versions of one run.

Usage: ``bench/idle_threads.py [--seconds 30] [--rounds 2] [--tree DIR ...]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from startup import (
    PYTHON,
    ROOT,
    SETTLE,
    Child,
    _env,
    _expedito_ready,
    _minimal_ready,
    seeded_database,
)


def thread_clocks(pid: int) -> dict[int, float]:
    """CPU seconds of each thread so far, by thread id."""
    clocks: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            clocks[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError):  # a thread that just ended
            continue
    return clocks


def by_thread(pid: int, before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    """What each thread used between two readings: ``main`` (the event loop: Textual's
    screens, the countdown), then the others in the order they started (``t1``, ``t2``…;
    Python does not name its threads for the system): Textual's input and output threads
    first, then the back office's."""
    tids = sorted(before.keys() | after.keys())
    return {
        "main" if tid == pid else f"t{rank}": after.get(tid, 0.0) - before.get(tid, 0.0)
        for rank, tid in enumerate(tids)
    }


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def measure(
    child: Child, ready: Callable[[Child], None], seconds: float
) -> tuple[float, dict[str, float]]:
    """The process's CPU seconds over ``seconds`` of idling, and each thread's."""
    try:
        ready(child)
        child.idle(SETTLE)
        before, threads_before = child.cpu_seconds(), thread_clocks(child.pid)
        child.idle(seconds)
        after, threads_after = child.cpu_seconds(), thread_clocks(child.pid)
    finally:
        child.stop()
    return after - before, by_thread(child.pid, threads_before, threads_after)


def expedito(tree: Path, db: Path) -> Child:
    env = _env()
    env["PYTHONPATH"] = str(tree)
    argv = [PYTHON, "-m", "tui.cli", "--db", str(db), "--port", "0"]
    return Child([*argv, "--homes", str(db.parent / "homes")], env, cwd=tree)


def minimal() -> Child:
    return Child([PYTHON, str(ROOT / "bench" / "minimal_app.py")], _env())


def show(label: str, total: float, threads: dict[str, float], seconds: float, at: str) -> None:
    busy = sorted(threads.items(), key=lambda item: -item[1])
    parts = ", ".join(f"{name} {cpu * 1000:.1f}" for name, cpu in busy if cpu >= 0.0005)
    print(
        f"{label:28} {total:5.2f} s in {seconds:.0f} s (threads, ms: {parts}) load {at}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--tree", type=Path, action="append", help="a checkout of Expedito (default: this one)"
    )
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree] if args.tree else [ROOT]
    totals: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="expedito-idle-") as tmp:
        db = seeded_database(Path(tmp))
        for round_ in range(args.rounds):
            order = trees if round_ % 2 == 0 else trees[::-1]
            for tree in order:
                at = load()
                total, threads = measure(expedito(tree, db), _expedito_ready, args.seconds)
                totals[str(tree)].append(total)
                show(f"expedito {tree.name}", total, threads, args.seconds, at)
            at = load()
            total, threads = measure(minimal(), _minimal_ready, args.seconds)
            totals["minimal"].append(total)
            show("minimal app", total, threads, args.seconds, at)
    print("median CPU seconds:", flush=True)
    for name, values in totals.items():
        print(f"  {name}: {statistics.median(values):.2f} ({len(values)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
