"""The provisioning cycle: accounts, re-keying, the lease, races and crashes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import senders
from store.accounts import find_account
from store.cycles import DONE, RUNNING, work_to_do
from store.db import db, is_postgresql
from store.democreds import DemoCredentials
from store.dto import ChannelInput
from store.models import ACTIVE, PENDING, Channel, SyncCycle
from sync.cycle import CycleResult, acquire_lease, run_cycle, slot_done
from sync.homes import home_of
from sync.schedule import slot_key, to_local
from tests.support.bulk import seed_pending_channels
from tests.support.clock import BXL
from tests.support.credentials import new_ssh_key
from tests.support.database import database_argument
from tests.support.registration import (
    DEMO_USER,
    person_id,
    qualite_id,
    register_demo_sender,
    sftp_input,
)
from tests.support.repo import ROOT

SLOT = datetime(2026, 11, 28, 14, 30, tzinfo=BXL)

pytestmark = pytest.mark.both_backends


def at(slot: datetime, seconds: float = 1) -> datetime:
    return slot + timedelta(seconds=seconds)


def run(homes: Path, slot: datetime = SLOT, owner: str = "test") -> CycleResult:
    """The cycle of ``slot``, a second after it began."""
    return run_cycle(slot, homes, lambda: at(slot), owner=owner)


def last_cycle() -> tuple[datetime, str] | None:
    """The latest finished cycle's slot (aware, local) and status, or None."""
    row = SyncCycle.select().where(SyncCycle.status == DONE).order_by(SyncCycle.slot.desc()).first()
    return (to_local(row.slot.replace(tzinfo=UTC)), row.status) if row is not None else None


def key_of(creds: DemoCredentials) -> str:
    return creds.ssh_public_key.read_text().strip()


def assert_no_homes(homes: Path) -> None:
    """The cycle is a database operation: homes are made at login (or by the OpenSSH front)."""
    assert homes.is_dir() and list(homes.iterdir()) == []


