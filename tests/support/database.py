"""The database the store is bound to (tests hand it to other processes), and faults to
put in it, on either backend."""

from __future__ import annotations

from pathlib import Path

from store.db import db, execute, is_postgresql


def database_path() -> Path:
    """The SQLite file the proxy is bound to."""
    if db.obj is None:
        raise RuntimeError("database not opened")
    if is_postgresql():
        raise RuntimeError("bound to PostgreSQL, not a file: use database_argument()")
    return Path(db.obj.database)


def database_argument() -> str:
    """``--db`` for another process on the same database: the SQLite file's path, or the
    PostgreSQL URL (peewee keeps the URL as the database's name)."""
    if db.obj is None:
        raise RuntimeError("database not opened")
    return str(db.obj.database)


def make_inserts_fail(table: str, message: str) -> None:
    """From now on every INSERT into ``table`` fails with ``message`` (a trigger)."""
    if is_postgresql():
        execute(
            f"CREATE FUNCTION boom_{table}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        execute(
            f"CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION boom_{table}()"
        )
        return
    execute(
        f"CREATE TRIGGER boom BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )
