"""End to end with OpenSSH as the SFTP front: a real sshd (its own config, host key and port
on 127.0.0.1, the fragment of ``expedito sshd-config`` included), the services with
``front=openssh`` keeping real system accounts (``useradd``), and the OpenSSH ``sftp`` and
``scp`` clients doing a partner's whole job — and what sshd must refuse.

Runs as root (as the suite does here and in CI). The machine is left as it was found: sshd
is killed, the accounts and the group are removed, the site directory too, whatever happens.
The machine's own sshd, its config and port 22 are never touched.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import senders
from store import sessions as store_sessions
from store.clock import local_now
from store.democreds import DemoCredentials
from sync.cycle import run_cycle
from sync.intake.prepare import PreparedSet, write_set
from sync.openssh.accounts import ExtraUsers, UserAdd, end_sessions
from sync.openssh.names import GROUP, uid_of
from sync.services import ServiceConfig, Services
from tests.support import openssh
from tests.support.credentials import signing_pair
from tests.support.database import database_path
from tests.support.openssh import wait_for
from tests.support.registration import DEMO_USER, person_id, qualite_id, register_demo_sender
from tests.support.sftp import sftp, sftp_shell, write_command

pytestmark = pytest.mark.slow

SCP = shutil.which("scp") or "/usr/bin/scp"
CLIENT_OPTIONS = [
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
]  # fmt: skip


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def member(name: str) -> bool:
    try:
        return name in grp.getgrnam(GROUP).gr_mem
    except KeyError:
        return False


@pytest.fixture
def site() -> Iterator[Path]:
    with openssh.site() as path:
        yield path


@pytest.fixture
def accounts() -> Iterator[UserAdd]:
    with openssh.system_accounts() as keeper:
        yield keeper


@pytest.fixture
def services(demo: SqliteDatabase, site: Path, accounts: UserAdd) -> Iterator[Services]:
    config = ServiceConfig(
        homes_root=site / "homes",
        host_key_path=site / "unused_host_key",
        spool_root=site / "intake",
        front="openssh",
        system_accounts=accounts,
        run_worker=False,  # the test runs the cycle
    )
    running = Services(config)
    running.start_in_thread()
    try:
        yield running
    finally:
        running.stop_in_thread()


@pytest.fixture
def sshd(services: Services, site: Path) -> Iterator[int]:
    with openssh.sshd(site, database_path(), site / "homes") as port:
        yield port


def scp(port: int, key: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCP, "-P", str(port), "-i", str(key), *CLIENT_OPTIONS, *args],
        capture_output=True, text=True, cwd=cwd, timeout=60,
    )  # fmt: skip


def prepared(creds: DemoCredentials, directory: Path, sender: int, sequence: int) -> PreparedSet:
    cert, key = signing_pair(creds)
    directory.mkdir(parents=True, exist_ok=True)
    return write_set(
        directory, [b"<DmfA>\n  <Quarter>20254</Quarter>\n</DmfA>\n"], purpose="DMFA",
        sender=sender, date=f"{local_now():%Y%m%d}", sequence=sequence, env="T", cert=cert,
        key=key,
    )  # fmt: skip


def test_a_partner_does_the_whole_job_through_sshd(
    services: Services, sshd: int, site: Path, demo_credentials: DemoCredentials,
    tmp_path: Path,
) -> None:  # fmt: skip
    port, key = sshd, demo_credentials.ssh_private_key
    homes = site / "homes"
    # registered through the app's services, provisioned by a cycle
    overview = register_demo_sender(demo_credentials, now=None)
    assert not user_exists(DEMO_USER)
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    assert run_cycle(slot, homes, lambda: datetime.now(UTC)).ran
    made = wait_for(lambda: user_exists(DEMO_USER) and member(DEMO_USER), 15)
    assert made, "the front made no system account"
    entry = pwd.getpwnam(DEMO_USER)
    home = homes / DEMO_USER
    assert (home / "INTEST").stat().st_gid == entry.pw_uid
    sender_number = overview.sender.number
    assert entry.pw_uid == uid_of(overview.sender.id)

    # 1. sftp: a set into INTEST (the GO last), its ACRF back in OUTTEST, fetched, deleted
    first = prepared(demo_credentials, tmp_path / "set1", sender_number, 1)
    puts = "".join(f"put {path.name} INTEST/{path.name}\n" for path in first.paths)
    done = sftp(port, key, DEMO_USER, puts, cwd=first.go.parent)
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: any((home / "OUTTEST").glob("FO.ACRF.*")), 30)
    (acrf,) = (home / "OUTTEST").glob("FO.ACRF.*")
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    done = sftp(port, key, DEMO_USER, f"get OUTTEST/{acrf.name}\nrm OUTTEST/{acrf.name}\n",
                cwd=fetched)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "<ResultCode>1</ResultCode>" in (fetched / acrf.name).read_text()
    assert not acrf.exists()

    # 2. scp (SFTP mode, OpenSSH's default): the next set, its ACRF fetched with scp
    second = prepared(demo_credentials, tmp_path / "set2", sender_number, 2)
    done = scp(port, key, *(p.name for p in second.paths), f"{DEMO_USER}@127.0.0.1:INTEST/",
               cwd=second.go.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: any((home / "OUTTEST").glob("FO.ACRF.*.00002.T")), 30)
    done = scp(port, key, f"{DEMO_USER}@127.0.0.1:OUTTEST/FO.ACRF.*", str(fetched), cwd=fetched)
    assert done.returncode == 0, done.stderr
    assert "<ResultCode>1</ResultCode>" in next(fetched.glob("FO.ACRF.*.00002.T")).read_text()

    # 3. under temporary names, renamed (OpenSSH's rename: posix-rename): inotify sees the
    # final names arrive
    third = prepared(demo_credentials, tmp_path / "set3", sender_number, 3)
    commands = "".join(
        f"put {p.name} INTEST/{p.name}.filepart\nrename INTEST/{p.name}.filepart INTEST/{p.name}\n"
        for p in third.paths
    )
    done = sftp(port, key, DEMO_USER, commands, cwd=third.go.parent)
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: any((home / "OUTTEST").glob("FO.ACRF.*.00003.T")), 30)
    (third_acrf,) = (home / "OUTTEST").glob("FO.ACRF.*.00003.T")
    assert "<ResultCode>1</ResultCode>" in third_acrf.read_text()

    # 4. what sshd and the kernel refuse
    other = homes / "OTHERUSER1" / "IN"
    other.mkdir(parents=True)
    (other / "secret.txt").write_text("not yours")
    local = tmp_path / "local"
    local.mkdir()
    (local / "note.txt").write_text("hello")
    done = sftp(port, key, DEMO_USER, "put note.txt IN/note.txt\n", cwd=local)
    assert done.returncode == 0, done.stderr  # a lone file: waits for no GO
    attempts = {
        "read IN": "get IN/note.txt read-back.txt\n",
        "overwrite IN": "put note.txt IN/note.txt\n",
        "climb": "get ../../etc/passwd passwd.txt\n",
        "other home": "get /../OTHERUSER1/IN/secret.txt secret.txt\n",
        "symlink": "ln -s /OUTTEST IN/link\n",
        "hard link": f"ln OUTTEST/{acrf.name} IN/hard\n",
        "mkdir": "mkdir IN/sub\n",
    }
    for what, command in attempts.items():
        done = sftp(port, key, DEMO_USER, command, cwd=local)
        assert done.returncode != 0, f"{what}: {done.stdout} {done.stderr}"
    assert not (local / "read-back.txt").exists() and not (local / "passwd.txt").exists()
    assert not (local / "secret.txt").exists()
    assert not (home / "IN" / "link").exists() and not (home / "IN" / "sub").exists()
    listing = sftp(port, key, DEMO_USER, "ls -1 /\nls -1 /..\n", cwd=local)
    assert listing.returncode == 0
    assert "OTHERUSER1" not in listing.stdout and "etc" not in listing.stdout.split()
    # writing in OUT: the kernel lets whoever may delete there create too; the front
    # removes it as soon as it is closed
    done = sftp(port, key, DEMO_USER, "put note.txt OUT/note.txt\n", cwd=local)
    assert wait_for(lambda: not (home / "OUT" / "note.txt").exists(), 10)

    # 5. the Sessions page sees a session sshd serves (/proc), and an operator ends it there
    front = services.openssh
    assert front is not None

    def published() -> list[store_sessions.LiveSession]:
        return [s for s in store_sessions.live_sessions() if s.technical_user == DEMO_USER]

    assert wait_for(lambda: front.live_sessions() == [] and published() == [], 15)
    shell = sftp_shell(port, key, DEMO_USER, local)
    try:
        write_command(shell, "ls -1 /")
        assert wait_for(lambda: len(front.live_sessions()) == 1, 15), "no session seen"
        (mine,) = front.live_sessions()
        assert (mine.address, mine.account) == ("127.0.0.1", front._by_uid[entry.pw_uid])
        assert wait_for(lambda: [s.id for s in published()] == [mine.session_id], 15)
        (seen,) = published()
        assert (seen.address, seen.sender_number) == ("127.0.0.1", sender_number)
        assert store_sessions.request_end(seen.id, person_id("olivier"), "olivier") is not None
        # within a second or so its processes are gone; sftp, waiting for its next
        # command, finds the connection closed when it sends it
        assert wait_for(lambda: not os.path.exists(f"/proc/{mine.pid}"), 15)
        assert wait_for(lambda: published() == [] and front.live_sessions() == [], 15)
        with contextlib.suppress(OSError):  # sftp may be gone already
            write_command(shell, "ls -1 /")
        assert wait_for(lambda: shell.poll() is not None, 30)
    finally:
        shell.kill()
        shell.wait(timeout=10)

    # 6. revocation ends an open session at once
    shell = sftp_shell(port, key, DEMO_USER, local)
    try:
        write_command(shell, "ls -1 /")
        assert wait_for(lambda: end_sessions_count(entry.pw_uid) > 0, 15), "no session seen"
        key_file = site / "expedito-keys" / DEMO_USER
        assert key_file.read_text().startswith("restrict ssh-")
        senders.remove_channel(person_id("dieter"), qualite_id(), "SFTP")
        # the key file goes first, with the sessions (within the front's poll)
        assert wait_for(lambda: not key_file.exists(), 15)
        # its processes are killed within a second; sftp, if it was already waiting for its
        # next command, finds the connection closed when it sends it
        assert wait_for(lambda: end_sessions_count(entry.pw_uid) == 0, 15)
        with contextlib.suppress(OSError):  # sftp may be gone already
            write_command(shell, "ls -1 /")
        shell.wait(timeout=30)
    finally:
        shell.kill()
        shell.wait(timeout=10)
    assert wait_for(lambda: not user_exists(DEMO_USER), 15)
    done = sftp(port, key, DEMO_USER, "ls\n", cwd=local)
    assert done.returncode != 0


def end_sessions_count(uid: int) -> int:
    """How many processes run as ``uid`` (without signalling them)."""
    return end_sessions(uid, 0)


def test_keys_by_command_and_accounts_by_extrausers(
    demo: SqliteDatabase, site: Path, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """The other configuration: sshd asks ``expedito authorized-keys %u %U`` at each login
    (``sshd-config --keys command``: no key file counts) and resolves the technical users
    through Debian's libnss-extrausers files the front writes (``--accounts extrausers``, the
    default; shown to this sshd alone as /var/lib/extrausers with an nsswitch.conf listing
    them, in a mount namespace of its own)."""
    port, key = 0, demo_credentials.ssh_private_key
    homes = site / "homes"
    with openssh.extrausers(site) as files:
        config = ServiceConfig(
            homes_root=homes,
            host_key_path=site / "unused_host_key",
            spool_root=site / "intake",
            front="openssh",
            system_accounts=files,
            run_worker=False,
        )
        running = Services(config)
        running.start_in_thread()
        try:
            with openssh.sshd(
                site, database_path(), homes, keys="command", extrausers=files.directory
            ) as port:
                command_mode_job(port, key, site, files, demo_credentials, tmp_path)
        finally:
            running.stop_in_thread()


def command_mode_job(
    port: int, key: Path, site: Path, files: ExtraUsers, creds: DemoCredentials, tmp_path: Path
) -> None:
    homes = site / "homes"
    fragment = (site / "expedito.conf").read_text()
    assert "AuthorizedKeysFile none" in fragment and "authorized-keys %u %U" in fragment
    overview = register_demo_sender(creds, now=None)
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    assert run_cycle(slot, homes, lambda: datetime.now(UTC)).ran
    uid = uid_of(overview.sender.id)
    assert wait_for(lambda: files.managed() == {DEMO_USER: uid}, 15), "no extrausers account"
    assert wait_for(lambda: (homes / DEMO_USER / "INTEST").is_dir(), 15)
    assert not user_exists(DEMO_USER)  # the machine's own NSS does not know it: sshd's does
    home = homes / DEMO_USER

    # a set into INTEST (the GO last), its ACRF back in OUTTEST, fetched and deleted
    first = prepared(creds, tmp_path / "set1", overview.sender.number, 1)
    puts = "".join(f"put {path.name} INTEST/{path.name}\n" for path in first.paths)
    done = sftp(port, key, DEMO_USER, puts, cwd=first.go.parent)
    assert done.returncode == 0, done.stderr + (site / "sshd.log").read_text()
    accepted = [x for x in (site / "sshd.log").read_text().splitlines() if "Accepted key" in x]
    assert accepted and all("authorized-keys %u %U" in line for line in accepted), accepted
    assert wait_for(lambda: any((home / "OUTTEST").glob("FO.ACRF.*")), 30)
    (acrf,) = (home / "OUTTEST").glob("FO.ACRF.*")
    assert "<ResultCode>1</ResultCode>" in acrf.read_text()
    done = sftp(port, key, DEMO_USER, f"rm OUTTEST/{acrf.name}\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not acrf.exists()

    # revocation: the next login is refused (the command reads the database) and the open
    # session ends
    shell = sftp_shell(port, key, DEMO_USER, tmp_path)
    try:
        write_command(shell, "ls -1 /")
        assert wait_for(lambda: end_sessions_count(uid) > 0, 15), "no session seen"
        senders.remove_channel(person_id("dieter"), qualite_id(), "SFTP")
        refused = sftp(port, key, DEMO_USER, "ls\n", cwd=tmp_path)
        assert refused.returncode != 0
        assert "Permission denied" in refused.stderr, refused.stderr
        assert wait_for(lambda: end_sessions_count(uid) == 0, 15)
        with contextlib.suppress(OSError):  # sftp may be gone already
            write_command(shell, "ls -1 /")
        shell.wait(timeout=30)
    finally:
        shell.kill()
        shell.wait(timeout=10)
    assert wait_for(lambda: files.managed() == {}, 15)
