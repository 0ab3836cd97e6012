"""A full disk under the homes or under the database: the set is retried, not answered
wrongly nor left unanswered, and answered once there is room (no restart). (The spool's
full disk is in ``test_intake_faults``.)"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import batches
from store.db import close_database, open_database
from store.demo import seed_demo
from store.democreds import DemoCredentials
from sync.intake.acrf import parse_acrf
from sync.intake.service import Intake
from tests.support.credentials import signing_pair
from tests.support.intake import NOW, Partner, make_home
from tests.support.registration import provisioned_account


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        close_database()
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True, check=False
    )
    return filler


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
    account = provisioned_account(demo_credentials)
    homes = tmpfs / "homes"
    home = make_home(homes)
    cert, key = signing_pair(demo_credentials)
    intake = Intake(homes, now=lambda: NOW, rescan=None)  # the spool on the same disk
    answered_once(Partner(account, home, intake, cert, key), tmpfs / "filler", caplog)


def test_full_database_disk(
    tmpfs: Path, demo_credentials: DemoCredentials, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    open_database(tmpfs / "expedito.sqlite3")
    seed_demo()
    account = provisioned_account(demo_credentials)
    homes = tmp_path / "homes"
    home = make_home(homes)
    cert, key = signing_pair(demo_credentials)
    intake = Intake(homes, now=lambda: NOW, rescan=None)
    answered_once(Partner(account, home, intake, cert, key), tmpfs / "filler", caplog)