def test_pending_sftp_channel_becomes_an_account(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    assert find_account(DEMO_USER, key_of(demo_credentials)) is None
    assert [work.status for work in work_to_do()] == [PENDING]
    result = run(tmp_path / "homes")
    assert (result.status, result.provisioned, result.rekeyed) == (DONE, 1, 0)
    channel = Channel.get()
    assert channel.status == ACTIVE and channel.provisioned_key == channel.ssh_key
    assert channel.provisioned_at is not None and channel.activated_at is not None
    assert_no_homes(tmp_path / "homes")
    assert not home_of(tmp_path / "homes", DEMO_USER).exists()
    account = find_account(DEMO_USER, key_of(demo_credentials))
    assert account is not None and account.technical_user == DEMO_USER
    row = SyncCycle.get()
    assert (row.slot, row.status, row.owner, row.provisioned) == (slot_key(SLOT), DONE, "test", 1)
    assert json.loads(row.details)["provisioned"] == 1
    assert last_cycle() == (SLOT, DONE)
    assert slot_done(SLOT) and work_to_do() == []


def test_a_slot_runs_once_and_a_rerun_changes_nothing(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    assert run(tmp_path).status == DONE
    provisioned_at = Channel.get().provisioned_at
    again = run(tmp_path, owner="someone-else")
    assert again.status == "already" and not again.ran
    assert SyncCycle.select().count() == 1
    later = run(tmp_path, slot=SLOT + timedelta(minutes=30))
    assert (later.status, later.provisioned) == (DONE, 0)
    assert Channel.get().provisioned_at == provisioned_at
    assert SyncCycle.select().count() == 2


def change_pending() -> tuple[bool, int]:
    """The overview's "change waits for the cycle" and the channels the cycle would re-key."""
    overview = senders.overview(person_id("dieter"), qualite_id())
    assert overview is not None
    return (
        overview.channels[0].change_pending,
        Channel.select().where(Channel.key_change_pending).count(),
    )


def test_a_changed_key_is_provisioned_at_the_next_cycle(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    run(tmp_path)
    _, new_key = new_ssh_key(tmp_path)
    senders.update_channel(
        person_id("dieter"), qualite_id(), sftp_input(demo_credentials, ssh_key=new_key)
    )
    # until the cycle the old key works and the new one does not
    assert find_account(DEMO_USER, key_of(demo_credentials)) is not None
    assert find_account(DEMO_USER, new_key) is None
    assert change_pending() == (True, 1)  # the rule on the row and in SQL agree
    result = run(tmp_path, slot=SLOT + timedelta(minutes=30))
    assert (result.provisioned, result.rekeyed) == (0, 1)
    assert change_pending() == (False, 0)
    assert find_account(DEMO_USER, key_of(demo_credentials)) is None
    assert find_account(DEMO_USER, new_key) is not None


def test_other_pending_channels_become_active(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    senders.add_channel(
        person_id("dieter"),
        qualite_id(),
        ChannelInput(
            kind="FTP",
            applications=("dmfa",),
            preferred=(("dmfa", "SFTP"),),
            certificate=demo_credentials.certificate_der.read_bytes(),
        ),
    )
    result = run(tmp_path / "homes")
    assert (result.provisioned, result.other) == (1, 1)
    assert {c.kind: c.status for c in Channel.select()} == {"SFTP": ACTIVE, "FTP": ACTIVE}
    assert_no_homes(tmp_path / "homes")


def test_a_deleted_sender_is_not_provisioned(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    senders.delete_sender(person_id("dieter"), qualite_id())
    assert run(tmp_path).provisioned == 0
    assert find_account(DEMO_USER, key_of(demo_credentials)) is None


def test_the_cycle_writes_no_indexed_column(database: SqliteDatabase) -> None:
    """No index of ``channel`` reads what the cycle writes (neither as a column nor in its
    WHERE): SQLite then leaves the indexes alone, and PostgreSQL updates the rows in place (HOT,
    with the room its fillfactor keeps), as ``bench/sync_cycle.py`` measures."""
    if is_postgresql():
        rows = db.execute_sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'channel'")
        options = db.execute_sql("SELECT reloptions FROM pg_class WHERE relname = 'channel'")
        assert "fillfactor=40" in options.fetchone()[0]
    else:
        rows = db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'channel'"
        )
    definitions = [str(row[0]) for row in rows.fetchall()]
    assert any("channel_one_live_per_kind" in text for text in definitions)
    written = re.compile(r"\b(status|provisioned_key|provisioned_at|activated_at)\b")
    assert [text for text in definitions if written.search(text)] == []


def test_the_lease(database: SqliteDatabase) -> None:
    now = at(SLOT)
    assert acquire_lease(SLOT, "a", now)[0] == RUNNING
    status, took_over, until = acquire_lease(SLOT, "b", now + timedelta(seconds=30))
    assert (status, took_over) == ("busy", False) and until is not None
    # a's lease (60 s) expired: b takes the slot over
    status, took_over, _ = acquire_lease(SLOT, "b", now + timedelta(seconds=61))
    assert (status, took_over) == (RUNNING, True)
    assert SyncCycle.get().owner == "b"
    assert json.loads(SyncCycle.get().details) == {"taken_over_from": "a"}


def test_an_overtaken_owner_stops(
    database: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    seed_pending_channels(10, key_of(demo_credentials))
    acquire_lease(SLOT, "a", at(SLOT))
    # "b" took over after a's lease expired; a's next renewal finds it out
    SyncCycle.update(owner="b").execute()
    from sync.cycle import provision

    with pytest.raises(Exception, match="lease"):
        provision(SLOT, "a", lambda: at(SLOT), chunk=5)
    assert Channel.select().where(Channel.status == ACTIVE).count() == 0


def _child(
    db: Path | str,
    homes: Path,
    now: datetime,
    go: Path | None = None,
    kill_after: int | None = None,
) -> subprocess.Popen[str]:
    """A cycle in another process, in chunks of 50; ``kill_after``: it dies (SIGKILL) once
    that many channels are handled, before that chunk commits."""
    crash = [str(kill_after)] if kill_after is not None else []
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sync_child",
            str(db),
            str(homes),
            SLOT.isoformat(),
            now.isoformat(),
            str(go or ""),
            "50",
            *crash,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_processes_racing_for_a_slot_run_it_once(
    database: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    seed_pending_channels(300, key_of(demo_credentials))
    go = tmp_path / "go"
    homes = tmp_path / "homes"
    children = [_child(database_argument(), homes, at(SLOT), go) for _ in range(2)]
    go.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(r["status"] for r in results) in (["already", "done"], ["busy", "done"])
    assert sum(r["provisioned"] for r in results) == 300
    assert SyncCycle.select().count() == 1 and SyncCycle.get().status == DONE
    assert Channel.select().where(Channel.status == ACTIVE).count() == 300
    assert_no_homes(homes)


@pytest.mark.slow
def test_a_cycle_killed_half_way_is_finished_by_the_next_run(
    database: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    seed_pending_channels(250, key_of(demo_credentials))
    homes = tmp_path / "homes"
    child = _child(database_argument(), homes, at(SLOT), kill_after=120)
    child.communicate(timeout=60)
    assert child.returncode == -9
    # killed in the third chunk of 50, before its commit: two chunks committed
    assert Channel.select().where(Channel.status == ACTIVE).count() == 100
    assert SyncCycle.get().status == RUNNING
    # the same slot, once the dead owner's lease has expired
    result = run(homes, owner="rescuer")
    assert result.status == "busy"  # the lease is still live one second later
    rerun = run_cycle(SLOT, homes, lambda: at(SLOT, 120), owner="rescuer", chunk=50)
    assert (rerun.status, rerun.took_over, rerun.provisioned) == (DONE, True, 150)
    assert Channel.select().where(Channel.status == ACTIVE).count() == 250
    assert Channel.select().where(Channel.provisioned_key != Channel.ssh_key).count() == 0
    assert_no_homes(homes)
    assert SyncCycle.select().count() == 1
    row = SyncCycle.get()
    assert (row.status, row.owner) == (DONE, "rescuer")
    assert json.loads(row.details)["taken_over_from"] != "rescuer"
    assert run(homes, slot=SLOT + timedelta(minutes=30)).provisioned == 0
