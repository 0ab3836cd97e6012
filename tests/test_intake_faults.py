"""The intake under faults, in one process: whatever a partner's FS holds, whatever fails
while checking, a database locked by another writer, a full disk, claims held by others."""

from __future__ import annotations

import base64
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import batches, claims
from store.db import close_database, execute, is_postgresql, open_database
from sync.intake import service
from sync.intake.acrf import parse_acrf
from sync.intake.checks import INTERNAL_ERROR, SIGNATURE_INVALID
from sync.intake.service import Intake
from tests.support.database import database_argument, end_connections
from tests.support.disk import fill
from tests.support.intake import NOW, Partner
from tests.support.postgres import PostgresServer
from tests.support.repo import ROOT

pytestmark = pytest.mark.both_backends


def answer(partner: Partner) -> tuple[str, ...]:
    """The error identifiers of the one ACRF in OUTTEST (after checking it is the only one)."""
    (name,) = partner.files("OUTTEST")
    ack = parse_acrf((partner.home / "OUTTEST" / name).read_bytes())
    return ack.errors


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _rewrite_fs(partner: Partner, change: object) -> Path:
    """A valid set whose FS is then replaced by ``change(der) -> der`` (base64 again)."""
    prepared = partner.write()
    fs = prepared.signatures[0]
    raw = base64.b64decode(b"".join(fs.read_bytes().split()))
    assert callable(change)
    fs.write_bytes(base64.b64encode(change(raw)))
    return prepared.go


# -- never stranded: every FS is an answer -------------------------------------------------


def test_an_fs_of_deeply_nested_octet_strings_is_answered_125(partner: Partner) -> None:
    def nested(_: bytes) -> bytes:
        element = b"\x04\x01a"
        for _level in range(400):
            element = _tlv(0x24, element)  # a constructed OCTET STRING around the last
        return element

    go = _rewrite_fs(partner, nested)
    assert len(go.with_name(go.name.replace("GO.", "FS.") + ".1").read_bytes()) < 3000
    result = partner.intake.process_go(partner.account, go)
    assert result is not None and result.error_codes == (SIGNATURE_INVALID,)
    assert answer(partner) == (SIGNATURE_INVALID,)


@pytest.mark.parametrize("damage", ["unknown key algorithm", "unknown version"])
def test_an_fs_embedding_an_unreadable_certificate_is_answered_125(
    partner: Partner, damage: str
) -> None:
    def spoil(raw: bytes) -> bytes:
        if damage == "unknown version":
            return raw.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x07", 1)
        for oid in (
            b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01",  # rsaEncryption
            b"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01",
        ):  # id-ecPublicKey
            if oid in raw:
                return raw.replace(oid, oid[:-1] + b"\x63", 1)  # the certificate's key
        raise AssertionError("no key algorithm found")

    go = _rewrite_fs(partner, spoil)
    result = partner.intake.process_go(partner.account, go)
    assert result is not None and result.error_codes == (SIGNATURE_INVALID,)
    assert partner.files("INTEST") == []


def test_an_unexpected_error_while_checking_is_answered_with_the_internal_error(
    partner: Partner, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "check_members", broken)
    go = partner.write().go
    result = partner.intake.process_go(partner.account, go)
    assert result is not None and result.error_codes == (INTERNAL_ERROR,)
    assert answer(partner) == (INTERNAL_ERROR,)
    assert partner.files("INTEST") == []
    assert INTERNAL_ERROR in caplog.text and go.name in caplog.text


# -- temporary failures: retried without a restart -----------------------------------------

