"""The database: where it lives, how it is opened, migrations applied once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store.db import (
    ENV_VAR,
    MIGRATIONS_DIR,
    apply_migrations,
    default_db_path,
    resolve_db_path,
)
from tests.support.repo import ROOT


def test_db_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_db_path(None) == default_db_path()
    assert default_db_path().name == "expedito.sqlite3"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.sqlite3"))
    assert resolve_db_path(None) == tmp_path / "env.sqlite3"
    assert resolve_db_path(str(tmp_path / "cli.sqlite3")) == tmp_path / "cli.sqlite3"


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


def test_processes_opening_a_new_file_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    code = "import sys; from store.db import open_database; open_database(sys.argv[1]); print('ok')"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    database = SqliteDatabase(str(path))
    assert database.execute_sql("SELECT COUNT(*) FROM schema_migration").fetchone()[0] == len(
        MIGRATIONS
    )
    assert database.execute_sql("SELECT COUNT(*) FROM application").fetchone()[0] == 5


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
