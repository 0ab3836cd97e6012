"""A full disk under the homes or under the database: the set is retried, not answered
wrongly nor left unanswered, and answered once there is room (no restart). (The spool's
full disk is in ``test_intake_faults``.)"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import batches
from store.db import close_database, open_database
from store.demo import seed_demo
from store.democreds import DemoCredentials
from sync.intake.acrf import parse_acrf
from tests.support.disk import fill
from tests.support.intake import Partner, new_partner


def answered_once(partner: Partner, filler: Path, caplog: pytest.LogCaptureFixture) -> None:
    """With the disk full: the GO waits, retried; with room again: one ACRF, accepted."""
    caplog.set_level(logging.INFO, logger="expedito.intake")
    go = partner.write().go
    fill(filler.parent)
    intake = partner.intake
    with intake:
        intake.on_upload(partner.account, go)
        deadline = time.monotonic() + 10
        while "attempt 2" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert intake.retrying == 1 and go.exists()
        assert [n for n in partner.files("OUTTEST") if not n.startswith(".")] == []
        filler.unlink()
        assert intake.wait_idle(20)
    (name,) = partner.files("OUTTEST")
    assert parse_acrf((partner.home / "OUTTEST" / name).read_bytes()).accepted
    assert not go.exists()
    (batch,) = batches.sender_batch_sets(partner.account.sender_id)
    assert batch.status == "accepted"
    assert "not answered yet" in caplog.text


def test_full_homes_disk(
    demo: SqliteDatabase,
    demo_credentials: DemoCredentials,
    tmpfs: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    partner = new_partner(demo_credentials, tmpfs / "homes")  # the spool on the same disk
    answered_once(partner, tmpfs / "filler", caplog)


def test_full_database_disk(
    tmpfs: Path, demo_credentials: DemoCredentials, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    open_database(tmpfs / "expedito.sqlite3")
    try:
        seed_demo()
        answered_once(new_partner(demo_credentials, tmp_path / "homes"), tmpfs / "filler", caplog)
    finally:
        close_database()  # before the disk goes
