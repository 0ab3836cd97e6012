"""Legacy scp (``scp -O``) under the limits SFTP uploads have: the IN quota and the file size
(refused with a clear line, nothing half-written left), the idle timeout (an idle session
closed, a slow transfer not), one command a channel. With the real OpenSSH ``scp -O`` and
``ssh`` (``scp -O`` runs ``ssh HOST scp -t DIR``: ``ssh`` alone lets a test hold the legacy
protocol idle), and paramiko for what no real client sends (two requests on one channel)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path

import paramiko
import pytest
from paramiko.common import cMSG_CHANNEL_REQUEST
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from sync.limits import ServerLimits
from tests.support.registration import DEMO_USER as USER
from tests.support.sftp import Server, openssh_options, write_out_file
from tests.support.sftp_attack import logged_in, provisioned, threads_and_fds, wait_for

TIMEOUT = 60


def options(server: Server, creds: DemoCredentials) -> list[str]:
    return openssh_options(creds.ssh_private_key)


def scp(
    server: Server, creds: DemoCredentials, *args: str, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    program = shutil.which("scp")
    assert program, "scp (openssh-client) is missing"
    return subprocess.run(
        [program, "-O", "-P", str(server.port), *options(server, creds), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def in_folder(server: Server, folder: str) -> list[str]:
    """Every name in one of the home's folders, hidden uploads in progress too."""
    return sorted(p.name for p in (server.home / folder).iterdir())


def test_scp_uploads_are_under_the_in_quota(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits(in_quota=300_000))
    try:
        first, second = tmp_path / "first.txt", tmp_path / "second.txt"
        first.write_bytes(b"a" * 200_000)
        second.write_bytes(b"b" * 200_000)
        target = f"{USER}@127.0.0.1:"
        assert scp(server, demo_credentials, str(first), f"{target}INTEST/").returncode == 0
        refused = scp(server, demo_credentials, str(second), f"{target}IN/")
        assert refused.returncode == 1
        assert "IN quota exceeded" in refused.stderr, refused.stderr
        assert in_folder(server, "IN") == []  # nothing half-written, no hidden upload left
        assert in_folder(server, "INTEST") == ["first.txt"]
        # several files in one run: those that fit are taken, the others refused
        small = tmp_path / "small.txt"
        small.write_bytes(b"c" * 50_000)
        both = scp(server, demo_credentials, str(second), str(small), f"{target}IN/")
        assert both.returncode == 1
        assert both.stderr.count("IN quota exceeded") == 1, both.stderr
        assert in_folder(server, "IN") == ["small.txt"]
        # SFTP and scp share one count: SFTP cannot take what scp filled either
        client = logged_in(server, demo_credentials)
        sftp = paramiko.SFTPClient.from_transport(client)
        assert sftp is not None
        try:
            with sftp.open("INTEST/more", "wb") as handle:
                handle.write(b"d" * 100_000)
            raise AssertionError("the SFTP upload past the quota was taken")
        except OSError as exc:
            assert "IN quota exceeded" in str(exc)
        client.close()
        # the intake takes the sets away: room again
        (server.home / "INTEST" / "first.txt").unlink()
        (server.home / "IN" / "small.txt").unlink()
        assert scp(server, demo_credentials, str(second), f"{target}IN/").returncode == 0
        assert (server.home / "IN" / "second.txt").read_bytes() == second.read_bytes()
    finally:
        server.service.stop()


