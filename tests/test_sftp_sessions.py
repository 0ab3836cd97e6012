"""Live SFTP sessions published in the database (``store.sessions``, ``sync.session_board``):
the real server and the real OpenSSH ``sftp`` client; a session shows with its bytes and
file, an operator's request ends it within a second or so and is audited; dead servers'
rows are cleaned and stale ones ignored."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import sessions
from store.accounts import Account
from store.claims import new_owner
from store.db import db
from store.democreds import DemoCredentials
from store.models import AuditEntry
from store.sessions import PublishedSession
from sync.session_board import SessionBoard
from tests.support.registration import DEMO_USER, person_id, register_demo_sender
from tests.support.sftp import (
    Server,
    process_ended,
    sftp_shell,
    ssh_child,
    start_server,
    write_command,
)
from tests.support.sftp_attack import wait_for

pytestmark = pytest.mark.both_backends


@pytest.fixture
def server(demo: SqliteDatabase, tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    running.service.stop()


def session(ident: str, started: float = 1.0) -> PublishedSession:
    return PublishedSession(ident, "someuser1", 123456, "127.0.0.9", started, 10, 20, "")


def test_a_session_shows_with_its_bytes_and_an_operator_ends_it(
    server: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    server.provision()
    local = tmp_path / "FI.DMFA.100001.20261128.00001.T.1.1"
    local.write_bytes(b"x" * 200_000)
    shell = sftp_shell(server.port, demo_credentials.ssh_private_key, DEMO_USER, tmp_path)
    try:
        write_command(shell, f"put {local.name} INTEST/")
        assert wait_for(
            lambda: [s for s in sessions.live_sessions() if s.bytes_in > 200_000], timeout=15
        ), sessions.live_sessions()
        (live,) = sessions.live_sessions()
        assert (live.technical_user, live.sender_number, live.address) == (
            DEMO_USER,
            100001,
            "127.0.0.1",
        )
        assert live.current_file == local.name and live.bytes_out > 0
        assert live.server == server.service.board.server and live.end_requested_at is None
        assert abs(live.since.timestamp() - time.time()) < 30

        connection = ssh_child(shell)
        asked = time.monotonic()
        ended = sessions.request_end(live.id, person_id("olivier"), "olivier")
        assert ended is not None and ended.id == live.id
        # the client's connection (its ssh process) ends; sftp notices at its next command
        assert wait_for(lambda: process_ended(connection), timeout=5)
        assert time.monotonic() - asked < 2.5
        write_command(shell, "ls")
        assert shell.wait(timeout=5) != 0
    finally:
        if shell.poll() is None:
            shell.kill()
        shell.communicate(timeout=5)
    assert wait_for(lambda: not sessions.live_sessions(), timeout=5)
    entry = AuditEntry.get(AuditEntry.action == "exploitation.session_end")
    assert entry.person is not None and entry.person.login == "olivier"
    assert json.loads(entry.details) == {
        "address": "127.0.0.1",
        "node": live.node,
        "sender": "100001",
        "session": live.id,
        "user": DEMO_USER,
    }
    assert sessions.request_end(live.id, person_id("olivier"), "olivier") is None  # gone


class FakeSession:
    """What the board reads of a session, logged in as ``someuser1``."""

    def __init__(self) -> None:
        self.session_id = "s1"
        self.account: Account | None = Account(1, 1, 123456, "someuser1", 1)
        self.address = "127.0.0.9"
        self.started_at = 1.0
        self.bytes_in = self.bytes_out = 0
        self.current_file = ""
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_bytes_are_written_at_most_once_a_second_and_only_when_they_changed(
    demo: SqliteDatabase,
) -> None:
    fake = FakeSession()
    board = SessionBoard(lambda: [fake])
    board.tick(now=100.0)
    assert [s.bytes_in for s in sessions.live_sessions()] == [0]
    fake.bytes_in = 5000
    board.tick(now=100.5)  # within the second: not written
    assert [s.bytes_in for s in sessions.live_sessions()] == [0]
    board.tick(now=101.0)
    assert [s.bytes_in for s in sessions.live_sessions()] == [5000]
    with db.atomic():
        db.execute_sql("DELETE FROM sftp_session")
    board.tick(now=102.0)  # nothing changed, no heartbeat due: nothing written
    assert sessions.live_sessions() == []
    fake.bytes_out = 10
    board.tick(now=103.0)  # changed: the whole row written again
    assert [s.bytes_out for s in sessions.live_sessions()] == [10]
    board.tick(now=103.5)
    assert not fake.closed
    sessions.request_end("s1", person_id("olivier"), "olivier")
    board.tick(now=103.6)  # asked at every poll, whatever the publishing rate
    assert fake.closed


def test_stale_rows_are_left_out_and_dead_servers_rows_cleaned(demo: SqliteDatabase) -> None:
    now = time.time()
    alive = new_owner()
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = f"{alive.split(':')[0]}:{child.stdout.strip()}:deadbeef"
    elsewhere = "othernode:1:cafe"
    sessions.publish(alive, [session("a")], now=now)
    sessions.publish(dead, [session("d")], now=now)
    sessions.publish(elsewhere, [session("old")], now=now - sessions.STALE_SECONDS - 1)
    sessions.publish(elsewhere, [session("ancient")], now=now - sessions.FORGET_SECONDS - 1)
    assert [s.id for s in sessions.live_sessions(now)] == ["a", "d"]  # stale ones left out
    assert sessions.clean_dead(now) == 2  # the dead process's row and the ancient one
    assert [s.id for s in sessions.live_sessions(now)] == ["a"]
    assert sessions.request_end("old", person_id("olivier"), "olivier", now=now) is None
    sessions.publish(alive, [], ended=["a"], now=now)
    assert sessions.live_sessions(now) == []
    sessions.publish(alive, [session("b")], now=now)
    sessions.withdraw(alive)
    assert sessions.live_sessions(now) == []