HOLD_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""
# PostgreSQL: another process holds the lock IMMEDIATE transactions take (store.postgres)
HOLD_LOCK_POSTGRESQL = """
import sys, psycopg
from store.postgres import WRITE_LOCK
connection = psycopg.connect(sys.argv[1], autocommit=True)
connection.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
print("locked", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def short_busy_timeout(partner: Partner) -> Iterator[str]:
    """The database re-opened with a 0.2 s busy timeout (the default is 10 s)."""
    target = database_argument()
    close_database()
    open_database(target, busy_timeout=0.2)
    yield target


def test_a_go_arriving_while_another_writer_holds_the_database_is_answered_after(
    partner: Partner, short_busy_timeout: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="expedito.intake")
    postgresql = is_postgresql()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_LOCK_POSTGRESQL if postgresql else HOLD_LOCK,
            short_busy_timeout,
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        go = partner.write().go
        with partner.intake as intake:
            intake.on_upload(partner.account, go)
            deadline = time.monotonic() + 10
            while "attempt 3" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
            assert go.exists() and partner.files("OUTTEST") == []  # the GO waits in place
            assert intake.retrying == 1
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.wait(10) == 0
            assert intake.wait_idle(15)
        assert not go.exists()
        assert answer(partner) == ()
        retries = [r for r in caplog.records if "not answered yet" in r.getMessage()]
        assert 2 <= len(retries) <= 4  # one line per attempt: 1 s, 2 s, 4 s …
        locked = "lock timeout" if postgresql else "database is locked"
        assert all(locked in r.getMessage() for r in retries)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.postgresql_only("a connection lost to the server: SQLite has none")
def test_sets_after_the_database_connections_were_lost_are_answered_at_once(
    partner: Partner, postgresql_server: PostgresServer
) -> None:
    """The server ended every connection (a restart, a fail-over): each intake thread and
    the test's own connect anew before their next statement; nothing is retried, each set
    is answered once."""
    with partner.intake as intake:
        first = partner.write().go
        intake.on_upload(partner.account, first)
        assert intake.wait_idle(15)
        assert end_connections(postgresql_server, database_argument()) >= 1
        second = partner.write().go
        intake.on_upload(partner.account, second)
        assert intake.wait_idle(15)
        assert intake.retrying == 0
    assert len(partner.files("OUTTEST")) == 2
    assert partner.files("INTEST") == []
    assert [b.status for b in batches.sender_batch_sets(partner.account.sender_id)] == [
        "accepted",
        "accepted",
    ]


def test_a_full_spool_is_retried_and_the_set_answered_once_there_is_room(
    partner: Partner, tmpfs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    intake = Intake(partner.home.parent, tmpfs, now=lambda: NOW, rescan=None)
    go = partner.write(parts=(b"x" * 100_000,)).go
    filler = fill(tmpfs)
    with intake:
        intake.on_upload(partner.account, go)
        deadline = time.monotonic() + 10
        while intake.retrying == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert intake.retrying == 1 and go.exists() and partner.files("OUTTEST") == []
        assert "No space left on device" in caplog.text
        filler.unlink()
        assert intake.wait_idle(15)
    assert answer(partner) == ()
    assert partner.files("INTEST") == []
    (batch,) = batches.sender_batch_sets(partner.account.sender_id)
    assert batch.status == "accepted"


# -- claims: one answer whoever else runs --------------------------------------------------


def test_a_set_claimed_by_a_live_intake_is_left_to_it_until_its_lease_runs_out(
    partner: Partner,
) -> None:
    go = partner.write().go
    other = Intake(partner.home.parent, now=lambda: NOW, rescan=None, lease=0.3)
    key = f"{partner.account.technical_user}/INTEST/{go.name[2:]}"
    assert claims.claim(key, other.owner, 0.3)
    assert partner.intake.process_go(partner.account, go) is None
    assert go.exists() and partner.files("OUTTEST") == []
    time.sleep(0.4)
    result = partner.intake.process_go(partner.account, go)
    assert result is not None and result.accepted
    assert len(partner.files("OUTTEST")) == 1


def test_a_claim_whose_process_died_is_taken_over_at_once(partner: Partner) -> None:
    go = partner.write().go
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = f"{socket.gethostname()}:{dead.pid}:deadbeef"
    key = f"{partner.account.technical_user}/INTEST/{go.name[2:]}"
    assert claims.claim(key, owner, 3600)
    result = partner.intake.process_go(partner.account, go)
    assert result is not None and result.accepted


def test_a_decision_is_not_recorded_once_the_claim_was_taken_over(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim ran out while this intake checked the set and another took it: this one
    records nothing, moves nothing."""
    go = partner.write().go
    check = service.Intake._check

    def slow_check(self: Intake, *args: object) -> object:
        key = f"{partner.account.technical_user}/INTEST/{go.name[2:]}"
        with claims.db.atomic():
            execute("UPDATE intake_claim SET owner = 'elsewhere:1:x' WHERE key = ?", (key,))
        return check(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(service.Intake, "_check", slow_check)
    assert partner.intake.process_go(partner.account, go) is None
    assert batches.sender_batch_sets(partner.account.sender_id) == []
    assert go.exists() and partner.files("OUTTEST") == []


def test_temporaries_of_a_killed_acrf_write_are_cleaned(partner: Partner) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    staging = partner.intake.staging
    staging.mkdir(parents=True)
    left = staging / f"FO.ACRF.999999.20260115.00001.T.{host}.{dead.pid}.tmp"
    mine = staging / f"FO.ACRF.999999.20260115.00002.T.{host}.{os.getpid()}.tmp"
    in_out = partner.home / "OUTTEST" / f".FO.ACRF.999999.20260115.00003.T.{host}.{dead.pid}.tmp"
    old = partner.home / "OUTTEST" / ".FO.ACRF.999999.20260115.00004.T.elsewhere.7.tmp"
    for path in (left, mine, in_out, old):
        path.write_bytes(b"<ACRF")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    partner.intake.scan_all()
    assert not left.exists() and not in_out.exists() and not old.exists()
    assert mine.exists()  # a write of this process may be under way
