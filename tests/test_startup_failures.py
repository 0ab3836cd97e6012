"""Clear failures at start and on the command line: each is one line on stderr saying what is
wrong and what to do, within seconds, exit 2 for a usage error and 1 when the database, the
homes or the port cannot be used, never a traceback; the app shows the same line on its
login screen instead of "Vérification…"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.db import MIGRATIONS_DIR, DatabaseUnavailable, close_database, open_database
from store.democreds import DemoCredentials
from tests.support.disk import fill, read_only
from tests.support.network import free_port
from tests.support.postgres import PostgresServer
from tests.support.repo import ROOT

OURS = max(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))[:4]


def expedito(
    *args: str | Path,
    cwd: Path = ROOT,
    timeout: float = 20,
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert time.monotonic() - started < timeout
    return run


def one_line(run: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The run failed with ``code`` and said so in one line holding ``words``."""
    assert run.returncode == code, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def migrated(path: Path) -> Path:
    open_database(path)
    close_database()
    return path


# -- usage errors: exit 2 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--port", "99999", ("--port", "0 to 65535")),
        ("--port", "-5", ("--port", "0 to 65535")),
        ("--max-file-size", "0", ("--max-file-size", "at least 1")),
        ("--max-file-size", "-1", ("--max-file-size", "at least 1")),
        ("--period", "7", ("period",)),
    ],
)
def test_bad_service_options_are_one_line_and_exit_2(
    tmp_path: Path, option: str, value: str, words: tuple[str, ...]
) -> None:
    db = tmp_path / "x.sqlite3"
    run = expedito("--db", db, "serve", f"{option}={value}")
    one_line(run, 2, *words)
    assert not db.exists()  # refused before anything was opened


# -- the database --------------------------------------------------------------------------


