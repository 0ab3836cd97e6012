"""The header's countdown in a real terminal (tmux, 80x24), where only a real terminal shows it:
while the app is left alone its seconds advance on screen and are right to the second of the
wall clock — the tick comes just after the whole second, and the cells are written at once
(``tui.widgets.direct_draw``) — also under a dialog (Textual's own repaint, dimmed like the
rest of the header) and once it is closed, after F2 (another language) and after a resize;
in 256 colours, 16 and with ``NO_COLOR``, its cells always in the header's colours. Then F10
and "j" end the app at once (its input thread, asleep until input comes, is woken:
``tui.quiet_driver``)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.repo import ROOT

pytestmark = pytest.mark.slow

# the slot and the time left: "Synchro 14:30 — 12:34", "… à 14:30 — dans 12:34", "… — over 12:34"
COUNTDOWN = re.compile(r"(\d\d):(\d\d) — (?:\w+ )?(\d\d):(\d\d)")
PHASE = 0.2  # each look is this long after a whole second of the wall clock
WAIT = 30.0  # seconds for anything to show (a loaded machine)


@dataclass(frozen=True)
class Cell:
    char: str
    fg: str
    bg: str


def cells(line: str) -> list[Cell]:
    """A line of ``tmux capture-pane -e``: each cell with the colours it is drawn in."""
    out: list[Cell] = []
    fg = bg = "default"
    i = 0
    while i < len(line):
        if line.startswith("\x1b[", i):
            end = i + 2
            while end < len(line) and not line[end].isalpha():
                end += 1
            if line[end] == "m":
                params = [int(p) if p else 0 for p in line[i + 2 : end].split(";")]
                fg, bg = _sgr(params, fg, bg)
            i = end + 1
            continue
        out.append(Cell(line[i], fg, bg))
        i += 1
    return out


def _sgr(params: list[int], fg: str, bg: str) -> tuple[str, str]:
    j = 0
    while j < len(params):
        code = params[j]
        if code == 0:
            fg = bg = "default"
        elif code in (38, 48):
            mode = params[j + 1]
            size = 3 if mode == 5 else 5
            colour = ";".join(map(str, params[j : j + size]))
            if code == 38:
                fg = colour
            else:
                bg = colour
            j += size - 1
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = str(code)
        elif code == 39:
            fg = "default"
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = str(code)
        elif code == 49:
            bg = "default"
        j += 1
    return fg, bg


class Terminal:
    """The app on its own tmux server (a socket of its own), one window of ``size``."""

    def __init__(self, socket: Path, db: Path, colours: str) -> None:
        self.socket = socket
        env = {"TZ": "UTC", "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
        if colours == "16":
            env.update(TERM="screen", TEXTUAL_COLOR_SYSTEM="standard")
        elif colours == "no-color":
            env.update(NO_COLOR="1")  # Textual's shades of grey
        command = " ".join(
            [
                "env",
                "-u NO_COLOR -u TEXTUAL_COLOR_SYSTEM -u COLORTERM",
                *(f"{k}={v}" for k, v in env.items()),
                sys.executable,
                "-m tui.cli --no-serve --db",
                str(db),
                "; echo app-exit=$?; exec sleep 60",  # what it ended with stays on screen
            ]
        )
        self.tmux(
            "new-session", "-d", "-s", "app", "-x", "80", "-y", "24", "-c", str(ROOT), command
        )
        self.tmux("set-option", "-s", "escape-time", "10")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "app", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def row(self, y: int) -> str:
        """Row ``y`` with its colours (``capture-pane -e``)."""
        return self.tmux("capture-pane", "-p", "-e", "-t", "app").split("\n")[y]

    def wait_for(self, text: str, gone: bool = False) -> None:
        """Until ``text`` is on screen (or, ``gone``, no longer)."""
        deadline = time.monotonic() + WAIT
        while (text in (shown := self.screen())) == gone:
            assert time.monotonic() < deadline, f"{text!r} {gone=}:\n{shown}"
            time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=10
        )


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.sqlite3"
    seed = (
        "import sys; from store.db import open_database, close_database; "
        "from store.demo import seed_demo; open_database(sys.argv[1]); seed_demo(); "
        "close_database()"
    )
    subprocess.run([sys.executable, "-c", seed, str(path)], cwd=ROOT, check=True, timeout=60)
    return path


@pytest.fixture(params=["256", "16", "no-color"])
def terminal(request: pytest.FixtureRequest, demo_db: Path) -> Iterator[Terminal]:
    assert shutil.which("tmux"), "tmux is missing (the CI installs it: .ci/run)"
    folder = Path(tempfile.mkdtemp(prefix="exp-tmux-"))  # short: a socket path's limit
    term = Terminal(folder / "s", demo_db, request.param)
    try:
        yield term
    finally:
        term.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _next_phase() -> None:
    """Sleep until ``PHASE`` after the next whole second of the wall clock."""
    now = time.time()
    target = math.floor(now) + 1 + PHASE
    time.sleep(target - now)


def look(term: Terminal, colours: str) -> tuple[bool, str]:
    """At ``PHASE`` after a whole second: whether the countdown on row 0 shows the time left
    to its slot at that second (rounded up, as the app does), and is drawn in the header's
    colours (those of the row's first cell); and what it showed."""
    _next_phase()
    before = time.time()
    row = term.row(0)
    after = time.time()
    line = cells(row)
    plain = "".join(c.char for c in line)
    found = COUNTDOWN.search(plain)
    assert found, f"no countdown on the first row: {plain!r}"
    assert len(COUNTDOWN.findall(plain)) == 1, plain  # none left where it was before
    hour, minute, left_m, left_s = (int(g) for g in found.groups())
    shown = left_m * 60 + left_s
    now = datetime.fromtimestamp(before, UTC)
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot < now - timedelta(minutes=1):
        slot += timedelta(days=1)
    # what it should show at the whole second before the look, and at the end of the look
    right = {math.ceil(slot.timestamp() - t - 1e-6) for t in (math.floor(before), after)}
    header = line[0]
    for cell in line[found.start() : found.end()]:
        assert cell.bg == header.bg, (plain, cell, header)  # dimmed with it under a dialog
        assert cell.fg == line[found.start()].fg, (plain, cell)
    if colours == "16":
        assert "38;5;" not in row and "48;5;" not in row and "38;2;" not in row, row
    return shown in right, f"{found.group(0)} (right: {sorted(right)})"


def test_the_countdown_is_right_on_screen_to_the_second(
    terminal: Terminal, request: pytest.FixtureRequest
) -> None:
    colours = request.node.callspec.params["terminal"]
    term = terminal
    term.wait_for("Mot de passe")
    term.keys("dieter", "Enter")
    time.sleep(0.3)
    term.keys("demo", "Enter")
    term.wait_for("Choix de la qualit")
    time.sleep(0.3)
    term.keys("Enter")
    term.wait_for("Bienvenue")
    time.sleep(1.5)  # the first frames after login
    looks: list[tuple[str, bool, str]] = []

    def looks_at(stage: str, times: int = 3) -> None:
        for _ in range(times):
            right, what = look(term, colours)
            looks.append((stage, right, what))

    looks_at("idle")
    term.keys("F10")  # Quitter ? — a dialog over the portal
    term.wait_for("vraiment quitter")
    time.sleep(0.5)
    looks_at("under the dialog")
    term.keys("Escape")
    term.wait_for("vraiment quitter", gone=True)
    time.sleep(0.5)
    looks_at("after the dialog")
    term.keys("F2")  # Nederlands
    term.wait_for("Welkom")
    time.sleep(0.5)
    looks_at("after F2")
    term.tmux("resize-window", "-t", "app", "-x", "100", "-y", "30")
    time.sleep(1.0)
    looks_at("after a resize")
    term.keys("F10")
    term.wait_for("echt verlaten")
    term.keys("j")  # the app ends at once: its input thread, asleep until input, is woken
    term.wait_for("app-exit=0")
    wrong = [look for look in looks if not look[1]]
    # a loaded machine may hold one tick past the look; a tick a fraction of a second late
    # (Textual's interval, started whenever the app was) is late at every look
    assert len(wrong) <= 2, looks
    shown = [what for _, _, what in looks]
    assert len(set(shown)) >= len(shown) - 2, shown  # it moved on between looks
