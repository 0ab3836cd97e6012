"""The SFTP server's fast paths keep the slow paths' meaning: the compiled liveness check
and account lookup, on the thread's connection and on the process's shared one, agree with
``account_is_live`` in every revocation case (the shared connection sees each change at once,
and reconnects after an error or a new database), and the chunk pipe behaves as paramiko's
``BufferedPipe`` (partial reads, timeouts, close, event)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout
from paramiko.packet import Packetizer
from paramiko.ssh_exception import SSHException
from peewee import SqliteDatabase

from store.accounts import (
    THREAD,
    account_is_live,
    find_account,
    is_live,
    live_channels,
    liveness_statement,
)
from store.db import db, open_database, shared_reader
from store.democreds import DemoCredentials
from store.models import ACTIVE, DELETED, PENDING, SFTP, Channel, Sender
from sync.quota import InQuota
from sync.ssh_pipe import ChunkPipe
from tests.support.registration import register_demo_sender
from tests.support.sftp import provision


def test_liveness_statement_and_the_sweep_agree_with_account_is_live(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    provision(tmp_path / "homes")
    channel = Channel.get((Channel.kind == SFTP) & (Channel.status == ACTIVE))
    sender = Sender.get_by_id(channel.sender_id)
    key = channel.provisioned_key
    assert key is not None
    user = sender.technical_user

    def live(channel_id: int = channel.id) -> bool:
        sql, params = liveness_statement(channel_id)
        fast = db.execute_sql(sql, params).fetchone() is not None
        assert fast == account_is_live(channel_id)
        assert is_live(channel_id) == is_live(channel_id, shared_reader) == fast
        swept = live_channels([channel_id, channel_id + 5000])  # the servers' sweep
        assert swept == ({channel_id} if fast else set())
        if channel_id == channel.id:  # the login's lookup agrees, on either connection
            found = find_account(user, key, shared_reader)
            assert found == find_account(user, key, THREAD)
            assert (found is not None) == fast
            assert found is None or found.channel_id == channel.id
        return fast

    assert live()
    assert not live(channel.id + 1000)
    for status in (DELETED, PENDING):
        Channel.update(status=status).where(Channel.id == channel.id).execute()
        assert not live()
        Channel.update(status=ACTIVE).where(Channel.id == channel.id).execute()
        assert live()
    Channel.update(provisioned_key=None).where(Channel.id == channel.id).execute()
    assert not live()
    Channel.update(provisioned_key=key).where(Channel.id == channel.id).execute()
    assert live()
    Sender.update(active=False).where(Sender.id == sender.id).execute()
    assert not live()
    assert find_account(user.lower(), key, shared_reader) is None  # case matters
    assert find_account(user, "ssh-ed25519", shared_reader) is None  # no key at all


def test_shared_reader_reconnects_after_an_error_and_for_another_database(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    provision(tmp_path / "homes")
    channel = Channel.get((Channel.kind == SFTP) & (Channel.status == ACTIVE))
    assert is_live(channel.id, shared_reader)
    shared_reader._conn.close()  # broken under it (a PostgreSQL server restarted)
    assert is_live(channel.id, shared_reader)
    with pytest.raises(Exception, match="syntax"):  # a failing statement fails (twice)
        shared_reader.fetchall("SELEC 1")
    assert is_live(channel.id, shared_reader)
    open_database(tmp_path / "other.sqlite3")  # the store bound to another database
    assert not is_live(channel.id, shared_reader)
    assert shared_reader.fetchall("SELECT count(*) FROM channel") == [(0,)]


def test_chunk_pipe_reads_across_and_within_chunks() -> None:
    pipe = ChunkPipe(limit=2000)
    for piece in (b"abcd", b"efgh", b"ij"):
        pipe.feed(piece)
    assert len(pipe) == 10
    assert pipe.read(2) == b"ab"
    assert pipe.read(5) == b"cdefg"
    assert pipe.read(100) == b"hij"
    assert len(pipe) == 0 and not pipe.read_ready()
    whole = b"x" * 1000
    pipe.feed(whole)
    assert pipe.read(1000) is whole  # a whole chunk is handed over, not copied
    pipe.feed("text")
    assert pipe.empty() == b"text"


def test_chunk_pipe_refuses_more_than_its_window() -> None:
    """paramiko does not check a channel's data against the window it granted; the pipe does
    (a client that ignores the window ends its connection, nothing more is held)."""
    pipe = ChunkPipe(limit=10)
    pipe.feed(b"x" * 6)
    with pytest.raises(SSHException):
        pipe.feed(b"y" * 5)
    assert len(pipe) == 6
    assert pipe.read(4) == b"xxxx"
    pipe.feed(b"y" * 8)  # room again once read
    assert len(pipe) == 10


def test_chunk_pipe_blocks_times_out_and_closes() -> None:
    pipe = ChunkPipe(limit=100)
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.0)
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.05)
    threading.Timer(0.05, pipe.feed, args=(b"late",)).start()
    started = time.monotonic()
    assert pipe.read(10) == b"late"
    assert time.monotonic() - started < 5
    pipe.feed(b"rest")
    pipe.close()
    assert pipe.read_ready()
    assert pipe.read(10) == b"rest"  # what was fed before the close is still read
    assert pipe.read(10) == b""


def test_chunk_pipe_takes_over_a_buffered_pipe_and_its_event() -> None:
    old: BufferedPipe[bytes] = BufferedPipe()
    event = threading.Event()
    old.set_event(event)
    old.feed(b"already here")
    pipe = ChunkPipe.replacing(old, limit=100)
    assert event.is_set()
    assert pipe.read(7) == b"already"
    assert pipe.read(100) == b" here"
    assert not event.is_set()
    pipe.feed(b"more")
    assert event.is_set()
    pipe.close()
    pipe.read(100)
    assert event.is_set()  # closed: readers must wake up


def test_chunk_pipe_gathers_before_it_wakes_its_reader() -> None:
    """The SFTP thread waits for ``at_least`` bytes (a 255 KB WRITE comes as 8 packets): it
    is not woken for each packet, and gets what is there once the pipe closes."""
    pipe = ChunkPipe(limit=1000)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.gather(300, at_least=250)))
    reader.start()
    for _ in range(4):
        pipe.feed(memoryview(b"x" * 50))  # a view of a decrypted packet, kept as it is
        time.sleep(0.02)
        assert not got  # 200 bytes: still waiting
    pipe.feed(b"y" * 60)
    reader.join(timeout=5)
    assert got == [b"x" * 200 + b"y" * 60]
    with pytest.raises(PipeTimeout):
        pipe.gather(10, at_least=10, timeout=0.05)
    pipe.feed(b"end")
    pipe.close()
    assert pipe.gather(10, at_least=10) == b"end"
    assert pipe.gather(10, at_least=10) == b""


def test_the_in_quota_keeps_its_count_a_second_and_measures_again_before_refusing(
    tmp_path: Path,
) -> None:
    now = [0.0]
    quota = InQuota(limit=100, clock=lambda: now[0])
    home = tmp_path / "home"
    (home / "IN").mkdir(parents=True)
    (home / "IN" / "a").write_bytes(b"a" * 60)
    assert quota.measure("U", home) == 60
    assert quota.take("U", 30)
    (home / "IN" / "a").unlink()  # the intake took the set away
    (home / "IN" / "b").write_bytes(b"b" * 30)  # the upload counted above
    assert quota.measure("U", home) == 90  # measured less than a second ago: kept
    assert quota.take("U", 50)  # would pass on the kept count: measured (30) first
    assert quota.used("U") == 80
    (home / "IN" / "b").write_bytes(b"b" * 80)  # what the write took is on disk
    assert not quota.take("U", 30)  # past it on a fresh measure too
    now[0] = 1.5
    (home / "IN" / "b").unlink()
    assert quota.measure("U", home) == 0  # a second later: measured


def test_handshake_times_out_without_a_timer_thread() -> None:
    """The initial handshake's deadline (paramiko's ``threading.Timer``, a thread per
    connection) is checked by the reads: a peer that stalls is dropped after it, no thread
    started; once the handshake completed, a read waits on."""

    from sync.ssh_packets import FastPacketizer

    ours, theirs = socket.socketpair()
    try:
        ours.settimeout(0.05)  # paramiko's transports wake every 0.1 s
        packetizer: Any = Packetizer(ours)
        packetizer.__class__ = FastPacketizer
        threads = threading.active_count()
        packetizer.start_handshake(0.3)
        assert threading.active_count() == threads
        assert not packetizer.handshake_timed_out()
        started = time.monotonic()
        with pytest.raises(EOFError):
            packetizer.read_all(4)
        assert 0.25 <= time.monotonic() - started < 5
        assert packetizer.handshake_timed_out()

        packetizer = Packetizer(ours)
        packetizer.__class__ = FastPacketizer
        packetizer.start_handshake(0.1)
        packetizer.complete_handshake()
        packetizer.start_handshake(0.1)  # a rekey's: no new deadline
        time.sleep(0.2)
        assert not packetizer.handshake_timed_out()
        theirs.sendall(b"abcd")
        assert packetizer.read_all(4) == b"abcd"
    finally:
        ours.close()
        theirs.close()
