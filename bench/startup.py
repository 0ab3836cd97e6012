#!/usr/bin/env python3
"""Start-up and key-reaction time of Expedito against a minimal Textual app, in a real pty.

Each run forks a process on a fresh 80x24 pseudo-terminal and reads its output:

* start-up: from the fork to the first full frame, detected by a marker text of the first
  screen ("Mot de passe" on Expedito's login screen; "Minimal ready" for the minimal app);
* key: Expedito is logged in (dieter, first qualité) with "Utilisateurs" highlighted in the
  sidebar; we time Enter → the placeholder page painted ("Cette page contiendra"). The minimal
  app gets "n" → "Pressed 1 times".

Runs alternate between the two apps; the medians and their ratios are printed (goal: at most
1.2 for both). Usage: ``bench/startup.py [--runs N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TIMEOUT = 30.0


class Child:
    """A process on its own pty; ``wait_for`` reads its output until a marker shows."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""

    def wait_for(self, marker: str, since: int = 0) -> float:
        """Seconds (perf_counter) at which ``marker`` appeared after byte ``since``."""
        needle = marker.encode()
        deadline = time.perf_counter() + TIMEOUT
        while needle not in self.output[since:]:
            if time.perf_counter() > deadline:
                tail = self.output[-400:].decode(errors="replace")
                raise TimeoutError(f"{marker!r} not shown; last output: {tail!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    break
        return time.perf_counter()

    def drain(self, quiet: float = 0.3) -> None:
        """Read until the app has been quiet for ``quiet`` seconds."""
        while True:
            ready, _, _ = select.select([self.fd], [], [], quiet)
            if not ready:
                return
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:
                return

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24", PYTHONPATH=str(ROOT))
    env.pop("NO_COLOR", None)
    env.pop("TEXTUAL_COLOR_SYSTEM", None)
    return env


def run_expedito(db: Path) -> tuple[float, float]:
    child = Child([PYTHON, "-m", "tui.cli", "--db", str(db), "--no-serve"], _env())
    try:
        start = child.wait_for("Mot de passe") - child.started
        child.drain(0.2)
        child.send("dieter\r")
        child.drain(0.2)
        child.send("demo\r")
        child.wait_for("Choix de la qualit")
        child.drain(0.2)
        child.send("\r")
        child.wait_for("Bienvenue")
        child.drain(0.3)
        child.send("\x1b[B")  # down: Accueil → Utilisateurs
        child.drain(0.3)
        mark = len(child.output)
        pressed = time.perf_counter()
        child.send("\r")
        key = child.wait_for("Cette page contiendra", mark) - pressed
        return start, key
    finally:
        child.stop()


def run_minimal() -> tuple[float, float]:
    child = Child([PYTHON, str(ROOT / "bench" / "minimal_app.py")], _env())
    try:
        start = child.wait_for("Minimal ready") - child.started
        child.drain(0.3)
        mark = len(child.output)
        pressed = time.perf_counter()
        child.send("n")
        key = child.wait_for("Pressed 1", mark) - pressed
        return start, key
    finally:
        child.stop()


def seeded_database(directory: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from store.db import close_database, open_database
    from store.demo import seed_demo

    path = directory / "bench.sqlite3"
    open_database(path)
    seed_demo()
    close_database()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=12, help="runs of each app (default 12)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="expedito-bench-") as tmp:
        db = seeded_database(Path(tmp))
        run_expedito(db)  # warm the file caches and .pyc files of both, untimed
        run_minimal()
        ours: list[tuple[float, float]] = []
        minimal: list[tuple[float, float]] = []
        for _ in range(args.runs):
            ours.append(run_expedito(db))
            minimal.append(run_minimal())
    rows = [("start-up to first frame", 0), ("sidebar key to repainted page", 1)]
    print(f"runs: {args.runs} of each, alternating; 80x24 pty; medians")
    worst = 0.0
    for label, i in rows:
        a = statistics.median(r[i] for r in ours)
        b = statistics.median(r[i] for r in minimal)
        worst = max(worst, a / b)
        print(f"{label:32} expedito {a * 1000:7.1f} ms   minimal {b * 1000:7.1f} ms   "
              f"ratio {a / b:.2f}")
    return 0 if worst <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
