"""The provisioning cycle's time for many pending SFTP channels, and what a home costs at login.

    python bench/sync_cycle.py [COUNT ...] [--repeat 3] [--logins 30]
                               [--backend sqlite|postgresql|both] [--db postgresql://…]
                               (default counts: 10000 50000 100000)

The cycle: each count runs ``--repeat`` times (median and best shown), each on a fresh
database (a SQLite file in a temporary directory; with ``--backend postgresql``, a database on
the ``--db`` server, else on a throwaway PostgreSQL 15 started for the bench); the time is
``run_cycle`` alone (lease, one transaction per chunk of 1,000). It makes no home: the homes
folder is checked empty afterwards. The last column compares each count with the first
(linear growth: the time grows as the count). The CPU column is the median CPU time of
the cycle: this process's, plus that of the PostgreSQL backend serving it (read from
``/proc``): on a machine shared with other work it moves less than the wall time. The load
average is the one after the count's runs.

The login: ``--logins`` accounts provisioned by a cycle, none with a home, served by the
embedded SFTP server on a loopback port. For each account in turn, OpenSSH's ``sftp`` logs in
twice (``ls``, then ``bye``): the first login makes the home and its six folders, the second
finds them (the pairs alternate, so the machine's load weighs on both alike). Printed: the
median client time of first and later logins and their difference, and the server's own time
in ``signature_checked`` (the session count, the home, the liveness statement), first against
later. Needs ``ssh-keygen`` and ``sftp`` (openssh-client).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFkZGVkIGZvciB0aGUgYmVuY2ggb25seSAwMDAwMDA bench"
SFTP = shutil.which("sftp") or "/usr/bin/sftp"


class Databases:
    """A fresh database for each run: a SQLite file in a temporary directory, or a database
    made on a PostgreSQL server (``--db postgresql://…``; ``--backend postgresql`` starts a
    throwaway one, ``tests.support.postgres``: fsync off, like the tests')."""

    def __init__(self, backend: str, url: str | None) -> None:
        self.backend = backend
        self.url = url
        self.server: Any = None
        self.made: list[str] = []
        if backend == "postgresql" and url is None:
            from tests.support.postgres import available, start_server

            why = available()
            if why:
                raise SystemExit(why)
            self.server = start_server()

    def fresh(self, work: Path) -> str:
        if self.backend == "sqlite":
            return str(work / "bench.sqlite3")
        if self.server is not None:
            url = str(self.server.fresh())
        else:
            import psycopg

            assert self.url is not None
            name = f"expedito_bench_{os.getpid()}_{len(self.made)}"
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            url = f"{self.url.rsplit('/', 1)[0]}/{name}"
        self.made.append(url)
        return url

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            return
        if self.server is not None:
            self.server.drop(url)
            return
        import psycopg

        assert self.url is not None
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def backend_cpu() -> float | None:
    """The CPU seconds (user and system) of the PostgreSQL backend serving this thread's
    connection, from ``/proc`` (None where it cannot be read)."""
    from store.db import execute

    pid = int(execute("SELECT pg_backend_pid()").fetchone()[0])
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_cycle(count: int, databases: Databases) -> tuple[float, float]:
    """The cycle's wall time, and its CPU time: this process's, plus the PostgreSQL backend's."""
    from store.db import close_database, execute, open_database
    from sync.cycle import run_cycle
    from sync.schedule import current_slot
    from tests.support.bulk import seed_pending_channels

    work = Path(tempfile.mkdtemp(prefix="expedito-cycle-"))
    target = databases.fresh(work)
    try:
        open_database(target)
        seed_pending_channels(count, KEY)
        if databases.backend == "postgresql":
            # the statistics autovacuum keeps (a minute after a bulk load): without them, the
            # planner takes the just-loaded table for a few rows and sorts all that is left
            # to find each chunk
            execute("ANALYZE")
        now = datetime.now(UTC)
        os.sync()  # the seeding's dirty pages are not the cycle's cost
        server = backend_cpu() if databases.backend == "postgresql" else None
        cpu = time.process_time()
        started = time.perf_counter()
        result = run_cycle(current_slot(now), work / "homes", lambda: now)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if server is not None:
            after = backend_cpu()
            cpu += (after - server) if after is not None else 0.0
        assert result.status == "done" and result.provisioned == count, result
        assert not any((work / "homes").iterdir()), "the cycle made homes"
        close_database()
        return elapsed, cpu
    finally:
        databases.drop(target)
        shutil.rmtree(work, ignore_errors=True)


def cycles(counts: list[int], repeat: int, databases: Databases) -> None:
    first: tuple[int, float] | None = None
    for count in counts:
        measured = [measure_cycle(count, databases) for _ in range(repeat)]
        runs = sorted(wall for wall, _ in measured)
        median = statistics.median(runs)
        cpu = statistics.median(cpu for _, cpu in measured)
        line = (
            f"{databases.backend:>10} {count:>7} pending channels: cycle median {median:6.2f} s "
            f"(min {runs[0]:.2f}, {median / count * 1e6:5.1f} µs each; CPU {cpu:.2f} s, "
            f"load {os.getloadavg()[0]:.1f})"
        )
        if first is None:
            first = (count, median)
        else:
            line += f"; x{median / first[1]:.1f} the time for x{count / first[0]:.0f} the channels"
        print(line, flush=True)


def logins(count: int) -> None:
    from store.db import close_database, open_database
    from sync.cycle import run_cycle
    from sync.homes import home_of
    from sync.hostkey import load_or_create_host_key
    from sync.schedule import current_slot
    from sync.sftp_server import SessionServer, SFTPService
    from tests.support.bulk import seed_pending_channels, user_name

    work = Path(tempfile.mkdtemp(prefix="expedito-login-"))
    timings: list[tuple[str, float]] = []
    original: Callable[..., Any] = SessionServer.signature_checked

    def timed(self: SessionServer, verified: bool) -> Any:
        started = time.perf_counter()
        try:
            return original(self, verified)
        finally:
            timings.append((self.user, time.perf_counter() - started))

    service = None
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "key")], check=True
        )
        open_database(work / "bench.sqlite3")
        seed_pending_channels(count, (work / "key.pub").read_text().strip())
        now = datetime.now(UTC)
        homes = work / "homes"
        assert run_cycle(current_slot(now), homes, lambda: now).provisioned == count
        assert not any(homes.iterdir())
        SessionServer.signature_checked = timed  # type: ignore[method-assign]
        service = SFTPService(homes, load_or_create_host_key(work / "host_key"), port=0)
        service.start()
        port = service.address[1]
        first: list[float] = []
        later: list[float] = []
        server_first: list[float] = []
        server_later: list[float] = []
        for index in range(count):
            user = user_name(index)
            for sample, server_sample in ((first, server_first), (later, server_later)):
                started = time.perf_counter()
                done = subprocess.run(
                    [SFTP, "-b", "-", "-i", str(work / "key"), "-P", str(port),
                     "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
                     f"{user}@127.0.0.1"],
                    input="ls\nbye\n", capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                sample.append(time.perf_counter() - started)
                assert done.returncode == 0 and "OUTTEST" in done.stdout, done.stderr
                server_sample.append(next(t for u, t in reversed(timings) if u == user))
            assert (home_of(homes, user) / "OUTTEST-S").is_dir()

        def ms(values: list[float]) -> str:
            return f"{statistics.median(values) * 1e3:7.2f} ms"

        print(f"{count} new accounts, each logging in twice with OpenSSH sftp (ls, bye):")
        print(
            f"  client time, first login (makes the home): median {ms(first)}; "
            f"later login: median {ms(later)}; "
            f"difference {(statistics.median(first) - statistics.median(later)) * 1e3:+.2f} ms"
        )
        print(
            f"  server's login step (signature_checked), first: median {ms(server_first)} "
            f"(max {max(server_first) * 1e3:.2f}); later: median {ms(server_later)} "
            f"(max {max(server_later) * 1e3:.2f})",
            flush=True,
        )
    finally:
        SessionServer.signature_checked = original  # type: ignore[method-assign]
        if service is not None:
            service.stop()
        close_database()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("counts", nargs="*", type=int, default=[10_000, 50_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--logins", type=int, default=30, help="0: no login measure")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="sqlite",
        help="postgresql without --db: a throwaway PostgreSQL 15 (Debian's postgresql-15)",
    )  # fmt: skip
    parser.add_argument(
        "--db", help="postgresql://USER@HOST:PORT/DB: make the runs' databases there"
    )
    args = parser.parse_args(argv)
    if args.db and args.backend == "sqlite":
        args.backend = "postgresql"
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        databases = Databases(backend, args.db if backend == "postgresql" else None)
        try:
            cycles(args.counts, args.repeat, databases)
        finally:
            databases.close()
    if args.logins:
        logins(args.logins)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
