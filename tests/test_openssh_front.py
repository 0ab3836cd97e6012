"""The OpenSSH front's system side without sshd: the accounts files, the chroot layout, ending a
revoked user's processes, and the intake following the folders (real files, real inotify)."""

from __future__ import annotations

import errno
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import senders
from store.accounts import live_users
from store.batchnames import HOME_FOLDERS, IN_FOLDERS
from store.clock import local_now
from store.democreds import DemoCredentials
from store.models import Channel
from sync.intake.prepare import write_set
from sync.intake.service import Intake
from sync.openssh.accounts import ExtraUsers, end_sessions, lay_out, nss_reads_extrausers
from sync.openssh.front import OpenSSHFront
from sync.openssh.names import GROUP, UID_BASE, uid_of
from tests.support import openssh
from tests.support.credentials import signing_pair
from tests.support.database import database_path
from tests.support.registration import DEMO_USER, person_id, provisioned_account, qualite_id
from tests.support.repo import ROOT
from tui.keys_cli import keys_lines

FOREIGN_PASSWD = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n"


def wait_for(condition: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_extrausers_files_keep_foreign_lines_and_change_atomically(tmp_path: Path) -> None:
    files = ExtraUsers(tmp_path)
    (tmp_path / "passwd").write_text(FOREIGN_PASSWD)
    (tmp_path / "group").write_text("alice:x:1000:\n")
    added, removed = files.apply({"partner01": UID_BASE + 1, "partner02": UID_BASE + 2})
    assert (added, removed) == (["partner01", "partner02"], [])
    passwd = (tmp_path / "passwd").read_text()
    assert passwd.startswith(FOREIGN_PASSWD)
    assert (
        f"partner01:x:{UID_BASE + 1}:{UID_BASE + 1}:Expedito partner01:/:/usr/sbin/nologin\n"
        in (passwd)
    )
    group = (tmp_path / "group").read_text().splitlines()
    assert group[0] == "alice:x:1000:"
    assert f"{GROUP}:x:{UID_BASE}:partner01,partner02" in group
    assert f"partner02:x:{UID_BASE + 2}:" in group
    shadow = tmp_path / "shadow"
    # no password, not locked ("!"), no ageing (a last change of 0 would force a change)
    assert "partner01:*:::::::\n" in shadow.read_text()
    assert stat.S_IMODE(shadow.stat().st_mode) == 0o640
    assert files.managed() == {"partner01": UID_BASE + 1, "partner02": UID_BASE + 2}
    before = (tmp_path / "passwd").stat().st_mtime_ns
    time.sleep(0.01)
    assert files.apply({"partner01": UID_BASE + 1, "partner02": UID_BASE + 2}) == ([], [])
    assert (tmp_path / "passwd").stat().st_mtime_ns == before  # unchanged: not rewritten
    assert files.apply({"partner02": UID_BASE + 2}) == ([], ["partner01"])
    assert "partner01" not in (tmp_path / "passwd").read_text()
    assert "partner01" not in shadow.read_text()
    assert f"{GROUP}:x:{UID_BASE}:partner02" in (tmp_path / "group").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["group", "passwd", "shadow"]
    # a name the machine has for another uid is not made
    assert files.apply({"root": UID_BASE + 3, "partner02": UID_BASE + 2}) == ([], [])
    names = [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()]
    assert names == ["root", "alice", "partner02"]


def test_the_home_is_laid_out_for_a_chroot(tmp_path: Path) -> None:
    homes = tmp_path / "homes"
    homes.mkdir(mode=0o777)
    os.chmod(homes, 0o777)
    uid = UID_BASE + 7
    lay_out(homes, "partner07", uid)
    info = homes.stat()
    assert info.st_uid == 0 and not info.st_mode & 0o022  # sshd's rule for the chroot's parents
    home = homes / "partner07"
    assert (home.stat().st_uid, home.stat().st_gid, stat.S_IMODE(home.stat().st_mode)) == (
        0,
        uid,
        0o750,
    )
    for folder in HOME_FOLDERS:
        found = (home / folder).stat()
        assert (found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)) == (0, uid, 0o770)
    lay_out(homes, "partner07", uid)  # idempotent


def test_a_revoked_users_processes_end(tmp_path: Path) -> None:
    uid = UID_BASE + 99
    child = subprocess.Popen(["sleep", "60"], user=uid, group=uid)
    try:
        assert wait_for(lambda: end_sessions(uid) >= 1, 10)
        assert child.wait(timeout=10) < 0
    finally:
        child.kill()
        child.wait(timeout=10)
    assert end_sessions(uid) == 0


