"""The one database proxy, where its file lives, and how it is opened.

SQLite (one file, WAL) is the embedded default. ``open_database`` binds the proxy, sets the
pragmas (WAL, foreign keys, busy timeout) and applies the numbered migrations.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from peewee import DatabaseProxy, SqliteDatabase
from playhouse.migrations import Runner

db = DatabaseProxy()

ENV_VAR = "EXPEDITO_DB"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "cache_size": -16_000,
}


def data_dir() -> Path:
    """The per-user directory for Expedito's data (database, host key, SFTP homes)."""
    return Path(platformdirs.user_data_dir("expedito", appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "expedito.sqlite3"


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--db PATH`` wins, then ``EXPEDITO_DB``, then the user data directory."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_db_path()


def open_database(
    path: str | os.PathLike[str], migrate: bool = True, busy_timeout: float = 10.0
) -> SqliteDatabase:
    """Open (creating if needed) the SQLite file at ``path``, bind the proxy, migrate.

    ``busy_timeout``: seconds a statement waits for another writer's lock before failing
    with "database is locked" (what the intake then retries)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pragmas = {**PRAGMAS, "busy_timeout": int(busy_timeout * 1000)}
    database = SqliteDatabase(
        str(target),
        pragmas=pragmas,
        timeout=busy_timeout,
        check_same_thread=False,
        autoconnect=True,
    )
    db.initialize(database)
    if migrate:
        apply_migrations(database)
    return database


def apply_migrations(database: SqliteDatabase) -> list[str]:
    """Apply pending migrations in one IMMEDIATE transaction, so racing processes wait."""
    runner = Runner(database, directory=str(MIGRATIONS_DIR))
    with database.atomic("IMMEDIATE"):
        applied: list[str] = runner.up() or []
    return applied


def close_database() -> None:
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


def database_path() -> Path:
    """The file the proxy is bound to."""
    if db.obj is None:
        raise RuntimeError("database not opened")
    return Path(db.obj.database)
