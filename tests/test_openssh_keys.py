"""``expedito authorized-keys``: sshd's AuthorizedKeysCommand, run as sshd runs it."""

from __future__ import annotations

import hashlib
import os
import shlex
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
from peewee import SqliteDatabase

from store import keys, models, senders
from store.accounts import Account
from store.democreds import DemoCredentials
from sync.openssh.names import uid_of
from tests.support.database import database_path
from tests.support.postgres import PostgresServer
from tests.support.registration import (
    DEMO_USER,
    person_id,
    provisioned_account,
    qualite_id,
    register_demo_sender,
)
from tests.support.repo import ROOT


def authorized_keys(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def key_of(creds: DemoCredentials) -> str:
    kind, blob = creds.ssh_public_key.read_text().split()[:2]
    return f"{kind} {blob}"


def test_a_live_user_gets_the_provisioned_key_restricted(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    account = provisioned_account(demo_credentials)
    db = database_path()
    done = authorized_keys("--db", db, "authorized-keys", DEMO_USER)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"restrict {key_of(demo_credentials)} expedito:{DEMO_USER}\n"
    # with sshd's %U: the uid the cycle gave this user, and no other
    right = authorized_keys(
        "--db", db, "authorized-keys", DEMO_USER, str(uid_of(account.sender_id))
    )
    assert right.stdout == done.stdout
    wrong = authorized_keys("--db", db, "authorized-keys", DEMO_USER, "0")
    assert (wrong.returncode, wrong.stdout, wrong.stderr) == (0, "", "")
    # $EXPEDITO_DB serves as well as --db
    by_env = authorized_keys("authorized-keys", DEMO_USER, env={"EXPEDITO_DB": str(db)})
    assert by_env.stdout == done.stdout


def test_nobody_else_gets_a_key(demo: SqliteDatabase, demo_credentials: DemoCredentials) -> None:
    register_demo_sender(demo_credentials, now=None)  # registered, not yet provisioned
    db = database_path()
    for user in (DEMO_USER, DEMO_USER.lower(), "root", "nosuchuser1", "' OR 1=1 --"):
        done = authorized_keys("--db", db, "authorized-keys", user)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), user


def test_revocation_removes_the_key_at_once(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    provisioned_account(demo_credentials)
    db = database_path()
    assert authorized_keys("--db", db, "authorized-keys", DEMO_USER).stdout
    senders.remove_channel(person_id("dieter"), qualite_id(), "SFTP")
    done = authorized_keys("--db", db, "authorized-keys", DEMO_USER)
    assert (done.returncode, done.stdout) == (0, "")


def test_it_fails_closed_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()  # an SQLite file without Expedito's tables
    for db in (missing, garbage, empty, tmp_path):
        done = authorized_keys("--db", db, "authorized-keys", DEMO_USER)
        assert done.returncode == 1, db
        assert done.stdout == ""
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith("expedito authorized-keys: "), done.stderr
    assert not missing.exists()  # read-only: nothing created ...
    assert sqlite3.connect(empty).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    for bad in (
        ("authorized-keys",),
        ("authorized-keys", "a", "b", "c"),
        ("authorized-keys", "u", "x"),
    ):
        done = authorized_keys("--db", missing, *bad)
        assert (done.returncode, done.stdout) == (2, ""), bad
        assert len(done.stderr.splitlines()) == 1


def quick(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """As ``sshd-config``'s fragment runs it: the module as a script, without site."""
    script = ROOT / "tui" / "keys_cli.py"
    return subprocess.run(
        [os.path.realpath(sys.executable), "-S", "-I", str(script), *map(str, args)],
        cwd="/",
        env={},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_quick_start_gives_the_same_answers(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    account = provisioned_account(demo_credentials)
    db = database_path()
    uid = str(uid_of(account.sender_id))
    done = quick("--db", db, "authorized-keys", DEMO_USER, uid)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"restrict {key_of(demo_credentials)} expedito:{DEMO_USER}\n"
    for user, given in ((DEMO_USER, "0"), ("nosuchuser1", uid), ("root", "0")):
        other = quick("--db", db, "authorized-keys", user, given)
        assert (other.returncode, other.stdout, other.stderr) == (0, "", ""), user
    missing = quick("--db", tmp_path / "missing.sqlite3", "authorized-keys", DEMO_USER, uid)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert (
        missing.stderr.startswith("expedito authorized-keys: ")
        and len(missing.stderr.splitlines()) == 1
    )
    senders.remove_channel(person_id("dieter"), qualite_id(), "SFTP")  # at once
    revoked = quick("--db", db, "authorized-keys", DEMO_USER, uid)
    assert (revoked.returncode, revoked.stdout) == (0, "")


def test_the_database_is_only_read(demo: SqliteDatabase, demo_credentials: DemoCredentials) -> None:
    provisioned_account(demo_credentials)
    demo.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db = database_path()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert authorized_keys("--db", db, "authorized-keys", DEMO_USER).stdout
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    connection = keys.open_read_only(db)
    try:
        try:
            connection.execute("CREATE TABLE intruder (x)")
        except sqlite3.OperationalError as exc:
            assert "readonly" in str(exc) or "read-only" in str(exc)
        else:
            raise AssertionError("a read-only connection wrote")
    finally:
        connection.close()


def test_the_sql_agrees_with_the_store(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    assert (keys.SFTP_KIND, keys.ACTIVE_STATUS) == (models.SFTP, models.ACTIVE)
    account: Account = provisioned_account(demo_credentials)
    connection = keys.open_read_only(database_path())
    try:
        (found,) = keys.provisioned_keys(connection, DEMO_USER)
        assert found == keys.ProvisionedKey(account.sender_id, key_of(demo_credentials))
        senders.delete_sender(person_id("dieter"), qualite_id())
        assert keys.provisioned_keys(connection, DEMO_USER) == []
    finally:
        connection.close()


def test_the_command_loads_neither_peewee_nor_asyncio(tmp_path: Path) -> None:
    """What keeps it quick: sshd runs it at every login."""
    code = (
        "import sys; from tui.cli import main; "
        f"main(['--db', {str(tmp_path / 'x')!r}, 'authorized-keys', 'someone']); "
        "print(sorted(m for m in ('peewee', 'asyncio', 'textual', 'paramiko') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_postgresql_password_stays_out_of_sshd_config(
    postgresql_server: PostgresServer, tmp_path: Path
) -> None:
    """sshd_config is readable by every local user (so is the command line of a running
    AuthorizedKeysCommand): the password goes to a libpq password file of root's, 0600."""
    url = postgresql_server.fresh()
    try:
        secret = "s3:cr\\et"
        with_password = url.replace("://postgres@", f"://postgres:{quote(secret, safe='')}@")
        passfile = tmp_path / "pgpass"
        base = ("--db", with_password, "sshd-config", "--homes", tmp_path, "--keys", "command")
        done = authorized_keys(*base, "--passfile", passfile)
        assert done.returncode == 0, done.stderr
        assert "s3" not in done.stdout and "s3" not in done.stderr
        info = passfile.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600)
        host, port, name = url.rsplit("@", 1)[1].replace("/", ":").split(":")
        assert passfile.read_text() == f"{host}:{port}:{name}:postgres:s3\\:cr\\\\et\n"
        # the fragment's command, as sshd runs it: it reads the password there, and answers
        line = next(x for x in done.stdout.splitlines() if "AuthorizedKeysCommand " in x)
        command = shlex.split(line.split("AuthorizedKeysCommand ", 1)[1])
        given = command[command.index("--db") + 1]
        assert given == f"{url}?passfile={passfile}"
        with psycopg.connect(given) as connection:
            assert connection.info.password == secret  # libpq found it in the file
        ran = subprocess.run(
            [*command[:-2], DEMO_USER, "2000001"], env={}, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert (ran.returncode, ran.stdout, ran.stderr) == (0, "", "")
        # without --passfile: left out, and said
        bare = authorized_keys(*base)
        assert bare.returncode == 0 and "s3" not in bare.stdout + bare.stderr
        assert f"--db {url} authorized-keys" in bare.stdout
        assert bare.stderr.startswith("expedito: warning: the database password is left out")
        # --passfile where it means nothing: one line
        for wrong in (
            ("--db", url, *base[2:], "--passfile", passfile),  # no password to keep
            ("--db", tmp_path / "x.sqlite3", *base[2:], "--passfile", passfile),
            (*base[:-2], "--passfile", passfile),  # key files: no URL in sshd_config
        ):
            refused = authorized_keys(*wrong)
            assert (refused.returncode, refused.stdout) == (2, ""), wrong
            assert len(refused.stderr.splitlines()) == 1, refused.stderr
    finally:
        postgresql_server.drop(url)
