"""A technical user's sessions counted with every process serving the same homes
(``sync.seats``): ``serve --workers N`` and nodes sharing the homes hold ``--max-sessions``
together, not each; a seat comes back when its connection ends, and when its process is
killed (the kernel's lock, never stranded)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from sync.limits import ServerLimits
from sync.seats import SEATS_FOLDER, Seats
from tests.support.registration import DEMO_USER, register_demo_sender
from tests.support.repo import ROOT
from tests.support.sftp import Server, start_server
from tests.support.sftp_attack import wait_for

LIMITS = ServerLimits(login_grace=5.0, max_sessions_per_user=2, delay_after=100, ban_after=100)


@pytest.fixture
def two_servers(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> Iterator[tuple[Server, Server]]:
    """Two servers on one database and one homes folder (two workers, or two nodes)."""
    first = start_server(tmp_path, LIMITS)
    second = start_server(tmp_path, LIMITS)
    assert first.homes == second.homes and first.port != second.port
    register_demo_sender(demo_credentials)
    first.provision()
    yield first, second
    first.service.stop()
    second.service.stop()


def log_in(server: Server, creds: DemoCredentials) -> paramiko.Transport:
    transport = paramiko.Transport(("127.0.0.1", server.port))
    transport.start_client(timeout=10)
    transport.auth_publickey(DEMO_USER, paramiko.Ed25519Key(filename=str(creds.ssh_private_key)))
    return transport


def test_the_limit_holds_across_servers_on_the_same_homes(
    two_servers: tuple[Server, Server], demo_credentials: DemoCredentials
) -> None:
    first, second = two_servers
    held = [log_in(first, demo_credentials), log_in(second, demo_credentials)]
    try:
        assert first.service.sessions(DEMO_USER) == 1 == second.service.sessions(DEMO_USER)
        for server in (first, second):  # each alone is under its limit of 2: together not
            refused = server.sftp(demo_credentials, "ls -1 /\n")
            assert refused.returncode != 0
            assert "too many sessions for EXPDEMOENTREPRISE (at most 2 at once)" in refused.stderr
        held[0].close()  # its seat comes back when its server sees it end (a sweep)
        result = second.sftp(demo_credentials, "ls -1 /\n")
        assert result.returncode == 0, result.stderr
        assert "IN" in result.stdout
    finally:
        for transport in held:
            transport.close()
    for _ in range(3):  # a script logging in again and again, each time through the other
        for server in (first, second):
            result = server.sftp(demo_credentials, "ls -1 /\n")
            assert result.returncode == 0, result.stderr
    assert wait_for(lambda: first.service.sessions(DEMO_USER) == 0, timeout=5)
    seats = first.homes / SEATS_FOLDER
    assert [p.name for p in seats.iterdir()] == [DEMO_USER]
    assert (seats.stat().st_mode & 0o777) == 0o700


def test_a_stopped_server_gives_its_seats_back(
    two_servers: tuple[Server, Server], demo_credentials: DemoCredentials
) -> None:
    first, second = two_servers
    held = [log_in(first, demo_credentials) for _ in range(2)]
    try:
        assert second.sftp(demo_credentials, "ls -1 /\n").returncode != 0
        first.service.stop()
        result = second.sftp(demo_credentials, "ls -1 /\n")
        assert result.returncode == 0, result.stderr
    finally:
        for transport in held:
            transport.close()


HOLDER = """
import sys, time
from pathlib import Path
from sync.seats import Seats
seats = Seats(Path(sys.argv[1]), 2)
held = [seats.take("USER1"), seats.take("USER1")]
assert all(s is not None and s.held for s in held)
print("held", flush=True)
time.sleep(60)
"""


def test_a_killed_process_leaves_no_seat_held(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        seats = Seats(tmp_path, 2)
        assert seats.take("USER1") is None  # both held by the other process
        other = seats.take("USER2")  # another user's are their own
        assert other is not None and other.held
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 5
        taken = [seats.take("USER1"), seats.take("USER1")]
        while None in taken and time.monotonic() < deadline:
            time.sleep(0.05)
            taken = [s or seats.take("USER1") for s in taken]
        assert all(s is not None and s.held for s in taken)
        assert seats.take("USER1") is None  # two seats, both ours now
        for seat in taken:
            assert seat is not None
            seat.release()
            assert not seat.held
        assert seats.take("USER1") is not None
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
