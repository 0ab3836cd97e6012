"""*Sessions SFTP* (Exploitation) at 80x24, by keyboard: the sessions the servers publish in
the database, updated by themselves; F8 ends one after confirmation, audited. End to end
with the real SFTP server and the real OpenSSH ``sftp`` client: the session appears with its
bytes, is ended from the page, the client's connection closes, the Journal names it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from peewee import SqliteDatabase
from textual.pilot import Pilot
from textual.widgets import DataTable

from screens.exploitation.sessions import fmt_bytes
from store import sessions
from store.claims import new_owner
from store.democreds import DemoCredentials
from store.models import AuditEntry
from store.sessions import PublishedSession
from tests.support.clock import FROZEN
from tests.support.pilot import settle
from tests.support.portal import choose_in_menu, enter_portal, tab_into_page
from tests.support.registration import DEMO_USER, register_demo_sender
from tests.support.screen import SIZE, page_text, shown
from tests.support.sftp import (
    Server,
    process_ended,
    sftp_shell,
    ssh_child,
    start_server,
    write_command,
)
from tests.support.sftp_attack import wait_for
from tui.app import ExpeditoApp
from tui.widgets.footer import PortalFooter

PAGE = "exploitation_sessions"
FILE = "FI.DMFA.123456.20260115.00001.T.1.1"


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def server(demo: SqliteDatabase, tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    running.service.stop()


def rows(pilot: Pilot[Any]) -> list[list[str]]:
    table = pilot.app.screen.query_one("#sessions", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 30) -> None:
    """Let the app run (its timers fire) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)


def publish(
    ident: str, user: str, address: str, bytes_in: int, file: str = "", started: float = 0.0
) -> str:
    server = new_owner()
    started = started or time.time() - 60
    sessions.publish(
        server, [PublishedSession(ident, user, 123456, address, started, bytes_in, 512, file)]
    )
    return server


def test_bytes_read_as_people_read_them() -> None:
    assert fmt_bytes(512, "o Ko Mo Go", ",") == "512 o"
    assert fmt_bytes(1536, "o Ko Mo Go", ",") == "1,5 Ko"
    assert fmt_bytes(300_000, "o Ko Mo Go", ",") == "292 Ko"
    assert fmt_bytes(5 * 1024**3, "B KB MB GB", ".") == "5.0 GB"
    assert fmt_bytes(3 * 1024**4, "B KB MB GB", ".") == "3072 GB"


async def test_the_page_follows_the_database_and_ends_a_session(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "olivier")
        await choose_in_menu(pilot, PAGE)
        assert "Aucune session SFTP n'est ouverte." in page_text(pilot)
        yesterday = FROZEN.timestamp() - 24 * 3600 - 60  # the app's clock: 15/01 14:17:26
        publish("s1", "partenaire01", "127.0.0.7", 1536, FILE, yesterday)
        await until(pilot, lambda: rows(pilot))  # by itself, within a second or so
        (row,) = rows(pilot)
        assert row[:2] == ["partenaire01", "14/01 14:16"]  # not today: the day too
        assert row[2:] == ["1,5 Ko", "512 o", "127.0.0.7", "123456", FILE]
        assert "Adresse 127.0.0.7 — N° expéditeur 123456" in page_text(pilot)
        assert f"Fichier en cours : {FILE}" in page_text(pilot)
        await tab_into_page(pilot)
        footer = pilot.app.screen.query_one(PortalFooter)
        assert "f8 Mettre" in " ".join(  # its column is 12 wide at 80x24
            footer.render_line(y).text for y in range(footer.size.height)
        )
        await pilot.press("f8")
        await settle(pilot)
        assert "Mettre fin à la session SFTP de partenaire01 (127.0.0.7) ?" in shown(
            pilot, "#dialog-question"
        )
        await pilot.press("y")
        await settle(pilot)
        await until(pilot, lambda: rows(pilot)[0][6] == "(fin demandée)")
    (live,) = sessions.live_sessions()
    assert live.end_requested_by == "olivier" and live.end_requested_at is not None
    entry = AuditEntry.get(AuditEntry.action == "exploitation.session_end")
    assert entry.person is not None and entry.person.login == "olivier"
    assert json.loads(entry.details)["session"] == "s1"


async def test_the_page_in_dutch_and_a_session_that_went_meanwhile(app: ExpeditoApp) -> None:
    server = publish("s2", "partenaire02", "127.0.0.8", 10)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "olivier")
        await choose_in_menu(pilot, PAGE)
        await pilot.press("f2")  # Nederlands: the page is built again
        await settle(pilot)
        await until(pilot, lambda: rows(pilot))
        assert "SFTP-sessies" in page_text(pilot)
        assert rows(pilot)[0][2:4] == ["10 B", "512 B"]
        header = pilot.app.screen.query_one("#sessions", DataTable).columns
        assert [str(c.label) for c in header.values()][:2] == ["Gebruikersnaam", "Sinds"]
        await tab_into_page(pilot)
        sessions.withdraw(server)  # the session ends before the operator confirms
        await pilot.press("f8", "y")
        await settle(pilot)
        await until(pilot, lambda: "Er is geen SFTP-sessie open." in page_text(pilot))
    assert not AuditEntry.select().where(AuditEntry.action == "exploitation.session_end").exists()


async def test_end_to_end_a_real_session_shown_then_ended_from_the_page(
    app: ExpeditoApp, server: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    server.provision()
    local = tmp_path / "FI.DMFA.100001.20261128.00001.T.1.1"
    local.write_bytes(b"x" * 300_000)
    shell = sftp_shell(server.port, demo_credentials.ssh_private_key, DEMO_USER, tmp_path)
    try:
        write_command(shell, f"put {local.name} INTEST/")
        async with app.run_test(size=SIZE) as pilot:
            await enter_portal(pilot, "olivier")
            await choose_in_menu(pilot, PAGE)
            await until(pilot, lambda: rows(pilot) and rows(pilot)[0][2].endswith("Ko"))
            (row,) = rows(pilot)
            assert row[0] == DEMO_USER and row[4:6] == ["127.0.0.1", "100001"]
            assert int(row[2].split()[0]) >= 292  # 300 000 bytes and more
            assert row[6] == local.name
            connection = ssh_child(shell)
            await tab_into_page(pilot)
            await pilot.press("f8")
            await settle(pilot)
            asked = time.monotonic()
            await pilot.press("y")
            await settle(pilot)
            assert wait_for(lambda: process_ended(connection), timeout=10)
            # polled every 0.5 s: well within a second on a quiet machine, 5 s allows for load
            assert time.monotonic() - asked < 5
            await until(pilot, lambda: "Aucune session SFTP n'est ouverte." in page_text(pilot))
            await choose_in_menu(pilot, "exploitation_journal")
            journal = pilot.app.screen.query_one("#journal", DataTable)
            newest = [str(cell) for cell in journal.get_row_at(0)]
            assert newest[1] == "olivier" and newest[3] == "exploitation.session_end"
            assert f"user={DEMO_USER}" in newest[4]
        write_command(shell, "ls")
        assert shell.wait(timeout=5) != 0  # sftp finds its connection gone
    finally:
        with contextlib.suppress(ProcessLookupError, AssertionError, OSError):
            os.kill(ssh_child(shell), signal.SIGKILL)  # sftp's ssh would outlive it
        if shell.poll() is None:
            shell.kill()
        shell.communicate(timeout=5)
    entry = AuditEntry.get(AuditEntry.action == "exploitation.session_end")
    assert entry.person is not None and entry.person.login == "olivier"
    assert json.loads(entry.details)["user"] == DEMO_USER