def test_processes_end_where_the_kernel_has_no_pidfd(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pidfd(pid: int, flags: int = 0) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")  # Linux before 5.3

    uid = UID_BASE + 98
    child = subprocess.Popen(["sleep", "60"], user=uid, group=uid)
    try:
        monkeypatch.setattr(os, "pidfd_open", no_pidfd)
        assert wait_for(lambda: end_sessions(uid) >= 1, 10)
        assert child.wait(timeout=10) < 0
    finally:
        child.kill()
        child.wait(timeout=10)


@pytest.fixture
def alone() -> Iterator[None]:
    """For a test whose revocation kills every process of the demo sender's uid: not while
    an sshd test of the other worker serves sessions of that same uid (``openssh.exclusive``)."""
    with openssh.exclusive():
        yield


@pytest.fixture
def front(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[tuple[OpenSSHFront, Intake]]:
    intake = Intake(tmp_path / "homes", tmp_path / "spool", rescan=None, settle=2.0)
    keeper = OpenSSHFront(tmp_path / "homes", ExtraUsers(tmp_path / "extrausers"), intake, 0.1)
    assert keeper.key_files.directory == tmp_path / "expedito-keys"  # beside the homes
    intake.start()
    try:
        yield keeper, intake
    finally:
        keeper.stop()
        intake.stop()


def test_the_front_follows_the_database_and_the_folders(
    alone: None,
    front: tuple[OpenSSHFront, Intake],
    demo_credentials: DemoCredentials,
    tmp_path: Path,
) -> None:
    keeper, _ = front
    account = provisioned_account(demo_credentials)
    keeper.start()
    assert keeper.follows
    uid = uid_of(account.sender_id)
    home = tmp_path / "homes" / DEMO_USER
    assert (home / "IN").stat().st_gid == uid
    assert ExtraUsers(tmp_path / "extrausers").managed() == {DEMO_USER: uid}
    # the key file: what 'expedito authorized-keys USER UID' prints, root's, 0644
    key_file = tmp_path / "expedito-keys" / DEMO_USER
    printed = keys_lines(database_path(), DEMO_USER, uid)
    assert printed and printed[0].startswith("restrict ssh-")
    assert key_file.read_text() == "".join(f"{line}\n" for line in printed)
    info = key_file.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o644)
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o755
    # a new key (the channel's key replaced) is written within a poll
    channel = Channel.get(Channel.sender == account.sender_id, Channel.kind == "SFTP")
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBl0R8Ub2m0bq8n5c0TzWf6m2qgq1V0pRSk5i0R8Q1Yx"
    Channel.update(provisioned_key=other).where(Channel.id == channel.id).execute()
    assert wait_for(lambda: key_file.read_text() == f"restrict {other} expedito:{DEMO_USER}\n")
    Channel.update(provisioned_key=channel.provisioned_key).where(
        Channel.id == channel.id
    ).execute()
    assert wait_for(lambda: key_file.read_text() == "".join(f"{x}\n" for x in printed))
    # a set written as internal-sftp leaves it (the final names, closed after writing)
    cert, key = signing_pair(demo_credentials)
    today = f"{local_now():%Y%m%d}"
    written = write_set(
        home / "INTEST", [b"<DmfA/>\n"], purpose="DMFA", sender=account.sender_number,
        date=today, sequence=1, env="T", cert=cert, key=key,
    )  # fmt: skip
    assert wait_for(lambda: any((home / "OUTTEST").glob("FO.ACRF.*")))
    (acrf,) = (home / "OUTTEST").glob("FO.ACRF.*")
    assert "<ResultCode>1</ResultCode>" in acrf.read_text()
    assert not written.go.exists()
    # revocation: the account goes within a poll, and its processes with it
    child = subprocess.Popen(["sleep", "60"], user=uid, group=uid)
    try:
        senders.delete_sender(person_id("dieter"), qualite_id())  # structured messaging
        assert live_users() == {}
        assert wait_for(lambda: ExtraUsers(tmp_path / "extrausers").managed() == {})
        assert not key_file.exists()  # removed before the sessions were ended
        assert child.wait(timeout=10) < 0
    finally:
        child.kill()
        child.wait(timeout=10)


def test_a_login_that_races_its_revocation_is_ended(
    alone: None, demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """A session whose key was read just before the revocation, and whose process of the
    user's uid appears only after the revocation's sweep, is ended at the board's next look
    (the front's steps are called by hand: no thread, no timing)."""
    keeper = OpenSSHFront(tmp_path / "homes", ExtraUsers(tmp_path / "extrausers"), None)
    account = provisioned_account(demo_credentials)
    uid = uid_of(account.sender_id)
    started: list[subprocess.Popen[bytes]] = []

    def session_process() -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(["sleep", "60"], user=uid, group=uid))
        return started[-1]

    try:
        # a uid the front counts as revoked, yet live in the database (made live again since
        # the front's last look): the database is read again, its process left alone
        keeper._revoked = frozenset({uid})
        early = session_process()
        keeper._sessions_ending_strays()
        assert early.poll() is None
        keeper.reconcile()
        assert keeper._revoked == frozenset()
        live = session_process()
        keeper._sessions_ending_strays()
        assert live.poll() is None and early.poll() is None
        # the revocation's sweep ends the sessions there are ...
        senders.remove_channel(person_id("dieter"), qualite_id(), "SFTP")
        keeper.reconcile()
        assert live.wait(timeout=10) < 0 and early.wait(timeout=10) < 0
        assert ExtraUsers(tmp_path / "extrausers").managed() == {}
        # ... and a session process appearing after it (its login raced the revocation) is
        # ended at the board's next look at /proc
        late = session_process()
        assert late.poll() is None
        assert keeper._sessions_ending_strays() == []
        assert late.wait(timeout=10) < 0
        # a process of a uid of the range the front never revoked is not its business
        other = subprocess.Popen(["sleep", "60"], user=uid + 1, group=uid + 1)
        started.append(other)
        keeper._sessions_ending_strays()
        assert other.poll() is None
    finally:
        for process in started:
            process.kill()
            process.wait(timeout=10)


def test_a_key_file_of_a_user_not_live_is_removed_at_start(
    front: tuple[OpenSSHFront, Intake], demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    keeper, _ = front
    keys = tmp_path / "expedito-keys"
    keys.mkdir()
    stray = keys / "intruder"  # left by an earlier run, or by hand
    stray.write_text("restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA expedito:intruder\n")
    (keys / DEMO_USER).write_text("restrict ssh-ed25519 AAAAstale expedito:old\n")
    account = provisioned_account(demo_credentials)
    keeper.start()
    assert sorted(path.name for path in keys.iterdir()) == [DEMO_USER]
    assert (keys / DEMO_USER).read_text() == "".join(
        f"{line}\n" for line in keys_lines(database_path(), DEMO_USER, uid_of(account.sender_id))
    )


def test_a_home_that_cannot_be_made_is_logged_once_and_made_when_it_can(
    front: tuple[OpenSSHFront, Intake],
    demo_credentials: DemoCredentials,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keeper, _ = front
    account = provisioned_account(demo_credentials)  # the cycle made no home
    home = tmp_path / "homes" / DEMO_USER
    assert not home.exists()
    home.parent.mkdir()
    home.write_text("in the way\n")
    with caplog.at_level(logging.INFO, logger="expedito.openssh"):
        keeper.start()  # no crash: the account is made, its logins refused (no chroot)
        for _ in range(3):
            keeper.reconcile()
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and DEMO_USER in errors[0] and "cannot be made" in errors[0]
        assert ExtraUsers(tmp_path / "extrausers").managed() == {
            DEMO_USER: uid_of(account.sender_id)
        }
        home.unlink()
        assert wait_for(lambda: any("is made" in r.getMessage() for r in caplog.records))
    assert (home / "IN").stat().st_gid == uid_of(account.sender_id)
    assert wait_for(lambda: keeper._watched.get(DEMO_USER))  # followed once made


def test_a_scan_leaves_a_set_still_being_written(
    front: tuple[OpenSSHFront, Intake], demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    _, intake = front
    account = provisioned_account(demo_credentials)
    folder = tmp_path / "homes" / DEMO_USER / IN_FOLDERS[1]
    folder.mkdir(parents=True)
    fields = f"DMFA.{account.sender_number:06d}.{local_now():%Y%m%d}.00001.T"
    (folder / f"FI.{fields}.1.1").write_bytes(b"<DmfA>")  # just written: not settled
    (folder / f"GO.{fields}.1").write_bytes(b"")
    assert intake.scan(account) == 0
    old = time.time() - 10
    for path in folder.iterdir():
        os.utime(path, (old, old))
    assert intake.scan(account) == 1


def test_nsswitch_listing_extrausers_is_recognised(tmp_path: Path) -> None:
    conf = tmp_path / "nsswitch.conf"
    conf.write_text("# passwd: files extrausers\npasswd:         files systemd\n")
    assert not nss_reads_extrausers(conf)
    conf.write_text("passwd:   files extrausers systemd\ngroup: files extrausers\n")
    assert nss_reads_extrausers(conf)
    assert not nss_reads_extrausers(tmp_path / "missing")


def test_serve_with_the_openssh_front_runs_no_sftp_server(tmp_path: Path) -> None:
    extrausers = tmp_path / "extrausers"
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--db", str(tmp_path / "e.sqlite3"), "serve",
         "--front", "openssh", "--homes", str(tmp_path / "homes"), "--port", "0",
         "--accounts", "extrausers", "--extrausers-dir", str(extrausers)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Next synchronisation"):
                break
        text = "".join(lines)
        assert "SFTP: OpenSSH's sshd" in text and "host keys" not in text, text
        assert (extrausers / "group").read_text() == f"{GROUP}:x:{UID_BASE}:\n"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert ("does not list extrausers" in stderr) == (not nss_reads_extrausers())
