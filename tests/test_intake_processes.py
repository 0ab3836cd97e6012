"""Exactly once with real processes: several ``expedito serve`` on one database and one set
of homes (each with a worker process per core), and ``kill -9`` half-way through, on 200
waiting sets. Each GO gets one ACRF, each set is recorded once, its files moved once; nothing
is both accepted and rejected, and no temporary file of an ACRF write is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from store.batches import sender_batch_sets
from store.db import close_database
from sync.intake.acrf import parse_acrf
from tests.support.database import database_argument
from tests.support.intake import Partner

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]

ROOT = Path(__file__).resolve().parents[1]
SETS = 200


@dataclass
class Waiting:
    partner: Partner
    db_path: str  # --db: the SQLite file, or the PostgreSQL URL
    homes: Path
    gos: set[str]
    logs: Path

    def serve(self, name: str, workers: int | None = 1) -> subprocess.Popen[bytes]:
        """``serve`` in one process (``workers=1``: a ``kill -9`` kills the intake itself),
        or ``serve --workers`` (None: one worker per core)."""
        log = (self.logs / f"{name}.log").open("wb")
        options = [] if workers is None else ["--workers", str(workers)]
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tui.cli",
                "--db",
                self.db_path,
                "serve",
                "--port",
                "0",
                "--homes",
                str(self.homes),
                *options,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def acrfs(self) -> list[str]:
        return [n for n in os.listdir(self.partner.home / "OUTTEST") if n.startswith("FO.")]

    def wait_answered(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = [n for n in os.listdir(self.partner.home / "INTEST") if n.startswith("GO.")]
            if not left and len(self.acrfs()) >= SETS:
                time.sleep(0.5)  # anything late (a second answer) would show now
                return
            time.sleep(0.1)
        raise AssertionError(f"{len(self.acrfs())} ACRFs after {timeout} s; logs in {self.logs}")

    def check_exactly_once(self) -> None:
        home = self.partner.home
        answered = [parse_acrf((home / "OUTTEST" / n).read_bytes()) for n in self.acrfs()]
        assert len(answered) == SETS
        assert sorted(a.file_name for a in answered) == sorted(self.gos)
        assert all(a.accepted for a in answered), [a.errors for a in answered if a.errors]
        assert len({a.ticket for a in answered}) == SETS
        assert os.listdir(home / "INTEST") == []
        spool = self.homes.parent / "intake"
        kept = [p.name for p in (spool / "accepted").glob("*/*/GO.*")]
        assert sorted(kept) == sorted(self.gos)
        assert not (spool / "rejected").exists() or not any((spool / "rejected").iterdir())
        assert [
            p for p in (spool / "accepted").glob("*/*") if len(list(p.iterdir())) != 3
        ] == []  # FI, FS, GO: each moved once
        staging = spool / "tmp"
        assert not staging.exists() or os.listdir(staging) == []
        assert [n for n in os.listdir(home / "OUTTEST") if n.endswith(".tmp")] == []
        recorded = sender_batch_sets(self.partner.account.sender_id, limit=10 * SETS)
        assert len(recorded) == SETS and all(b.status == "accepted" for b in recorded)


@pytest.fixture
def waiting(partner: Partner, tmp_path: Path) -> Iterator[Waiting]:
    """200 closed sets in INTEST of a provisioned account, no intake running yet."""
    homes = partner.home.parent
    gos = {
        partner.write(parts=(b"<DmfA>" + b"x" * 20_000 + b"</DmfA>",)).go.name for _ in range(SETS)
    }
    path = database_argument()
    logs = tmp_path / "logs"
    logs.mkdir()
    close_database()  # the test's own connection holds nothing meanwhile
    yield Waiting(partner, path, homes, gos, logs)


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_serve_processes_on_one_database_answer_each_go_once(waiting: Waiting) -> None:
    first, second = waiting.serve("first", None), waiting.serve("second", None)
    try:
        waiting.wait_answered()
    finally:
        _stop(first, second)
    waiting.check_exactly_once()
    logs = [(waiting.logs / f"{n}.log").read_text() for n in ("first", "second")]
    assert all("Traceback" not in log for log in logs), logs


@pytest.mark.sqlite_only(
    "CI time (~40 s): a dead owner's claim taken over on PostgreSQL is test_intake_faults' "
    "test_a_claim_whose_process_died_is_taken_over_at_once"
)
@pytest.mark.parametrize("after", [1, SETS // 3])
def test_kill_9_half_way_then_a_restart_answers_each_go_once(waiting: Waiting, after: int) -> None:
    """Killed as soon as ``after`` ACRFs are out (the next set is then half done), and
    again with another process serving meanwhile; the one started last finishes."""
    victim = waiting.serve("victim")
    try:
        deadline = time.monotonic() + 60
        while len(waiting.acrfs()) < after and time.monotonic() < deadline:
            time.sleep(0.002)
        victim.kill()  # SIGKILL: no clean-up at all
        victim.wait()
    finally:
        _stop(victim)
    assert len(waiting.acrfs()) < SETS
    restarted = waiting.serve("restarted")
    try:
        waiting.wait_answered()
    finally:
        _stop(restarted)
    waiting.check_exactly_once()