def test_an_scp_upload_overtaken_by_another_session_stops_at_the_quota(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    """The announced size fits when the scp upload starts; an SFTP upload takes the room
    meanwhile: scp's bytes are counted as they come, as SFTP WRITEs are, and it is refused."""
    server = provisioned(tmp_path, demo_credentials, ServerLimits(in_quota=300_000))
    try:
        legacy = logged_in(server, demo_credentials)
        channel = legacy.open_session()
        channel.settimeout(10)
        channel.exec_command("scp -t IN/")  # what scp -O runs
        assert channel.recv(1) == b"\0"
        channel.sendall(b"C0644 200000 late.txt\n")
        assert channel.recv(1) == b"\0"  # it fits: go on
        other = logged_in(server, demo_credentials)
        sftp = paramiko.SFTPClient.from_transport(other)
        assert sftp is not None
        with sftp.open("INTEST/first.txt", "wb") as handle:
            handle.write(b"f" * 200_000)
        channel.sendall(b"l" * 200_000 + b"\0")
        answer = channel.recv(200)
        assert answer == b"\1scp: IN/late.txt: IN quota exceeded\n", answer
        other.close()
        legacy.close()
        assert in_folder(server, "IN") == []
        assert in_folder(server, "INTEST") == ["first.txt"]
    finally:
        server.service.stop()


@pytest.mark.parametrize(
    ("sent", "answer"),
    [
        # times no file system holds (used to end in a traceback, the file lost silently)
        (b"T99999999999999999999 0 99999999999999999999 0\n", b"\2scp: protocol error\n"),
        (b"Cxyz 3 bad-mode.txt\n", b"\2scp: protocol error\n"),  # OpenSSH: 4 octal digits
        (b"C0644 -3 negative.txt\n", b"\2scp: protocol error\n"),
        # a name that is not UTF-8 (was written with U+FFFD in it), as SFTP refuses it
        (
            b"C0644 3 \xff\xfe.txt\n",
            b"\1scp: INTEST/\xef\xbf\xbd\xef\xbf\xbd.txt: Permission denied\n",
        ),
        (b"C0644 3 \x1b[31m.txt\n", b"\1scp: INTEST/\x1b[31m.txt: Permission denied\n"),
    ],
)
def test_bad_scp_input_is_refused_in_one_line(
    demo: SqliteDatabase,
    tmp_path: Path,
    demo_credentials: DemoCredentials,
    caplog: pytest.LogCaptureFixture,
    sent: bytes,
    answer: bytes,
) -> None:
    caplog.set_level(logging.INFO)
    server = provisioned(tmp_path, demo_credentials, ServerLimits())
    try:
        client = logged_in(server, demo_credentials)
        channel = client.open_session()
        channel.settimeout(10)
        channel.exec_command("scp -pt INTEST/")
        assert channel.recv(1) == b"\0"
        channel.sendall(sent)
        assert channel.recv(200) == answer
        client.close()
        assert in_folder(server, "INTEST") == []
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    finally:
        server.service.stop()


def test_scp_uploads_are_under_the_file_size_limit(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits(max_file_size=100_000))
    try:
        big = tmp_path / "big.txt"
        big.write_bytes(b"x" * 100_001)
        refused = scp(server, demo_credentials, str(big), f"{USER}@127.0.0.1:INTEST/")
        assert refused.returncode == 1
        assert "file too large" in refused.stderr, refused.stderr
        assert in_folder(server, "INTEST") == []
    finally:
        server.service.stop()


def test_an_idle_legacy_scp_session_is_closed(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    """What ``scp -O`` runs, held idle: ``ssh HOST scp -t INTEST/`` sending nothing."""
    server = provisioned(tmp_path, demo_credentials, ServerLimits(idle_timeout=1.0))
    program = shutil.which("ssh")
    assert program, "ssh (openssh-client) is missing"
    command = [
        program,
        "-p",
        str(server.port),
        *options(server, demo_credentials),
        f"{USER}@127.0.0.1",
        "scp -t INTEST/",
    ]
    try:
        started = time.monotonic()
        with subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as idle:
            try:
                assert idle.stdout is not None
                assert idle.stdout.read(1) == b"\0"  # the server is ready for a file
                idle.wait(timeout=15)  # nothing sent, stdin kept open: the server ends it
            finally:
                idle.kill()
        took = time.monotonic() - started
        print(f"idle legacy scp session closed after {took:.1f} s")
        assert 1.0 <= took < 10
        assert wait_for(lambda: server.service.sessions(USER) == 0)
        assert in_folder(server, "INTEST") == []
    finally:
        server.service.stop()


def test_a_slow_scp_transfer_is_not_idle(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    """Bandwidth-limited, each way lasts about 4.5 s, more than twice the idle timeout. A
    download counts as activity as the client's window takes it (OpenSSH's ``scp`` gives its
    2 MB window back a megabyte at a time), so it is larger than the window."""
    limits = ServerLimits(idle_timeout=2.0)
    server = provisioned(tmp_path, demo_credentials, limits)
    try:
        slow = tmp_path / "slow.txt"
        slow.write_bytes(b"s" * 225_000)
        started = time.monotonic()
        up = scp(server, demo_credentials, "-l", "400", str(slow), f"{USER}@127.0.0.1:INTEST/")
        assert up.returncode == 0, up.stderr
        assert time.monotonic() - started > 2 * limits.idle_timeout
        assert (server.home / "INTEST" / "slow.txt").read_bytes() == slow.read_bytes()
        data = bytes(range(256)) * 24 * 1024  # 6 MiB
        write_out_file(server.homes, USER, "OUTTEST", "FO.ACRF.slow", data)
        started = time.monotonic()
        into = tmp_path / "got"
        source = f"{USER}@127.0.0.1:OUTTEST/FO.ACRF.slow"
        down = scp(server, demo_credentials, "-l", "10000", source, str(into))
        assert down.returncode == 0, down.stderr
        assert time.monotonic() - started > 2 * limits.idle_timeout
        assert into.read_bytes() == data
    finally:
        server.service.stop()


def test_one_command_a_channel_and_nothing_left_behind(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits())
    try:
        warm = logged_in(server, demo_credentials)  # what is made once, before counting
        channel = warm.open_session()
        channel.exec_command("scp -t INTEST/")
        assert channel.recv(1) == b"\0"
        warm.close()
        assert wait_for(lambda: server.service.sessions(USER) == 0)
        before = threads_and_fds()
        client = logged_in(server, demo_credentials)
        channel = client.open_session()
        channel.exec_command("scp -t INTEST/")
        assert channel.recv(1) == b"\0"
        # more requests on the channel, without asking for the answer (paramiko's client
        # closes a channel whose request was refused): each one would start a thread
        for _ in range(50):
            for kind, argument in (("exec", "scp -t INTEST/"), ("subsystem", "sftp")):
                request = paramiko.Message()
                request.add_byte(cMSG_CHANNEL_REQUEST)
                request.add_int(channel.remote_chanid)
                request.add_string(kind)
                request.add_boolean(False)
                request.add_string(argument)
                client._send_user_message(request)  # type: ignore[attr-defined]
        time.sleep(0.5)  # the server has taken them (a thread, were one started, would run)
        during = threads_and_fds()
        assert during[0] <= before[0] + 3, (before, during)  # its transport and one scp
        channel.sendall(b"C0644 3 one.txt\n")  # the first command still works
        assert channel.recv(1) == b"\0"
        channel.sendall(b"abc\0")
        assert channel.recv(1) == b"\0"
        client.close()
        assert wait_for(lambda: threads_and_fds() <= before, timeout=5), (before, threads_and_fds())
        assert (server.home / "INTEST" / "one.txt").read_bytes() == b"abc"
    finally:
        server.service.stop()
