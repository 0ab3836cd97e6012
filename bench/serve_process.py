"""``expedito serve`` in a process of its own, for the benches: ``--workers N`` with the
limits given as its options; its CPU time and memory are the whole process tree's (the
supervisor and every worker).

    with ServeProcess(db, homes, workers=2, options=["--max-sessions", "300"]) as serve:
        port = serve.address[1]
        before = serve.cpu()
        ...
        used = serve.cpu() - before
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


def _tree(pid: int) -> list[tuple[int, list[str]]]:
    """``pid`` and its descendants, each with its /proc stat fields (after the command)."""
    stats: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            found.append((current, stats[current]))
        todo += children.get(current, [])
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and all its live descendants, and of the children they reaped
    (utime, stime, cutime, cstime: nothing counted twice)."""
    ticks = sum(sum(int(v) for v in fields[11:15]) for _, fields in _tree(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its live descendants."""
    return sum(int(fields[21]) for _, fields in _tree(pid)) * os.sysconf("SC_PAGE_SIZE")


class ServeProcess:
    """``python -m tui.cli --db DB serve --port 0 --homes HOMES --workers N OPTIONS``, started
    and stopped (SIGTERM) with ``with``; ``address`` is where it serves SFTP."""

    def __init__(
        self,
        db: Path | str,
        homes: Path,
        workers: int = 2,
        options: Sequence[str] = (),
        log: Path | None = None,
    ) -> None:
        self.command = [
            *(sys.executable, "-m", "tui.cli", "--db", str(db), "serve", "--port", "0"),
            *("--homes", str(homes), "--workers", str(workers), *options),
        ]
        self.workers = workers
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss(self) -> int:
        return tree_rss_bytes(self.pid)

    def __enter__(self) -> ServeProcess:
        errors = self.log.open("w") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert self.process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout, lines), daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            found = re.match(r"SFTP: (\S+):(\d+),", line)
            if found:
                self.address = (found.group(1), int(found.group(2)))
            if self.address[1] and (self.workers == 1 or line.startswith("Workers:")):
                return self
        self.stop()
        raise RuntimeError(f"serve did not start: {''.join(seen)}")

    @staticmethod
    def _read(stream: IO[str], lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
