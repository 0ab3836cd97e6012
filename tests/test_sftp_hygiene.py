"""What an authenticated user may hold and name, and what the log says: idle sessions closed,
a quota on what waits in the IN folders, no file with a second hard link served, no names
with control characters, one log line per client error."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import paramiko
import pytest
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from store.models import Channel
from sync.limits import ServerLimits
from tests.support.registration import DEMO_USER as USER
from tests.support.sftp import write_out_file
from tests.support.sftp_attack import logged_in, provisioned, sftp_packet, tcp, wait_for


def sftp_client(client: paramiko.Transport) -> paramiko.SFTPClient:
    sftp = paramiko.SFTPClient.from_transport(client)
    assert sftp is not None
    return sftp


def test_idle_sessions_are_closed(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits(idle_timeout=0.8))
    try:
        busy, idle = (logged_in(server, demo_credentials) for _ in range(2))
        busy_sftp, idle_sftp = sftp_client(busy), sftp_client(idle)
        idle_sftp.listdir("/")
        started = time.monotonic()
        while time.monotonic() - started < 2.0:  # one request every 0.2 s: never idle
            assert "IN" in busy_sftp.listdir("/")
            time.sleep(0.2)
        assert not idle.is_active()
        assert busy.is_active()
        busy.close()
    finally:
        server.service.stop()


def test_a_login_without_a_channel_is_idle_too(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    """A login holds one of its user's sessions from authentication on: one that opens
    nothing is closed at the idle timeout, and its place is free again."""
    limits = ServerLimits(idle_timeout=0.8, max_sessions_per_user=1)
    server = provisioned(tmp_path, demo_credentials, limits)
    try:
        idle = logged_in(server, demo_credentials)  # no channel
        assert server.service.sessions(USER) == 1
        assert wait_for(lambda: not idle.is_active(), timeout=5)
        assert wait_for(lambda: server.service.sessions(USER) == 0, timeout=5)
        again = logged_in(server, demo_credentials)
        assert "IN" in sftp_client(again).listdir("/")
        again.close()
    finally:
        server.service.stop()


def test_what_waits_in_the_in_folders_is_capped(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits(in_quota=300_000))
    try:
        client = logged_in(server, demo_credentials)
        sftp = sftp_client(client)
        with sftp.open("INTEST/first", "wb") as handle:
            handle.write(b"a" * 200_000)
        with pytest.raises(OSError), sftp.open("IN/second", "wb") as handle:
            handle.write(b"b" * 200_000)
        assert sorted(p.name for p in (server.home / "IN").iterdir()) == []
        (server.home / "INTEST" / "first").unlink()  # the intake took it away
        with sftp.open("IN/second", "wb") as handle:
            handle.write(b"b" * 200_000)
        assert (server.home / "IN" / "second").stat().st_size == 200_000
        client.close()
    finally:
        server.service.stop()


def test_a_file_with_a_second_hard_link_is_not_served(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits())
    try:
        write_out_file(server.homes, USER, "OUT", "ACRF", b"answer")
        secret = tmp_path / "secret"
        secret.write_bytes(b"not for the partner")
        os.link(secret, server.home / "OUT" / "planted")
        client = logged_in(server, demo_credentials)
        sftp = sftp_client(client)
        assert sftp.open("OUT/ACRF").read() == b"answer"
        with pytest.raises(OSError):
            sftp.open("OUT/planted").read()
        os.link(server.home / "OUT" / "ACRF", tmp_path / "elsewhere")
        with pytest.raises(OSError):
            sftp.open("OUT/ACRF").read()
        client.close()
    finally:
        server.service.stop()


def test_names_with_control_characters_are_refused(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits())
    try:
        client = logged_in(server, demo_credentials)
        sftp = sftp_client(client)
        for name in ("bad\nname", "bad\rname", "esc\x1b[31m", "del\x7f", "c1\x85", "line\u2028sep"):
            with pytest.raises(OSError), sftp.open(f"IN/{name}", "wb") as handle:
                handle.write(b"x")
        with sftp.open("IN/good", "wb") as handle:
            handle.write(b"x")
        with pytest.raises(OSError):
            sftp.rename("IN/good", "IN/bad\nname")
        assert sorted(p.name for p in (server.home / "IN").iterdir()) == ["good"]
        client.close()
    finally:
        server.service.stop()


def test_a_client_error_is_one_log_line(
    demo: SqliteDatabase,
    tmp_path: Path,
    demo_credentials: DemoCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = provisioned(tmp_path, demo_credentials, ServerLimits())
    try:
        caplog.set_level(logging.INFO)
        # gone before the key exchange; garbage instead of a packet
        with tcp(server, "127.0.0.11") as sock:
            sock.recv(100)
        with tcp(server, "127.0.0.12") as sock:
            sock.recv(100)
            sock.sendall(b"SSH-2.0-garbage\r\n" + b"\xff" * 4000)
            with pytest.raises(OSError):
                while sock.recv(4096):
                    pass
                raise ConnectionResetError
        # a session cut before its INIT, and an SFTP packet of garbage
        client = logged_in(server, demo_credentials, "127.0.0.13")
        channel = client.open_session()
        channel.invoke_subsystem("sftp")
        client.close()
        client = logged_in(server, demo_credentials, "127.0.0.14")
        channel = client.open_session()
        channel.invoke_subsystem("sftp")
        channel.sendall(sftp_packet(1, 3) + b"\xff\xff\xff\xff" + b"\0" * 100)
        assert wait_for(
            lambda: channel.exit_status_ready() or channel.closed or channel.eof_received, timeout=5
        )
        client.close()
        time.sleep(0.5)
        for record in caplog.records:
            text = record.getMessage()
            assert "\n" not in text and "Traceback" not in text, text
            assert not text.startswith(("  File", "    ")), text
            assert record.exc_info is None, text
        for address in ("127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"):
            lines = [
                r
                for r in caplog.records
                if r.name.startswith("expedito")
                and address in r.getMessage()
                and "Connected" not in r.getMessage()
                and "Auth granted" not in r.getMessage()
            ]
            assert len(lines) == 1, (address, [r.getMessage() for r in lines])
    finally:
        server.service.stop()


def test_a_request_that_fails_inside_the_server_is_answered_and_logged_once(
    demo: SqliteDatabase,
    tmp_path: Path,
    demo_credentials: DemoCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database breaks under an open session (here its channel table disappears): every
    request is still answered — a failure, since the account cannot be checked — and the log
    says it once, instead of a traceback formatted for each request."""
    server = provisioned(tmp_path, demo_credentials, ServerLimits())
    table = Channel._meta.table_name
    try:
        client = logged_in(server, demo_credentials)
        sftp = sftp_client(client)
        assert "IN" in sftp.listdir("/")
        other = sqlite3.connect(demo.database)
        other.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
        other.commit()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sync.sftp_server"):
            started = time.monotonic()
            for _ in range(100):
                with pytest.raises(OSError):
                    sftp.listdir("/")
            spent = time.monotonic() - started
        failed = [r for r in caplog.records if "SFTP request" in r.getMessage()]
        assert len(failed) == 1, [r.getMessage() for r in caplog.records]
        assert spent < 20  # answered each time, not stalled on the failure
        other.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
        other.commit()
        other.close()
        assert "IN" in sftp.listdir("/")  # the session lives on once the database is back
        client.close()
    finally:
        server.service.stop()
