"""``--proxy-protocol``: behind a TCP load balancer, the client's address comes from the PROXY
header (v1 and v2) of the balancers trusted, and is the one limited, banned, logged and shown;
nobody else can claim an address; a trusted balancer's connection without a valid header is
closed. With the parser's cases, the real server and paramiko, and the real HAProxy with
OpenSSH's ``sftp``."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import shutil
import socket
import struct
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
from sync.proxy_protocol import (
    V2_SIGNATURE,
    ProxyHeaderError,
    parse_networks,
    read_header,
    trusted,
)
from tests.support.credentials import new_ssh_key
from tests.support.network import free_port, listening
from tests.support.registration import DEMO_USER, register_demo_sender
from tests.support.repo import ROOT
from tests.support.sftp import (
    Server,
    bind_to,
    sftp_shell,
    start_server,
    write_command,
)
from tests.support.sftp_attack import wait_for

BALANCER = "127.0.0.3"  # the balancer's own address, trusted
SSH_LINE = b"SSH-2.0-OpenSSH_9.2\r\n"


def v2(command: int = 1, family: int = 1, source: str = "127.0.5.5", tlv: bytes = b"") -> bytes:
    if family == 1:
        body = ipaddress.IPv4Address(source).packed + bytes([127, 0, 0, 1]) + b"\x30\x39\x1f\x96"
    elif family == 2:
        body = ipaddress.IPv6Address(source).packed + bytes(16) + b"\x30\x39\x1f\x96"
    else:
        body = b""
    body += tlv
    return (
        V2_SIGNATURE
        + bytes([0x20 | command, family << 4 | 1])
        + struct.pack("!H", len(body))
        + body
    )


def read_from(*chunks: bytes, pause: float = 0.0) -> tuple[str | None, bytes]:
    """What ``read_header`` makes of ``chunks`` sent in turn, and the bytes it left."""
    left, right = socket.socketpair()
    with left, right:
        for chunk in chunks:
            left.sendall(chunk)
            time.sleep(pause)
        left.shutdown(socket.SHUT_WR)
        address = read_header(right, 1.0)
        rest = b""
        while data := right.recv(4096):
            rest += data
        return address, rest


def test_headers_give_the_client_and_leave_the_ssh_bytes() -> None:
    assert read_from(b"PROXY TCP4 127.0.5.5 127.0.0.1 12345 8022\r\n" + SSH_LINE) == (
        "127.0.5.5",
        SSH_LINE,
    )
    assert read_from(b"PROXY TCP6 ::1 ::1 12345 8022\r\n" + SSH_LINE) == ("::1", SSH_LINE)
    assert read_from(b"PROXY UNKNOWN\r\n" + SSH_LINE) == (None, SSH_LINE)
    assert read_from(v2() + SSH_LINE) == ("127.0.5.5", SSH_LINE)
    assert read_from(v2(family=2, source="::ffff:127.0.5.6") + SSH_LINE) == (
        "127.0.5.6",
        SSH_LINE,
    )
    assert read_from(v2(tlv=b"\x04\x00\x03abc") + SSH_LINE) == ("127.0.5.5", SSH_LINE)
    assert read_from(v2(command=0, family=0) + SSH_LINE) == (None, SSH_LINE)  # a health check
    header = v2()  # split over segments, in the signature and after it
    assert read_from(header[:5], header[5:18], header[18:] + SSH_LINE, pause=0.02) == (
        "127.0.5.5",
        SSH_LINE,
    )


@pytest.mark.parametrize(
    "sent, why",
    [
        (SSH_LINE, "did not start with a PROXY header"),
        (b"PROXY TCP4 127.0.5.5 127.0.0.1 12345\r\n", "not understood"),
        (b"PROXY TCP4 ::1 127.0.0.1 12345 8022\r\n", "not understood"),
        (b"PROXY TCP4 127.0.5.5 127.0.0.1 12345 99999\r\n", "not understood"),
        (b"PROXY TCP4 " + b"9" * 120, "longer than 107 bytes"),
        (b"PROXY TCP4 127.0.5.5", "no PROXY header within 1 s"),  # cut: it waits
        (V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12), "version 3"),
        (V2_SIGNATURE + b"\x21\x11\x10\x00", "too long"),
        (V2_SIGNATURE + b"\x21\x31\x00\x00", "family 3"),
        (b"", "ended before its PROXY header"),
    ],
)
def test_a_bad_header_is_one_line(sent: bytes, why: str) -> None:
    with pytest.raises(ProxyHeaderError, match=why):
        read_from(sent)


def test_a_header_that_never_comes_times_out() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"PROX")
        started = time.monotonic()
        with pytest.raises(ProxyHeaderError, match=re.escape("no PROXY header within 0.3 s")):
            read_header(right, 0.3)
        assert time.monotonic() - started < 2


def test_networks_option() -> None:
    networks = parse_networks("10.0.0.5, 127.0.0.0/30,::1")
    assert trusted("127.0.0.3", networks) and trusted("::1", networks)
    assert trusted("::ffff:10.0.0.5", networks)
    assert not trusted("127.0.0.4", networks) and not trusted("10.0.0.6", networks)
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300' is not an address or a network")):
        parse_networks("10.0.0.5,10.0.0.300")


LIMITS = ServerLimits(login_grace=5.0, delay_after=100, ban_after=2)


@pytest.fixture
def proxied(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> Iterator[Server]:
    server = start_server(tmp_path, LIMITS, parse_networks(f"{BALANCER}/32"))
    register_demo_sender(demo_credentials)
    server.provision()
    yield server
    server.service.stop()


def through(server: Server, header: bytes, source: str = BALANCER) -> paramiko.Transport:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(header)
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=10)
    return transport


def demo_key(creds: DemoCredentials) -> paramiko.PKey:
    return paramiko.Ed25519Key(filename=str(creds.ssh_private_key))


def addresses(server: Server) -> list[str]:
    return sorted(s.address for s in server.service.live_sessions())


def test_the_client_named_is_the_one_seen_and_banned(
    proxied: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    first = through(proxied, v2(source="127.0.5.5"))
    first.auth_publickey(DEMO_USER, demo_key(demo_credentials))
    second = through(proxied, b"PROXY TCP4 127.0.5.6 127.0.0.1 40000 8022\r\n")
    second.auth_publickey(DEMO_USER, demo_key(demo_credentials))
    try:
        assert wait_for(lambda: addresses(proxied) == ["127.0.5.5", "127.0.5.6"], timeout=5)
    finally:
        first.close()
        second.close()
    stranger = paramiko.Ed25519Key.from_private_key_file(str(new_ssh_key(tmp_path)[0]))
    for _ in range(2):  # two failures of 127.0.5.7: banned (ban_after=2), not the balancer
        attempt = through(proxied, v2(source="127.0.5.7"))
        with pytest.raises(paramiko.AuthenticationException):
            attempt.auth_publickey(DEMO_USER, stranger)
        attempt.close()
    guard = proxied.service.guard
    assert guard.banned("127.0.5.7") and not guard.banned(BALANCER)
    other = through(proxied, v2(source="127.0.5.8"))  # another partner, same balancer
    other.auth_publickey(DEMO_USER, demo_key(demo_credentials))
    assert other.is_authenticated()
    other.close()
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        through(proxied, v2(source="127.0.5.7")).auth_publickey(
            DEMO_USER, demo_key(demo_credentials)
        )


def test_only_the_balancers_are_read_and_they_must_send_a_header(
    proxied: Server, demo_credentials: DemoCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # a client of its own (not a balancer) cannot claim an address: its bytes are SSH's
    claimer = through(proxied, b"PROXY TCP4 127.0.5.9 127.0.0.1 40000 8022\r\n", "127.0.0.1")
    claimer.auth_publickey(DEMO_USER, demo_key(demo_credentials))
    try:
        assert wait_for(lambda: addresses(proxied) == ["127.0.0.1"], timeout=5)
    finally:
        claimer.close()
    # the balancer's connection without a header: closed, one line
    with socket.create_connection(("127.0.0.1", proxied.port), source_address=(BALANCER, 0)) as s:
        s.sendall(SSH_LINE)
        s.settimeout(5)
        with contextlib.suppress(ConnectionResetError):  # the SSH line unread: or a reset
            assert s.recv(100) == b""
    assert wait_for(
        lambda: (
            "127.0.0.3: the connection did not start with a PROXY header, connection closed"
            in caplog.text
        ),
        timeout=5,
    )


HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def test_haproxy_in_front_v1_and_v2(
    proxied: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """The real HAProxy (``send-proxy`` and ``send-proxy-v2``), connecting from its own
    address; OpenSSH's ``sftp`` from two partners' addresses: each session is its partner's."""
    ports = {"v1": free_port(), "v2": free_port()}
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
        "  timeout server 60s\n"
        + "".join(
            f"listen {name}\n  bind 127.0.0.1:{port}\n"
            f"  server sftp 127.0.0.1:{proxied.port} source {BALANCER} "
            f"{'send-proxy' if name == 'v1' else 'send-proxy-v2'}\n"
            for name, port in ports.items()
        )
    )
    haproxy = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    shells = []
    try:
        assert wait_for(lambda: all(map(listening, ports.values())), timeout=20)
        for name, source in (("v1", "127.0.1.41"), ("v2", "127.0.1.42")):
            key = demo_credentials.ssh_private_key
            shell = sftp_shell(ports[name], key, DEMO_USER, options=bind_to(source))
            shells.append(shell)
            write_command(shell, "ls")
        seen = wait_for(lambda: addresses(proxied) == ["127.0.1.41", "127.0.1.42"], timeout=20)
        shown = addresses(proxied)
    finally:
        ended = [shell.communicate("bye\n", timeout=20) for shell in shells]
        haproxy.terminate()
        log = haproxy.communicate(timeout=10)[0].decode(errors="replace")
    assert seen, (shown, ended, log)
    assert all(shell.returncode == 0 for shell in shells), (ended, log)


def test_bad_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for options, said in (
        (["--proxy-protocol", "10.0.0.300"], "'10.0.0.300' is not an address or a network"),
        (
            ["--front", "openssh", "--proxy-protocol", "127.0.0.3"],
            "--proxy-protocol: with --front openssh sshd takes the connections",
        ),
    ):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui.cli",
                "--db",
                str(tmp_path / "x.sqlite3"),
                "serve",
                *options,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, run.stderr
        assert said in run.stderr
        assert "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) <= 2, run.stderr
