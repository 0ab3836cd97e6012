"""The database the store is bound to (tests hand it to other processes), and faults to
put in it, on either backend."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from store.db import db, execute, is_postgresql

if TYPE_CHECKING:
    from tests.support.postgres import PostgresServer


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


def end_connections(server: PostgresServer, url: str) -> int:
    """End every session on ``url``'s database, as an administrator or a restart would, and
    wait until they are gone; how many there were."""
    name = url.rsplit("/", 1)[1]
    with server.admin() as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        ).fetchone()[0]
        deadline = time.monotonic() + 10
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the sessions did not end"
            time.sleep(0.02)
    return int(ended)
