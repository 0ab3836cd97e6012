#!/usr/bin/env python3
"""Start-up and key-reaction time of Expedito against a minimal Textual app, in a real pty.

Each run forks a process on a fresh 80x24 pseudo-terminal and reads its output. The bench
answers Textual's query for synchronized output (``CSI ? 2026 $ p``) as modern terminals do,
so every frame the app paints arrives between ``CSI ? 2026 h`` and ``CSI ? 2026 l``: a frame
counts once its closing sequence has been read, never half-way through it.

* first frame: from the fork to the end of the first frame that shows the first screen's
  marker text ("Mot de passe" on Expedito's login screen; "Minimal ready" for the minimal app);
* screen with its keys: to the end of the first frame after which the footer's keys are on
  the terminal too (Textual fills the footer in a later frame, in both apps);
* key: from writing a key to the end of the frame showing what it changed. Expedito is logged
  in (dieter, first qualité, the demo data set) and walks the sidebar, opening each of ten
  pages once, each for the first time (``WALK``): from Enter to the frame that shows the page
  with its data (a text only that page shows once loaded). The minimal app gets "n" ten
  times, a binding whose action updates its Static → "Pressed N times".

Runs alternate between the two apps, in the order ABBA so neither always runs second; the
medians, the interquartile ranges and the ratios of the medians are printed (goal: at most 1.2
for each), then the median of each page.

After each pair, a third app times the floor under any page switch (``bench/floor_app.py``:
ten pages of 18 lines built ahead, ``n`` hides one and shows the next, nothing else): its
ratio to the minimal app's key says how much of the goal a page of more than one line leaves,
and Expedito's ratio to it what Expedito adds to the switch itself. It does not count in the
exit status. Usage: ``bench/startup.py [--runs N] [--idle SECONDS]`` from the
repository root.

Expedito runs as users run it: with the back office in the process (sync worker and SFTP
server, on a free loopback port), and the walk sends each key as soon as the previous page
is on screen, without waiting for the pages the app builds ahead after login. The key goal is
against the floor: the median key-to-page of the ten pages at most 1.5 × the floor's switch.

Weight (issue 18), after the timed runs:

* idle CPU: Expedito logged in (back office in the process) and the minimal app, each left
  alone 10 s, then for ``--idle`` seconds (default 60; 0 skips it): the CPU time (user +
  system, from ``/proc/PID/stat``) it used meanwhile; goal at most 2 × the minimal app's;
* memory: the resident set (``VmRSS``) of Expedito logged in with ``--no-serve``, 10 s after
  login (its pages built ahead by then), against the minimal app's 10 s after it is ready,
  once per pair of runs; goal at most 2 × the minimal app's.

The exit status is 0 when every goal is met: start-up ratios at most 1.2, key at most 1.5 ×
the floor, idle CPU and memory at most 2 × the minimal app.
"""

from __future__ import annotations

