"""A throwaway PostgreSQL 15 for the tests, from Debian's binaries (package postgresql-15).

One server per test session (per xdist worker): ``initdb`` in a temporary directory, listening
on 127.0.0.1 only (a free port; its unix socket in that directory), durability off (fsync: a
test database dies with the run), stopped and removed at the end. As root, the server runs as
the ``postgres`` user (PostgreSQL refuses root), the directory given to it.

A migrated template database is made once, and one with the demo data set besides
(``store.demo.seed_demo``: its password hashes cost a second a test); each test gets its own
database copied from one of them (``CREATE DATABASE … TEMPLATE``: ~0.1 s), dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.network import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "expedito_template"
DEMO_TEMPLATE = "expedito_demo_template"  # TEMPLATE with the demo data set
START_WAIT = 60  # seconds for pg_ctl to see the server up (a loaded machine)


def available() -> str | None:
    """None when a server can be started here, else why not (one line)."""
    if not (PG_BIN / "initdb").is_file():
        return f"PostgreSQL 15 is not installed ({PG_BIN}/initdb): apt-get install postgresql-15"
    return None


def _as_server_user() -> dict[str, Any]:
    """``subprocess`` arguments that run a command as the server's owner."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": pwd.getpwnam("postgres").pw_gid}


@dataclass
class PostgresServer:
    root: Path
    port: int = 0
    user: str = "postgres"
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, name: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        owner = _as_server_user()
        if owner:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        subprocess.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            **owner,
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
                "-c shared_buffers=32MB",
                "-c log_min_messages=warning",
            ]
        )
        for _attempt in range(5):  # the free port may be taken meanwhile: another one
            self.port = free_port()
            started = subprocess.run(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    f"-p {self.port} {options}",
                    "-w",
                    "-t",
                    str(START_WAIT),
                    "start",
                ],
                capture_output=True,
                timeout=START_WAIT + 30,
                **owner,
            )
            if started.returncode == 0:
                break
        else:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr!r}\n{log}")
        self._make_template()

    def admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10)

    def _make_template(self) -> None:
        from store.db import close_database, open_database

        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        open_database(self.url(TEMPLATE))
        close_database()
        from store.demo import seed_demo

        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {DEMO_TEMPLATE} TEMPLATE {TEMPLATE}")
        open_database(self.url(DEMO_TEMPLATE))
        seed_demo()
        close_database()

    def fresh(self, template: str = TEMPLATE) -> str:
        """A new database, migrated (a copy of ``template``); its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database of ``url``, ending the connections left to it."""
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        subprocess.run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            **_as_server_user(),
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """A running server in a new temporary directory (under /tmp: the ``postgres`` user must
    reach it, which pytest's per-user 0700 directory would not let it)."""
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="expedito-pg-")))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