def test_a_db_in_a_missing_directory_is_refused_and_not_created(tmp_path: Path) -> None:
    run = expedito("--db", tmp_path / "missing" / "x.sqlite3", "serve", "--port", "0")
    one_line(run, 1, "does not exist", str(tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_bytes(b"not a database, just notes\n" * 10)
    run = expedito("--db", db, "serve", "--port", "0")
    one_line(run, 1, "not an Expedito database", "--db")
    assert db.read_bytes() == b"not a database, just notes\n" * 10


def test_a_postgresql_server_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    # Nothing listens on the port: refused at once, the password not shown.
    url = f"postgresql://expedito:secret@127.0.0.1:{free_port()}/expedito"
    run = expedito("--db", url, "serve", "--port", "0", "--homes", tmp_path / "homes")
    line = one_line(run, 1, "cannot connect to the database", "127.0.0.1", "check --db")
    assert "secret" not in line


def test_a_postgresql_database_that_does_not_exist_is_one_line(
    tmp_path: Path, postgresql_server: PostgresServer
) -> None:
    url = postgresql_server.url("no_such_database")
    run = expedito("--db", url, "serve", "--port", "0", "--homes", tmp_path / "homes")
    one_line(run, 1, "cannot connect to the database", "no_such_database", "does not exist")


def test_a_schema_newer_than_this_version_is_refused_naming_both(tmp_path: Path) -> None:
    db = migrated(tmp_path / "x.sqlite3")
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO schema_migration (name, applied) VALUES "
            "('0099_from_the_future', '2027-01-01')"
        )
    run = expedito("--db", db, "serve", "--port", "0")
    one_line(run, 1, "0099", OURS, "newer")


def test_a_read_only_database_is_refused(tmpfs: Path) -> None:
    db = migrated(tmpfs / "x.sqlite3")
    read_only(tmpfs)
    one_line(expedito("--db", db, "serve", "--port", "0"), 1, "read-only", str(db))


def test_a_database_on_a_full_disk_is_refused_and_nothing_is_left(tmpfs: Path) -> None:
    fill(tmpfs)
    db = tmpfs / "x.sqlite3"
    one_line(expedito("--db", db, "serve", "--port", "0"), 1, "no space", str(db))
    assert sorted(p.name for p in tmpfs.iterdir()) == ["filler"]


HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def writer() -> Iterator[list[subprocess.Popen[str]]]:
    held: list[subprocess.Popen[str]] = []
    yield held
    for process in held:
        process.kill()
        process.wait()


def hold_write_lock(db: Path, held: list[subprocess.Popen[str]]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    held.append(process)
    assert process.stdout is not None and process.stdout.readline() == "locked\n"


def test_a_database_locked_by_another_writer_with_migrations_to_apply_is_refused(
    tmp_path: Path, writer: list[subprocess.Popen[str]]
) -> None:
    db = migrated(tmp_path / "x.sqlite3")
    with sqlite3.connect(db) as connection:  # as an older version left it
        last = max(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))
        connection.execute("DELETE FROM schema_migration WHERE name = ?", (last,))
    hold_write_lock(db, writer)
    started = time.monotonic()
    run = expedito("--db", db, "serve", "--port", "0")
    one_line(run, 1, "locked by another process")
    assert time.monotonic() - started < 10


def test_a_database_another_writer_holds_opens_when_there_is_nothing_to_migrate(
    tmp_path: Path, writer: list[subprocess.Popen[str]]
) -> None:
    db = migrated(tmp_path / "x.sqlite3")
    hold_write_lock(db, writer)
    started = time.monotonic()
    open_database(db)  # no write lock needed: it does not wait for the writer
    close_database()
    assert time.monotonic() - started < 2


# -- the homes -----------------------------------------------------------------------------


def test_homes_that_cannot_be_made_are_refused(tmp_path: Path) -> None:
    run = expedito(
        "--db", tmp_path / "x.sqlite3", "serve", "--port", "0", "--homes", "/proc/expedito-homes"
    )
    one_line(run, 1, "--homes /proc/expedito-homes", "cannot be made")


def test_homes_on_a_read_only_disk_are_refused(tmp_path: Path, tmpfs: Path) -> None:
    read_only(tmpfs)
    run = expedito(
        "--db", tmp_path / "x.sqlite3", "serve", "--port", "0", "--homes", tmpfs / "homes"
    )
    one_line(run, 1, "--homes", "Read-only")


# -- batch prepare -------------------------------------------------------------------------


@pytest.fixture
def signing(demo_credentials: DemoCredentials) -> tuple[str, ...]:
    return (
        "--key",
        str(demo_credentials.certificate_key),
        "--cert",
        str(demo_credentials.certificate_pem),
        "--sender",
        "100001",
    )


def test_batch_prepare_refuses_an_empty_input(tmp_path: Path, signing: tuple[str, ...]) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    run = expedito(
        "batch",
        "prepare",
        empty,
        "--purpose",
        "DMFA",
        "--env",
        "T",
        *signing,
        "--out",
        tmp_path / "out",
    )
    one_line(run, 2, "empty.xml is empty")
    assert not (tmp_path / "out").exists()


def test_batch_prepare_lists_the_valid_purposes(tmp_path: Path, signing: tuple[str, ...]) -> None:
    data = tmp_path / "d.xml"
    data.write_bytes(b"<x/>")
    db = migrated(tmp_path / "x.sqlite3")
    run = expedito(
        "--db",
        db,
        "batch",
        "prepare",
        data,
        "--purpose",
        "XXXX",
        "--env",
        "T",
        *signing,
        "--out",
        tmp_path / "out",
    )
    one_line(run, 2, "--purpose 'XXXX'", "DMFA, DMWA, DMRQ", "DUCN")


def test_batch_prepare_refuses_zero_parts(tmp_path: Path, signing: tuple[str, ...]) -> None:
    data = tmp_path / "d.xml"
    data.write_bytes(b"<x/>")
    run = expedito(
        "batch",
        "prepare",
        data,
        "--purpose",
        "DMFA",
        "--env",
        "T",
        "--parts",
        "0",
        *signing,
        "--out",
        tmp_path / "out",
    )
    one_line(run, 2, "--parts 0", "1 to 9")


def test_batch_prepare_says_when_out_cannot_be_made(
    tmp_path: Path, signing: tuple[str, ...]
) -> None:
    data = tmp_path / "d.xml"
    data.write_bytes(b"<x/>")
    run = expedito(
        "batch",
        "prepare",
        data,
        "--purpose",
        "DMFA",
        "--env",
        "T",
        *signing,
        "--out",
        "/proc/expedito-out",
    )
    one_line(run, 2, "--out /proc/expedito-out", "cannot create")


# -- the app -------------------------------------------------------------------------------


async def test_the_app_shows_why_the_database_cannot_be_used(tmp_path: Path) -> None:
    from textual.widgets import Static

    from tui.app import ExpeditoApp

    db = tmp_path / "notes.txt"
    db.write_bytes(b"not a database\n" * 10)

    def open_store() -> Path:
        open_database(db)
        return db

    app = ExpeditoApp(open_store=open_store)
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = str(app.screen.query_one("#login-message", Static).render())
        assert "is not an Expedito database" in message
        await pilot.press(*"dieter", "tab", *"demo", "enter")  # does not hang on it
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "is not an Expedito database" in str(
            app.screen.query_one("#login-message", Static).render()
        )
    assert app.store_error is not None and app.store_error.startswith("expedito: ")
    with pytest.raises(DatabaseUnavailable):
        open_store()


def test_the_app_caps_textual_at_its_frame_rate_unless_told_otherwise(tmp_path: Path) -> None:
    """``expedito`` sets ``TEXTUAL_FPS`` before Textual is imported (its screens read it once,
    at import): a repaint comes within 2 ms of the last one, not 17-33 ms (``tui.cli``); a
    value the person set stays. (``tui.app`` stands in for the app: it reports what Textual
    read.)"""
    probe = (
        "import sys, types\n"
        "fake = types.ModuleType('tui.app')\n"
        "def run_app(startup):\n"
        "    import textual.screen\n"
        "    print(round(1 / textual.screen.UPDATE_PERIOD))\n"
        "    return 0\n"
        "fake.run_app = run_app\n"
        "sys.modules['tui.app'] = fake\n"
        "from tui.cli import FRAMES_PER_SECOND, main\n"
        "assert FRAMES_PER_SECOND == 500\n"
        f"sys.exit(main(['--db', {str(tmp_path / 'x.sqlite3')!r}, '--no-serve']))\n"
    )
    for env, fps in (({}, "500"), ({"TEXTUAL_FPS": "90"}, "90")):
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**{k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}, **env},
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == fps
