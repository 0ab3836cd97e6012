"""*Sessions SFTP* against ``expedito serve`` in other processes, as the operators run it:
the page (here) shows the session a real ``serve`` publishes and ends it, the client's
connection closes; a ``serve`` killed with ``kill -9`` leaves its rows, which the next
``serve`` to start deletes; a ``serve`` stopped cleanly leaves none."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from peewee import SqliteDatabase
from textual.pilot import Pilot
from textual.widgets import DataTable

from store import sessions
from store.democreds import DemoCredentials
from store.models import AuditEntry
from tests.support.clock import frozen_countdown
from tests.support.database import database_path
from tests.support.intake import make_home
from tests.support.network import free_port, listening
from tests.support.portal import choose_in_menu, enter_portal, tab_into_page
from tests.support.registration import DEMO_USER, provisioned_account
from tests.support.screen import SIZE
from tests.support.sftp import process_ended, sftp_shell, ssh_child, write_command
from tests.support.sftp_attack import wait_for
from tui.app import ExpeditoApp

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


class Serve:
    """``expedito serve`` in a process of its own, on a loopback port."""

    def __init__(self, db_path: Path, homes: Path, logs: Path, name: str) -> None:
        self.port = free_port()
        self.log = logs / f"{name}.log"
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tui.cli", "--db", str(db_path), "serve"),
                *("--port", str(self.port), "--homes", str(homes), "--workers", "1"),
            ],
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        assert wait_for(lambda: listening(self.port), timeout=30), self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serving(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[Callable[[str], Serve]]:
    provisioned_account(demo_credentials)
    make_home(tmp_path / "homes")
    started: list[Serve] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def serve(name: str) -> Serve:
        started.append(Serve(database_path(), tmp_path / "homes", logs, name))
        return started[-1]

    yield serve
    for process in started:
        process.stop()


def shell(port: int, creds: DemoCredentials, cwd: Path) -> subprocess.Popen[str]:
    opened = sftp_shell(port, creds.ssh_private_key, DEMO_USER, cwd)
    write_command(opened, "ls")
    return opened


def close(opened: subprocess.Popen[str]) -> None:
    if opened.poll() is None:
        opened.kill()
    opened.communicate(timeout=5)


def rows(pilot: Pilot[Any]) -> list[list[str]]:
    table = pilot.app.screen.query_one("#sessions", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_page_ends_a_session_of_a_serve_in_another_process(
    serving: Callable[[str], Serve], demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    server = serving("serve")
    local = tmp_path / "FI.DMFA.100001.20261128.00001.T.1.1"
    local.write_bytes(b"x" * 100_000)
    client = shell(server.port, demo_credentials, tmp_path)
    try:
        write_command(client, f"put {local.name} INTEST/")
        app = ExpeditoApp(demo=True, ansi=False, **frozen_countdown())
        async with app.run_test(size=SIZE) as pilot:
            await enter_portal(pilot, "olivier")
            await choose_in_menu(pilot, "exploitation_sessions")
            deadline = time.monotonic() + 15
            while not (rows(pilot) and rows(pilot)[0][2].endswith("Ko")):
                assert time.monotonic() < deadline, server.log.read_text()
                await pilot.pause(0.1)
            (row,) = rows(pilot)
            assert row[0] == DEMO_USER and row[4:] == ["127.0.0.1", "100001", local.name]
            (live,) = sessions.live_sessions()
            assert live.pid == server.process.pid
            connection = ssh_child(client)
            await tab_into_page(pilot)
            await pilot.press("f8", "y")
            asked = time.monotonic()
            assert wait_for(lambda: process_ended(connection), timeout=5)
            assert time.monotonic() - asked < 2.5
            deadline = time.monotonic() + 5
            while rows(pilot):
                assert time.monotonic() < deadline
                await pilot.pause(0.1)
        assert not app.unexpected_errors
    finally:
        close(client)
    assert AuditEntry.select().where(AuditEntry.action == "exploitation.session_end").count() == 1
    assert "Traceback" not in server.log.read_text()


def test_a_killed_serve_s_rows_go_when_the_next_one_starts_and_a_stopped_one_leaves_none(
    serving: Callable[[str], Serve], demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    victim = serving("victim")
    client = shell(victim.port, demo_credentials, tmp_path)
    try:
        assert wait_for(lambda: sessions.live_sessions(), timeout=15), victim.log.read_text()
        victim.process.kill()  # SIGKILL: its row stays
        victim.process.wait()
        (left,) = sessions.live_sessions()
        assert left.pid == victim.process.pid
    finally:
        close(client)
    successor = serving("successor")
    assert wait_for(lambda: not sessions.live_sessions(), timeout=10)  # deleted at its start
    client = shell(successor.port, demo_credentials, tmp_path)
    try:
        assert wait_for(lambda: sessions.live_sessions(), timeout=15)
        successor.stop()  # a clean stop withdraws its rows
        assert sessions.live_sessions() == []
    finally:
        close(client)
