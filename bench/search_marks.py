#!/usr/bin/env python3
"""What the search marks (``search_stale``) cost PostgreSQL's writers, taking the counter at a
transaction's first change (migration 0010) or at its commit (migration 0011), in one run.

    .venv/bin/python bench/search_marks.py [--rounds 3] [--threads 4] [--seconds 5] [--hot N]

A throwaway PostgreSQL 15 (``tests.support.postgres``: fsync off, 127.0.0.1) with two
databases of 3,000 organisations (one qualité each) and 9,000 persons (three roles each):
"0011" migrated as the code is, "0010" the same with migration 0011's two changes undone
(the marking function of migration 0010 back, the commit's trigger dropped). Each round, on
each side in turn (the sides alternated, so the machine's load weighs on both alike):

- writers: ``--threads`` connections, for ``--seconds``, each making transactions that rename
  two random persons (a name, as *Données personnelles* does; of the first ``--hot``, default
  all 9,000), always in the order of their ids: deadlock-free without the marks. Printed:
  the transactions committed, those failed by ``deadlock detected`` (PostgreSQL finds one
  after ``deadlock_timeout``, 1 s, and fails one transaction: rolled back here, what the
  application would have to retry), per second;
- bulk: 3,000 roles given in one statement (one person in every qualité), then taken away.

The load average is printed beside each figure (2 cores shared with other work).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ORGS = 3000


def fill(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO organisation (id, name, kbo, created_on) SELECT i, 'ORG ' || i, "
            "lpad(i::text, 10, '0'), '2020-01-01' FROM generate_series(1, %s) i",
            (ORGS,),
        )
        conn.execute(
            "INSERT INTO qualite (id, organisation_id, kind, created_on) SELECT i, i, "
            "'employeur_onss', '2020-01-01' FROM generate_series(1, %s) i",
            (ORGS,),
        )
        conn.execute(
            "INSERT INTO person (id, login, password_hash, first_name, last_name, email, "
            "password_changed_at, created_at, search_text) SELECT i, 'p' || i, 'x', 'First', "
            "'Last' || i, '', now(), now(), 'last' || i || ' first p' || i "
            "FROM generate_series(1, %s) i",
            (ORGS * 3,),
        )
        conn.execute(
            "INSERT INTO role (person_id, qualite_id, role) SELECT i, (i - 1) / 3 + 1, "
            "'utilisateur' FROM generate_series(1, %s) i",
            (ORGS * 3,),
        )
        conn.execute(
            "INSERT INTO person (id, login, password_hash, first_name, last_name, email, "
            "password_changed_at, created_at, search_text) VALUES (%s, 'bulk', 'x', 'B', 'B', "
            "'', now(), now(), 'b')",
            (ORGS * 3 + 1,),
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def as_0010(url: str) -> None:
    """Migration 0011's changes undone: the counter taken at the first change again."""
    import importlib

    import psycopg

    marks_0010 = importlib.import_module("store.migrations.0010_search_stale_statements")
    with psycopg.connect(url) as conn:
        conn.execute(marks_0010.STATEMENTS[0])  # CREATE OR REPLACE search_stale_mark
        conn.execute("DROP TRIGGER search_stale_commit ON search_pending")


def writers(url: str, threads: int, seconds: float, seed: int, hot: int) -> tuple[int, int, float]:
    """(transactions committed, failed by a deadlock, seconds): ``threads`` writers for
    ``seconds`` (the transaction under way then finishes)."""
    import psycopg
    from psycopg import errors

    done, deadlocks = [0] * threads, [0] * threads
    start = threading.Barrier(threads + 1)

    def work(n: int) -> None:
        rnd = random.Random(seed * 100 + n)
        with psycopg.connect(url, options="-c lock_timeout=30000") as conn:
            start.wait()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                persons = sorted(rnd.sample(range(1, hot + 1), 2))
                try:
                    for person in persons:
                        name = f"N{rnd.randrange(10**6)}"
                        conn.execute(
                            "UPDATE person SET first_name = %s, search_text = %s WHERE id = %s",
                            (name, f"last{person} {name.lower()} p{person}", person),
                        )
                        time.sleep(0.001)  # the application's work between two statements
                    conn.commit()
                    done[n] += 1
                except errors.DeadlockDetected:
                    conn.rollback()
                    deadlocks[n] += 1

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in pool:
        thread.join()
    return sum(done), sum(deadlocks), time.perf_counter() - t0


def bulk(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        conn.execute(
            "INSERT INTO role (person_id, qualite_id, role) SELECT %s, i, 'utilisateur' "
            "FROM generate_series(1, %s) i",
            (ORGS * 3 + 1, ORGS),
        )
        conn.commit()
        took = time.perf_counter() - t0
        conn.execute("DELETE FROM role WHERE person_id = %s", (ORGS * 3 + 1,))
    return took


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="of writers, each side")
    parser.add_argument(
        "--hot", type=int, default=ORGS * 3, help="the writers rename the first HOT persons"
    )
    args = parser.parse_args()
    from store.db import close_database, open_database
    from tests.support.postgres import TEMPLATE, start_server

    server: Any = start_server()
    try:
        urls = {}
        for side in ("0010", "0011"):
            urls[side] = server.fresh(TEMPLATE)
            open_database(urls[side])  # migrated as the code is
            close_database()
            fill(urls[side])
        as_0010(urls["0010"])
        bulks: dict[str, list[float]] = {"0010": [], "0011": []}
        for n in range(args.rounds):
            for side in ("0010", "0011") if n % 2 == 0 else ("0011", "0010"):
                committed, deadlocks, took = writers(
                    urls[side], args.threads, args.seconds, n, args.hot
                )
                bulks[side].append(bulk(urls[side]))
                print(
                    f"round {n + 1}, marks of {side}: writers: {committed} committed, "
                    f"{deadlocks} failed by a deadlock, {took:.2f} s "
                    f"({committed / took:.0f}/s); bulk 3,000 roles "
                    f"{bulks[side][-1] * 1000:.0f} ms  (load {load()})",
                    flush=True,
                )
        for side, times in bulks.items():
            median = statistics.median(times) * 1000
            print(f"marks of {side}: bulk 3,000 roles, median {median:.0f} ms")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
