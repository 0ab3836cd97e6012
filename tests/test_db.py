"""The database: where it lives, how it is opened, migrations applied once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import peewee
import pytest
from peewee import SqliteDatabase

from store.db import (
    ENV_VAR,
    MIGRATIONS_DIR,
    apply_migrations,
    close_database,
    database_target,
    default_db_path,
    open_database,
    resolve_db_path,
    shown,
)
from tests.support.database import end_connections
from tests.support.postgres import PostgresServer
from tests.support.repo import ROOT


def test_db_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_db_path(None) == default_db_path()
    assert default_db_path().name == "expedito.sqlite3"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.sqlite3"))
    assert resolve_db_path(None) == tmp_path / "env.sqlite3"
    assert resolve_db_path(str(tmp_path / "cli.sqlite3")) == tmp_path / "cli.sqlite3"


def test_db_option_names_the_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = "postgresql://expedito@127.0.0.1:5432/expedito"
    assert database_target(url) == url  # PostgreSQL: the URL as it is
    assert database_target(f"sqlite:///{tmp_path}/a.sqlite3") == tmp_path / "a.sqlite3"
    assert database_target("sqlite:///rel.sqlite3") == Path("rel.sqlite3")
    assert database_target(tmp_path / "b.sqlite3") == tmp_path / "b.sqlite3"
    monkeypatch.setenv(ENV_VAR, url)
    assert resolve_db_path(None) == url
    assert shown("postgresql://expedito:secret@127.0.0.1:5432/db") == (
        "postgresql://expedito@127.0.0.1:5432/db"
    )


MIGRATIONS = sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))


def test_pragmas_and_migrations(database: SqliteDatabase) -> None:
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert apply_migrations(database) == []  # already applied: nothing to do again
    applied = [r[0] for r in database.execute_sql("SELECT name FROM schema_migration")]
    assert applied == MIGRATIONS
    codes = [r[0] for r in database.execute_sql("SELECT code FROM application ORDER BY position")]
    assert codes == ["dmfa", "drs", "chomage", "dimona", "chantier"]


def open_together(target: str, processes: int = 4) -> None:
    """``processes`` processes open (and so migrate) the database at ``target`` at once; each
    must succeed."""
    code = "import sys; from store.db import open_database; open_database(sys.argv[1]); print('ok')"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, target],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * processes, results


def test_processes_opening_a_new_file_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    open_together(str(path))
    database = SqliteDatabase(str(path))
    assert database.execute_sql("SELECT COUNT(*) FROM schema_migration").fetchone()[0] == len(
        MIGRATIONS
    )
    assert database.execute_sql("SELECT COUNT(*) FROM application").fetchone()[0] == 5


def test_processes_migrating_a_new_postgresql_database_together_migrate_once(
    postgresql_server: PostgresServer,
) -> None:
    with postgresql_server.admin() as admin:
        admin.execute("CREATE DATABASE racing_migrations")
    url = postgresql_server.url("racing_migrations")
    open_together(url)
    database = open_database(url)
    try:
        assert [r[0] for r in database.execute_sql("SELECT name FROM schema_migration")] == (
            MIGRATIONS
        )
        assert database.execute_sql("SELECT COUNT(*) FROM application").fetchone()[0] == 5
    finally:
        close_database()
        postgresql_server.drop(url)


def test_a_lost_postgresql_connection_is_replaced(postgresql_server: PostgresServer) -> None:
    """A connection ended while idle is replaced before the next statement (nothing fails);
    one ended inside a transaction fails that transaction, and the next one connects again
    (peewee alone kept the dead connection: every statement failed until a restart)."""
    url = postgresql_server.fresh()
    database = open_database(url)
    try:
        count = "SELECT COUNT(*) FROM application"
        assert database.execute_sql(count).fetchone()[0] == 5
        assert end_connections(postgresql_server, url) == 1
        assert database.execute_sql(count).fetchone()[0] == 5  # idle: replaced, no error
        with database.atomic():
            database.execute_sql(count)
        assert end_connections(postgresql_server, url) == 1
        with pytest.raises(peewee.DatabaseError), database.atomic():
            database.execute_sql(count)
            end_connections(postgresql_server, url)
            database.execute_sql(count)  # in the transaction: it fails, and with it the transaction
        assert database.transaction_depth() == 0
        with database.atomic("IMMEDIATE"):  # the next one works
            assert database.execute_sql(count).fetchone()[0] == 5
    finally:
        close_database()
        postgresql_server.drop(url)


def test_a_sqlite_process_loads_no_psycopg_and_a_postgresql_one_does(
    tmp_path: Path, postgresql_server: PostgresServer
) -> None:
    """psycopg (libpq and its ~130 modules) only where the database is PostgreSQL; the
    store's package imports nothing of peewee before something uses it."""
    code = (
        "import sys; import store; assert 'peewee' not in sys.modules; "
        "from store.db import open_database; open_database(sys.argv[1]); "
        "print('psycopg' in sys.modules)"
    )
    url = postgresql_server.fresh()
    try:
        loaded = [
            subprocess.run(
                [sys.executable, "-c", code, target],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            ).stdout.strip()
            for target in (str(tmp_path / "x.sqlite3"), url)
        ]
    finally:
        postgresql_server.drop(url)
    assert loaded == ["False", "True"]


def test_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("app", "demo", "batch", "serve"):
        assert command in result.stdout
