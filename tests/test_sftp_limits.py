"""The server's limits, with paramiko's client: auth methods, grace time, delay and ban,
connection and session caps, file size, READ clamp, limits@openssh.com, interrupted uploads,
the host key."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from paramiko.sftp import CMD_EXTENDED, CMD_READ
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from sync.hostkey import describe, fingerprint, load_or_create_host_key
from sync.limits import (
    MAX_READ,
    MB,
    AddressGuard,
    ServerLimits,
    early_drop,
    format_default,
    limit_options,
    parse_max_startups,
    source_of,
)
from sync.sftp_server import SFTPService
from tests.support.credentials import new_ssh_key
from tests.support.registration import DEMO_USER, register_demo_sender
from tests.support.repo import ROOT
from tests.support.sftp import Server, start_server, write_out_file
from tests.support.sftp_attack import wait_for

LIMITS = ServerLimits(
    login_grace=2.0,  # an OpenSSH login on a loaded 2-core machine took over 0.6 s
    max_startups=(2, 100, 2),
    max_sessions_per_user=1,
    max_file_size=100_000,
    delay_after=100,
    ban_after=100,
)


@pytest.fixture
def limited(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> Iterator[Server]:
    server = start_server(tmp_path, LIMITS)
    register_demo_sender(demo_credentials)
    server.provision()
    yield server
    server.service.stop()


def connect(server: Server) -> paramiko.Transport:
    transport = paramiko.Transport(("127.0.0.1", server.port))
    transport.start_client(timeout=10)
    return transport


def key(creds: DemoCredentials) -> paramiko.PKey:
    return paramiko.Ed25519Key(filename=str(creds.ssh_private_key))


def login(server: Server, creds: DemoCredentials) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    transport = connect(server)
    transport.auth_publickey(DEMO_USER, key(creds))
    client = paramiko.SFTPClient.from_transport(transport)
    assert client is not None
    return transport, client


def test_public_keys_only(limited: Server) -> None:
    for attempt in (
        lambda t: t.auth_password(DEMO_USER, "demo"),
        lambda t: t.auth_interactive_dumb(DEMO_USER),
    ):
        transport = connect(limited)
        try:
            with pytest.raises(paramiko.BadAuthenticationType) as info:
                attempt(transport)
            assert info.value.allowed_types == ["publickey"]
        finally:
            transport.close()


def test_login_grace_time(limited: Server) -> None:
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as sock:
        assert sock.recv(100).startswith(b"SSH-2.0-")
        time.sleep(LIMITS.login_grace + 0.8)
        sock.settimeout(3)
        with pytest.raises((ConnectionResetError, BrokenPipeError, OSError)):
            sock.sendall(b"SSH-2.0-late\r\n")
            assert sock.recv(100) == b""
            raise ConnectionResetError


def test_unauthenticated_connections_are_capped(limited: Server) -> None:
    waiting = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(2)]
    try:
        for sock in waiting:
            assert sock.recv(100).startswith(b"SSH-2.0-")
        with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as third:
            assert third.recv(100) == b""
    finally:
        for sock in waiting:
            sock.close()


def test_one_session_per_user(limited: Server, demo_credentials: DemoCredentials) -> None:
    """Counted at authentication: a login that opens no channel holds its place too (it
    used to be counted at the first channel, so a user could hold any number of them)."""
    first = connect(limited)
    first.auth_publickey(DEMO_USER, key(demo_credentials))  # no channel
    try:
        assert limited.service.sessions(DEMO_USER) == 1
        second = connect(limited)
        with pytest.raises((paramiko.SSHException, EOFError)):
            second.auth_publickey(DEMO_USER, key(demo_credentials))
        assert not second.is_authenticated()
        assert wait_for(lambda: not second.is_active())
        second.close()
        refused = limited.sftp(demo_credentials, "ls -1 /\n")  # OpenSSH says why
        assert refused.returncode != 0
        assert "too many sessions for EXPDEMOENTREPRISE (at most 1 at once)" in refused.stderr
        assert limited.service.sessions(DEMO_USER) == 1
        assert not limited.service.guard.banned("127.0.0.1")  # a valid key: no failure
    finally:
        first.close()
    result = limited.sftp(demo_credentials, "ls -1 /\n")  # its place is free again
    assert result.returncode == 0, result.stderr
    assert "IN" in result.stdout


def test_a_session_that_ended_frees_its_place_at_once(
    limited: Server, demo_credentials: DemoCredentials
) -> None:
    """One session per user: a script logging in again and again, each time right after the
    last one ended, is never refused (an ended session used to count until the next sweep)."""
    for attempt in range(6):
        result = limited.sftp(demo_credentials, "ls -1 /\n")
        assert result.returncode == 0, (attempt, result.stderr)
        assert "IN" in result.stdout


def test_file_size_limit_and_interrupted_upload(
    limited: Server, demo_credentials: DemoCredentials
) -> None:
    transport, client = login(limited, demo_credentials)
    try:
        with pytest.raises(OSError), client.open("IN/too-big", "wb") as handle:
            handle.write(b"x" * 150_000)
        with client.open("IN/fits", "wb") as handle:
            handle.write(b"y" * 100_000)
        # an upload cut off before its close is thrown away
        handle = client.open("IN/cut", "wb")
        handle.write(b"z" * 1000)
        handle.flush()
    finally:
        transport.close()
    deadline = time.monotonic() + 5
    folder = limited.home / "IN"
    while [p.name for p in folder.iterdir()] != ["fits"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.name for p in folder.iterdir()] == ["fits"]
    assert [path.name for _, path in limited.uploads] == ["fits"]


def test_reads_are_clamped_and_limits_announced(
    limited: Server, demo_credentials: DemoCredentials
) -> None:
    write_out_file(limited.homes, DEMO_USER, "OUT", "big", b"b" * 600_000)
    transport, client = login(limited, demo_credentials)
    try:
        _, reply = client._request(CMD_EXTENDED, "limits@openssh.com")  # type: ignore[attr-defined]
        assert [reply.get_int64() for _ in range(4)] == [256 * 1024, MAX_READ, MAX_READ, 64]
        handle = client.open("OUT/big", "rb")
        _, data = client._request(CMD_READ, handle.handle, paramiko.sftp.int64(0), 1_000_000)  # type: ignore[attr-defined]
        assert len(data.get_binary()) == MAX_READ == 261_120
        handle.close()
        with pytest.raises(OSError):
            client.rename("OUT/big", "IN/big")
    finally:
        transport.close()


def test_delay_then_ban(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = start_server(
        tmp_path, ServerLimits(delay_after=1, delay_base=0.2, ban_after=3, ban_time=60)
    )
    try:
        wrong = paramiko.Ed25519Key(filename=str(new_ssh_key(tmp_path)[0]))
        times = []
        for _ in range(3):
            transport = connect(server)
            started = time.monotonic()
            with pytest.raises(paramiko.AuthenticationException):
                transport.auth_publickey(DEMO_USER, wrong)
            times.append(time.monotonic() - started)
            transport.close()
        assert times[0] < 0.2 <= times[1] and times[2] >= 0.4
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as banned:
            assert banned.recv(100) == b""
    finally:
        server.service.stop()


def test_address_guard_counts_per_address() -> None:
    now = [0.0]
    guard = AddressGuard(
        ServerLimits(
            delay_after=2, delay_base=1, delay_max=3, ban_after=5, ban_window=10, ban_time=30
        ),
        clock=lambda: now[0],
    )
    assert [guard.failure("a") for _ in range(4)] == [0, 0, 1, 2]
    assert guard.failure("b") == 0 and not guard.banned("a")
    assert guard.failure("a") == 3 and guard.banned("a")
    now[0] = 31
    assert not guard.banned("a")
    now[0] = 100
    assert guard.failure("a") == 0  # old failures are forgotten after the window


def test_host_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ssh_host_ed25519_key"
    first = load_or_create_host_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fingerprint(load_or_create_host_key(path)) == fingerprint(first)
    assert describe(load_or_create_host_key(path)) == f"ssh-ed25519 {fingerprint(first)}"
    assert fingerprint(first).startswith("SHA256:") and "=" not in fingerprint(first)


def test_service_reports_its_port(tmp_path: Path) -> None:
    service = SFTPService(tmp_path, load_or_create_host_key(tmp_path / "k"), port=0)
    service.start()
    try:
        assert service.address[1] > 0
    finally:
        service.stop()


@pytest.mark.parametrize("before_command", [True, False])
def test_limits_are_options_of_serve_and_the_app(tmp_path: Path, before_command: bool) -> None:
    from tui.cli import build_parser
    from tui.startup import Startup

    given = [
        "--max-startups",
        "5:50:20",
        "--per-source-max-startups",
        "3",
        "--in-quota",
        "10",
        "--idle-timeout",
        "30",
        "--max-open-handles",
        "9",
        "--window",
        "4",
    ]
    db = ["--db", str(tmp_path / "x.sqlite3")]
    argv = db + given + ["serve"] if before_command else [*db, "serve", *given]
    args = build_parser(with_batch=False).parse_args(argv)
    limits = Startup.from_args(args).service_config(tmp_path / "x.sqlite3").limits
    assert limits.max_startups == (5, 50, 20) and limits.per_source_max_startups == 3
    assert limits.in_quota == 10 * MB and limits.window_size == 4 * MB
    assert limits.idle_timeout == 30 and limits.max_open_handles == 9
    app_args = build_parser(with_batch=False).parse_args(db + given)  # the app, no command
    assert Startup.from_args(app_args).service_config(tmp_path / "x.sqlite3").limits == limits
    plain = build_parser(with_batch=False).parse_args([*db, "serve"])
    assert Startup.from_args(plain).service_config(tmp_path / "x.sqlite3").limits == (
        ServerLimits()
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-startups", "20:30:10"],
        ["--max-startups", "a:b:c"],
        ["--in-quota", "-1"],
        ["--idle-timeout", "soon"],
    ],
)
def test_a_bad_limit_is_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser(with_batch=False).parse_args(["serve", *argv])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"expedito serve: error: argument {argv[0]}: ")


def test_readme_lists_every_limit_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    for option in limit_options():
        unit = "" if option.unit == "start:rate:full" else f" {option.unit}"
        assert f"| `{option.option}` | {format_default(option)}{unit} |" in readme, option


def test_per_address_limits_count_an_ipv6_host_by_its_64() -> None:
    assert source_of("127.0.0.5") == "127.0.0.5"
    assert source_of("2001:db8:1:2::5") == source_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert source_of("2001:db8:1:3::5") != source_of("2001:db8:1:2::5")


def test_early_drop_is_openssh_s() -> None:
    limits = ServerLimits(max_startups=(10, 30, 100))
    assert not early_drop(9, limits, draw=lambda: 0.0)
    assert early_drop(100, limits, draw=lambda: 0.999)
    assert early_drop(10, limits, draw=lambda: 0.29) and not early_drop(
        10, limits, draw=lambda: 0.31
    )
    assert early_drop(55, limits, draw=lambda: 0.64) and not early_drop(
        55, limits, draw=lambda: 0.66
    )
    # an address's first connection waits only for FULL (a burst of partners' hosts)
    assert not early_drop(99, limits, draw=lambda: 0.0, first=True)
    assert early_drop(100, limits, draw=lambda: 0.999, first=True)
    assert parse_max_startups("10:30:100") == (10, 30, 100)
    assert parse_max_startups("7") == (7, 100, 7)