import argparse
import bisect
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
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TIMEOUT = 30.0
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # "mode 2026 is known and reset": synchronized output works
FRAME_END = b"\x1b[?2026l"
GOAL = 1.2  # start-up, to the minimal app
FLOOR_GOAL = 1.5  # sidebar key to page, to the floor app's page switch
WEIGHT_GOAL = 2.0  # idle CPU and memory, to the minimal app
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Child:
    """A process on its own pty; ``wait_for`` reads its output until a frame shows a marker."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""
        self.answered = False
        self.reads: list[tuple[int, float]] = []  # (output length, perf_counter)

    def _read(self, timeout: float) -> bool:
        """Read what the app wrote (waiting up to ``timeout``); False once nothing came."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.output += data
        self.reads.append((len(self.output), time.perf_counter()))
        if not self.answered and SYNC_QUERY in self.output:
            self.answered = True
            os.write(self.fd, SYNC_REPLY)
        return bool(data)

    def _read_at(self, offset: int) -> float:
        """When the byte before ``offset`` was read."""
        return self.reads[bisect.bisect_left(self.reads, (offset, 0.0))][1]

    def wait_for(self, *markers: str, since: int = 0) -> float:
        """Time (perf_counter) at which the first frame ended after which every one of
        ``markers`` has been written since byte ``since``."""
        needles = [m.encode() for m in markers]
        deadline = time.perf_counter() + TIMEOUT
        searched = since
        while True:
            end = self.output.find(FRAME_END, searched)
            if end >= 0:
                searched = end + len(FRAME_END)
                shown = self.output[since:searched]
                if all(needle in shown for needle in needles):
                    return self._read_at(searched)
                continue
            if time.perf_counter() > deadline:
                tail = self.output[-400:].decode(errors="replace")
                raise TimeoutError(f"{markers!r} not shown; last output: {tail!r}")
            self._read(0.05)

    def drain(self, quiet: float = 0.3, limit: float = 5.0) -> None:
        """Read until the app has been quiet for ``quiet`` seconds, or for ``limit`` seconds
        at most (Expedito's header redraws its countdown every second: never quiet for 1 s)."""
        deadline = time.perf_counter() + limit
        while self._read(quiet) and time.perf_counter() < deadline:
            pass

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def idle(self, seconds: float) -> None:
        """Keep reading what it writes (a full pty would block it) for ``seconds``."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            self._read(min(0.5, left))

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


class Run(NamedTuple):
    first_frame: float
    with_keys: float
    keys: dict[str, float]  # what the key opened → seconds from the key to its frame


DOWN, UP, END = "\x1b[B", "\x1b[A", "\x1b[F"
# The sidebar of the demo manager, from Accueil: (keys that move the highlight to the page,
# the page, a text that only that page shows once its data is loaded). The wizard comes last:
# it takes the keyboard when it opens.
WALK = (
    (DOWN, "utilisateurs", "Colette Gestion"),
    (DOWN, "detail_qualite", "N° d'entreprise *"),
    (DOWN, "recherche_utilisateurs", "Résultats 1"),
    (DOWN, "routing_informations", "DestHa"),
    (DOWN, "routing_module", "Destinataire"),
    (DOWN, "messages", "pas d'exp"),
    (END, "certificat", "Aucun certificat"),
    (UP, "mot_de_passe", "Mot de passe actuel"),
    (UP, "donnees_personnelles", "Login : dieter"),
    (UP, "enregistrement", "Outre la gestion"),
)
MINIMAL_KEYS = len(WALK)
FLOOR_PAGES = 10  # PAGES in bench/floor_app.py: one page per key, or the walk would wait
assert MINIMAL_KEYS <= FLOOR_PAGES, "give bench/floor_app.py as many pages as WALK has"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24", PYTHONPATH=str(ROOT))
    # PYTHONDONTWRITEBYTECODE (set on some build machines) would have Expedito compile its
    # sources at every start, which no installed copy does: the untimed first run writes them.
    for name in (
        "NO_COLOR",
        "TEXTUAL_COLOR_SYSTEM",
        "TEXTUAL",
        "TEXTUAL_DEBUG",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(name, None)
    return env


def _timed_key(child: Child, key: str, marker: str, quiet: bool = True) -> float:
    """Seconds from writing ``key`` to the end of the frame that shows ``marker``;
    ``quiet``: first wait until the app has written nothing for 0.3 s."""
    if quiet:
        child.drain(0.3)
    mark = len(child.output)
    pressed = time.perf_counter()
    child.send(key)
    return child.wait_for(marker, since=mark) - pressed


def _expedito(db: Path, serve: bool) -> Child:
    """Expedito on ``db``, with the back office in the process (``serve``: the SFTP server
    on a free loopback port, homes next to the database) or ``--no-serve``."""
    back_office = ["--port", "0", "--homes", str(db.parent / "homes")] if serve else ["--no-serve"]
    return Child([PYTHON, "-m", "tui.cli", "--db", str(db), *back_office], _env())


def _log_in(child: Child) -> None:
    """The demo manager, first qualité, up to *Accueil*."""
    child.drain(0.2)
    child.send("dieter\r")
    child.drain(0.2)
    child.send("demo\r")
    child.wait_for("Choix de la qualit")
    child.drain(0.2)
    child.send("\r")
    child.wait_for("Bienvenue")


def run_expedito(db: Path) -> Run:
    child = _expedito(db, serve=True)
    try:
        first = child.wait_for("Mot de passe") - child.started
        keys = child.wait_for("Mot de passe", "Quitter") - child.started
        _log_in(child)
        times = {}
        for move, page, marker in WALK:  # at once: the pages built ahead may not be there
            child.send(move)
            times[page] = _timed_key(child, "\r", marker, quiet=False)
        return Run(first, keys, times)
    finally:
        child.stop()


SETTLE = 10.0  # seconds after login before idling and memory count: pages built ahead by then


def idle_cpu(child: Child, ready: Callable[[Child], None], seconds: float) -> float:
    """CPU seconds ``child`` uses in ``seconds`` alone, from ``SETTLE`` seconds after it is
    ``ready`` (Expedito's pages built ahead and its back office started by then: from the
    first quiet second, 5 s at most, a loaded machine counted them as idle)."""
    try:
        ready(child)
        child.idle(SETTLE)
        before = child.cpu_seconds()
        child.idle(seconds)
        return child.cpu_seconds() - before
    finally:
        child.stop()


def memory(child: Child, ready: Callable[[Child], None]) -> float:
    """MiB resident ``SETTLE`` seconds after ``ready``: Expedito's pages are built ahead by
    then, also on a loaded machine (read at the first quiet second, or after 5 s since
    Expedito's countdown writes every second, a loaded machine had not built them all)."""
    try:
        ready(child)
        child.idle(SETTLE)
        return child.rss_mib()
    finally:
        child.stop()


def _minimal_ready(child: Child) -> None:
    child.wait_for("Minimal ready", "Next")


def _expedito_ready(child: Child) -> None:
    child.wait_for("Mot de passe", "Quitter")
    _log_in(child)


def _minimal() -> Child:
    return Child([PYTHON, str(ROOT / "bench" / "minimal_app.py")], _env())


def run_minimal() -> Run:
    child = _minimal()
    try:
        first = child.wait_for("Minimal ready") - child.started
        keys = child.wait_for("Minimal ready", "Next") - child.started
        times = {
            f"n{i}": _timed_key(child, "n", f"Pressed {i} ") for i in range(1, MINIMAL_KEYS + 1)
        }
        return Run(first, keys, times)
    finally:
        child.stop()


def run_floor() -> list[float]:
    """Seconds from ``n`` to the frame showing the floor app's next page, ten times."""
    child = Child([PYTHON, str(ROOT / "bench" / "floor_app.py")], _env())
    try:
        child.wait_for("Page 0 shown", "Next")
        return [_timed_key(child, "n", f"Page {i} shown") for i in range(1, MINIMAL_KEYS + 1)]
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


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:  # --runs 1: one start-up each
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=16, help="runs of each app (default 16)")
    parser.add_argument(
        "--idle", type=float, default=60.0, help="seconds each app idles (default 60; 0 skips)"
    )
    args = parser.parse_args()
    ours: list[Run] = []
    minimal: list[Run] = []
    floor: list[float] = []
    rss_ours: list[float] = []
    rss_minimal: list[float] = []
    cpu_ours = cpu_minimal = None
    with tempfile.TemporaryDirectory(prefix="expedito-bench-") as tmp:
        db = seeded_database(Path(tmp))
        run_expedito(db)  # warm the file caches and .pyc files of all three, untimed
        run_minimal()
        run_floor()
        for i in range(args.runs):
            if i % 2:  # ABBA: neither app always runs second (the floor app runs last)
                minimal.append(run_minimal())
                ours.append(run_expedito(db))
            else:
                ours.append(run_expedito(db))
                minimal.append(run_minimal())
            floor.extend(run_floor())
            rss_ours.append(memory(_expedito(db, serve=False), _expedito_ready))
            rss_minimal.append(memory(_minimal(), _minimal_ready))
        if args.idle > 0:
            cpu_ours = idle_cpu(_expedito(db, serve=True), _expedito_ready, args.idle)
            cpu_minimal = idle_cpu(_minimal(), _minimal_ready, args.idle)
    print(
        f"runs: {args.runs} of each, alternating (ABBA); 80x24 pty; "
        f"median [interquartile range] in ms"
    )
    rows = [
        (
            "start-up to first frame",
            [r.first_frame for r in ours],
            [r.first_frame for r in minimal],
        ),
        (
            "start-up to screen with keys",
            [r.with_keys for r in ours],
            [r.with_keys for r in minimal],
        ),
        (
            "sidebar key to repainted page",
            [t for r in ours for t in r.keys.values()],
            [t for r in minimal for t in r.keys.values()],
        ),
    ]
    worst = 0.0
    for label, ours_s, minimal_s in rows:
        a1, a, a3 = _quartiles([t * 1000 for t in ours_s])
        b1, b, b3 = _quartiles([t * 1000 for t in minimal_s])
        if label.startswith("start-up"):  # the key's goal is against the floor, below
            worst = max(worst, a / b)
        print(
            f"{label:30} expedito {a:6.1f} [{a1:6.1f}–{a3:6.1f}]   "
            f"minimal {b:6.1f} [{b1:6.1f}–{b3:6.1f}]   ratio {a / b:.2f}"
        )
    minimal_key = statistics.median(t for r in minimal for t in r.keys.values())
    ours_key = statistics.median(t for r in ours for t in r.keys.values())
    f1, f, f3 = _quartiles([t * 1000 for t in floor])
    print(
        f"{'floor: page switch, no work':30} floor    {f:6.1f} [{f1:6.1f}–{f3:6.1f}]   "
        f"ratio to minimal {f / 1000 / minimal_key:.2f}   expedito to floor "
        f"{ours_key * 1000 / f:.2f}"
    )
    print("key to page, each page (median ms, ratio to the minimal app's key, to the floor):")
    for _move, page, _marker in WALK:
        median = statistics.median(r.keys[page] for r in ours)
        print(
            f"  {page:24} {median * 1000:6.1f}   {median / minimal_key:.2f}   "
            f"{median * 1000 / f:.2f}"
        )
    floor_ratio = ours_key * 1000 / f
    print(
        f"goal: start-up ratios at most {GOAL}: {'met' if worst <= GOAL else 'not met'}; "
        f"key at most {FLOOR_GOAL} × the floor: {floor_ratio:.2f}, "
        f"{'met' if floor_ratio <= FLOOR_GOAL else 'not met'}"
    )
    met = worst <= GOAL and floor_ratio <= FLOOR_GOAL
    rss_ratio = statistics.median(rss_ours) / statistics.median(rss_minimal)
    print(
        f"memory after login (--no-serve), median MiB: expedito {statistics.median(rss_ours):.1f}"
        f"   minimal {statistics.median(rss_minimal):.1f}   ratio {rss_ratio:.2f}   "
        f"(goal {WEIGHT_GOAL}: {'met' if rss_ratio <= WEIGHT_GOAL else 'not met'})"
    )
    met = met and rss_ratio <= WEIGHT_GOAL
    if cpu_ours is not None and cpu_minimal is not None:
        cpu_ratio = cpu_ours / max(cpu_minimal, 1 / CLOCK_TICKS)
        print(
            f"idle CPU over {args.idle:.0f} s (back office in the process): expedito "
            f"{cpu_ours:.2f} s   minimal {cpu_minimal:.2f} s   ratio {cpu_ratio:.2f}   "
            f"(goal {WEIGHT_GOAL}: {'met' if cpu_ratio <= WEIGHT_GOAL else 'not met'})"
        )
        met = met and cpu_ratio <= WEIGHT_GOAL
    print(f"all goals: {'met' if met else 'not met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
