"""The one database proxy, where the database lives, and how it is opened.

SQLite (one file, WAL) is the embedded default; ``--db postgresql://USER@HOST:PORT/DB`` (or
``EXPEDITO_DB``) selects PostgreSQL (``store.postgres``). :func:`database_target` is the one
place that turns the option into a target (a ``Path`` for SQLite, the URL for PostgreSQL), and
:func:`open_database` the one that binds the proxy to it, sets the pragmas (SQLite: WAL,
foreign keys, busy timeout) and applies the numbered migrations, the same on both.

Whatever keeps the database from being used at start — a file that is not SQLite, a
read-only file or disk, a full disk, another process holding the write lock while there is
something to migrate, a schema newer than this version knows, a directory that does not
exist — raises :class:`DatabaseUnavailable`, whose message is one line saying what is wrong
and what to do (the command line and the app show it as it is). The write lock is taken
only when there is something to migrate, so a database another process is writing to opens
at once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee
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
MIGRATION_WAIT = 3.0  # seconds to wait for another writer before migrating, at start


class DatabaseUnavailable(Exception):
    """The database cannot be used; ``str()`` is one line for the user: what, and what to do."""


class SchemaTooNew(DatabaseUnavailable):
    """The database was migrated by a newer version of Expedito."""


def data_dir() -> Path:
    """The per-user directory for Expedito's data (database, host key, SFTP homes)."""
    return Path(platformdirs.user_data_dir("expedito", appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "expedito.sqlite3"


POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"

# Where the database is: a SQLite file, or a PostgreSQL URL (``postgresql://…``).
Target = Path | str


def is_postgresql_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(POSTGRESQL_SCHEMES)


def database_target(value: str | os.PathLike[str]) -> Target:
    """``--db``'s value as a target: a ``postgresql://`` URL stays a URL (PostgreSQL); a path
    or ``sqlite:///PATH`` is a SQLite file."""
    text = os.fspath(value)
    if is_postgresql_url(text):
        return text
    if text.startswith(SQLITE_SCHEME):  # sqlite:///relative.db, sqlite:////absolute.db
        text = text[len(SQLITE_SCHEME) :]
    return Path(text).expanduser()


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Target:
    """``--db`` wins, then ``EXPEDITO_DB``, then the user data directory's SQLite file."""
    if cli_value:
        return database_target(cli_value)
    env = os.environ.get(ENV_VAR)
    if env:
        return database_target(env)
    return default_db_path()


def shown(target: Target) -> str:
    """``target`` for the user's eyes (a PostgreSQL URL's password left out)."""
    if isinstance(target, Path):
        return str(target)
    from store.postgres import without_password

    return without_password(target)


def is_postgresql() -> bool:
    """Whether the store is bound to PostgreSQL (else SQLite)."""
    return db.obj is not None and not isinstance(db.obj, SqliteDatabase)


def execute(sql: str, params: Sequence[Any] = ()) -> Any:
    """Run SQL written with ``?`` placeholders on whichever backend the store is bound to
    (psycopg's are ``%s``); returns the cursor."""
    if db.param != "?":
        sql = sql.replace("%", "%%").replace("?", db.param)
    return db.execute_sql(sql, params)


_WRITERS = threading.RLock()
WRITER_TURN = 1.0


@contextmanager
def write_transaction(*, serialised: bool = True) -> Iterator[None]:
    """A short write transaction: on SQLite an IMMEDIATE one, for which this process's
    threads first take turns on a lock of their own (SQLite's busy handler sleeps between
    tries, 1 ms growing to 100 ms: threads of one process queue here instead, and only the
    processes meet at SQLite's lock); on PostgreSQL ``db.atomic("IMMEDIATE")`` (the store's
    write lock) when ``serialised``, else an ordinary one (its row locks). A turn
    not given within ``WRITER_TURN`` seconds (another thread waits out a lock held elsewhere)
    is not waited for: SQLite's busy timeout still applies."""
    if is_postgresql():
        with db.atomic("IMMEDIATE") if serialised else db.atomic():
            yield
        return
    turn = _WRITERS.acquire(timeout=WRITER_TURN)
    try:
        with db.atomic("IMMEDIATE"):
            yield
    finally:
        if turn:
            _WRITERS.release()


def greatest() -> str:
    """The SQL function of the larger of two values: SQLite's ``MAX(a, b)``, PostgreSQL's
    ``GREATEST(a, b)``."""
    return "GREATEST" if is_postgresql() else "MAX"


def run_sql(database: peewee.Database, statement: str, params: Sequence[Any] = ()) -> Any:
    """For the migrations (bound to ``database``, not the proxy): run a statement written for
    SQLite, with ``?`` placeholders; on PostgreSQL its types are PostgreSQL's
    (``store.postgres.ddl``)."""
    if not isinstance(database, SqliteDatabase):
        from store.postgres import ddl

        statement = ddl(statement).replace("%", "%%").replace("?", database.param)
    return database.execute_sql(statement, params)


def open_database(
    path: str | os.PathLike[str],
    migrate: bool = True,
    busy_timeout: float = 10.0,
    make_parent: bool = True,
) -> peewee.Database:
    """Open the database ``path`` names (a SQLite file, created if needed, or a PostgreSQL
    URL), bind the proxy, migrate.

    ``busy_timeout``: seconds a statement waits for another writer's lock before failing
    (SQLite: "database is locked"; PostgreSQL: a lock timeout), what the intake then retries.
    ``make_parent``: create the file's directory when missing (the user data directory);
    False for a path the user gave, whose directory must exist. :class:`DatabaseUnavailable`
    when it cannot be used."""
    if is_postgresql_url(os.fspath(path)):
        from store.postgres import open_postgresql

        server = open_postgresql(os.fspath(path), busy_timeout)
        db.initialize(server)
        try:
            if migrate:
                apply_migrations(server)
        except peewee.DatabaseError as exc:
            server.close()
            raise DatabaseUnavailable(
                f"cannot use the database {shown(os.fspath(path))}: {exc}"
            ) from None
        return server
    target = database_target(path)
    assert isinstance(target, Path)
    if not target.parent.is_dir():
        if not make_parent:
            raise DatabaseUnavailable(
                f"cannot open the database {target}: the directory {target.parent} does not "
                "exist (create it, or give --db a file in an existing directory)"
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot create the directory {target.parent} for the "
                f"database: {exc.strerror or exc}"
            ) from None
    existed = target.exists()
    pragmas = {**PRAGMAS, "busy_timeout": int(busy_timeout * 1000)}
    database = SqliteDatabase(
        str(target),
        pragmas=pragmas,
        timeout=busy_timeout,
        check_same_thread=False,
        autoconnect=True,
    )
    db.initialize(database)
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
        if migrate:
            apply_migrations(database)
    except (peewee.DatabaseError, sqlite3.DatabaseError, OSError) as exc:
        database.close()
        if not existed:  # nothing half-made left behind (a full disk, a read-only place)
            for leftover in (
                target,
                target.with_name(f"{target.name}-wal"),
                target.with_name(f"{target.name}-shm"),
            ):
                leftover.unlink(missing_ok=True)
        raise DatabaseUnavailable(explain(target, exc)) from None
    return database


def explain(path: Path, exc: BaseException) -> str:
    """One line for the user: why the database at ``path`` cannot be used, what to do."""
    text = str(exc).lower()
    where = f"the database {path}"
    if "not a database" in text or "malformed" in text:
        return (
            f"{path} is not an Expedito database (not an SQLite file, or damaged): give "
            "--db another file"
        )
    if _read_only(path) or "readonly" in text or "read-only" in text:
        return (
            f"cannot write to {where} (read-only file, directory or disk): make it "
            "writable, or give --db a file you can write"
        )
    if _disk_full(path) or "full" in text:
        return f"no space left on the disk of {where}: free some space and start again"
    if "locked" in text or "busy" in text:
        return (
            f"{where} is locked by another process writing to it (waited "
            f"{MIGRATION_WAIT:.0f} s): start again once it is done"
        )
    return f"cannot open {where}: {exc}"


def _read_only(path: Path) -> bool:
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return path.exists() and not os.access(path, os.W_OK)


def _disk_full(path: Path) -> bool:
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False


def apply_migrations(database: peewee.Database) -> list[str]:
    """Apply pending migrations in one IMMEDIATE transaction (PostgreSQL: under an advisory
    lock), so racing processes wait.

    Nothing to migrate: no write lock is taken (another process writing meanwhile does not
    delay the start). ``SchemaTooNew`` when the database has migrations this version does
    not know."""
    runner = Runner(database, directory=str(MIGRATIONS_DIR))
    status = runner.status()
    unknown = [m.name for m in status if m.path is None and m.applied]
    if unknown:
        ours = max((m.name for m in status if m.path is not None), default="none")
        raise SchemaTooNew(
            f"the database {shown(database.database)} has schema version {max(unknown)[:4]}, newer "
            f"than this Expedito knows ({ours[:4]}): use the newer Expedito that made it"
        )
    if all(m.applied for m in status):
        return []
    if not isinstance(database, SqliteDatabase):
        from store.postgres import migrating

        with migrating(database, MIGRATION_WAIT):
            return runner.up() or []
    waited = database.execute_sql("PRAGMA busy_timeout").fetchone()[0]
    database.execute_sql(f"PRAGMA busy_timeout = {int(MIGRATION_WAIT * 1000)}")
    try:
        with database.atomic("IMMEDIATE"):
            applied: list[str] = runner.up() or []
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {int(waited)}")
    return applied


def close_database() -> None:
    shared_reader.close()
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


@contextmanager
def thread_connection() -> Iterator[None]:
    """Around a thread's body: the thread's connection opened only if it uses the database
    (peewee's autoconnect), and closed at the end if it was (``db.connection_context()``
    opens one at once, for nothing when the thread reads through ``shared_reader``)."""
    try:
        yield
    finally:
        if db.obj is not None and not db.obj.is_closed():
            db.obj.close()


class SharedReader:
    """One connection of the bound database kept open for the short reads of threads that
    live too briefly to own one: an SFTP login's account lookup, an SFTP session's liveness
    checks. Opening a connection costs SQLite about 1 ms of CPU (its pragmas set, the whole
    schema parsed again at the first statement), PostgreSQL a connection and a login; a
    login used to open two. Shared by the process's threads under a lock (a read takes
    some microseconds); autocommit, each read sees what is committed when it runs. Opened
    again when the store is bound to another database, and once after an error (a
    PostgreSQL server restarted): a read that fails twice raises.

    Only for SQL built for the bound database (``query.sql()``), reads only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._database: peewee.Database | None = None
        self._conn: Any = None

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            for attempt in (1, 2):
                database = db.obj
                if database is None:
                    raise peewee.InterfaceError("the store is not bound to a database")
                if self._conn is None or self._database is not database:
                    self._close()
                    self._conn, self._database = database._connect(), database
                try:
                    cursor = self._conn.cursor()
                    try:
                        cursor.execute(sql, params)
                        return list(cursor.fetchall())  # all read: the read transaction ends
                    finally:
                        cursor.close()
                except Exception:
                    self._close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, self._conn, self._database = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to give back
                conn.close()


shared_reader = SharedReader()
"""The process's ``SharedReader``."""
