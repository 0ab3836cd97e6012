#!/usr/bin/env python3
"""Rechercher utilisateurs / Utilisateurs on a large database.

Generates (once, cached in /tmp) a database with 100,000 organisations (one qualité each) and
300,000 persons (three roles an organisation), plus one manager who is gestionnaire local of
200 organisations (a social secretariat's manager). Then times, in this one run:
- ``users.search_persons`` for 500 queries (names, logins, e-mail fragments, one to three
  words, some with no hit), printed as median and 95th percentile;
- ``users.users_of`` (the Utilisateurs page load) for 500 qualités.
Goal (issue 7): at most 20 ms per search at the 95th percentile.

    .venv/bin/python bench/search.py [--fresh]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store import users
from store.db import db, open_database
from store.models import Organisation, Person, Qualite, Role
from store.passwords import hash_password
from store.rules import kbo_check_digits
from store.text import person_search_text

ORGS, PERSONS, MANAGED = 100_000, 300_000, 200
FIRST = [
    "Anne",
    "Bart",
    "Chloé",
    "Dirk",
    "Els",
    "Fien",
    "Guy",
    "Hanne",
    "Ilse",
    "Jan",
    "Karin",
    "Luc",
    "Marie",
    "Nico",
    "Olga",
    "Pieter",
    "Quentin",
    "Rita",
    "Sofie",
    "Tom",
]
LAST = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Leroy",
    "Renard",
    "Collin",
    "Vermeulen",
]


def kbo(n: int) -> str:
    first8 = 10_000_000 + n  # starts with 1, a valid first digit
    return f"{first8:08d}{kbo_check_digits(first8):02d}"


def generate(path: Path) -> None:
    if path.exists():
        path.unlink()
    open_database(path)
    rnd = random.Random(7)
    hashed = hash_password("bench-password-1")
    now, today = datetime(2026, 1, 1), date(2020, 1, 1)
    with db.atomic():
        for start in range(0, ORGS, 5000):
            Organisation.insert_many(
                [
                    {
                        "id": i + 1,
                        "name": f"ORG {i:06d} {rnd.choice(LAST).upper()}",
                        "kbo": kbo(i),
                        "created_on": today,
                    }
                    for i in range(start, start + 5000)
                ]
            ).execute()
            Qualite.insert_many(
                [
                    {
                        "id": i + 1,
                        "organisation": i + 1,
                        "kind": "employeur_onss",
                        "created_on": today,
                    }
                    for i in range(start, start + 5000)
                ]
            ).execute()
        for start in range(0, PERSONS, 5000):
            rows = []
            for i in range(start, start + 5000):
                first, last = rnd.choice(FIRST), rnd.choice(LAST)
                login = f"{first.lower()}.{last.lower()}{i}"
                last_name = f"{last}{'' if i % 3 else '-' + rnd.choice(LAST)}"
                email = f"{login}@example.be"
                rows.append(
                    {
                        "id": i + 1,
                        "login": login,
                        "password_hash": hashed,
                        "first_name": first,
                        "last_name": last_name,
                        "email": email,
                        "password_changed_at": now,
                        "created_at": now,
                        "search_text": person_search_text(last_name, first, login, email),
                    }
                )
            Person.insert_many(rows).execute()
            Role.insert_many(
                [
                    {
                        "person": i + 1,
                        "qualite": i // 3 + 1,
                        "role": ("gestionnaire_local", "co_gestionnaire_local", "utilisateur")[
                            i % 3
                        ],
                    }
                    for i in range(start, start + 5000)
                ]
            ).execute()
        manager = Person.create(
            login="bench.manager",
            password_hash=hashed,
            first_name="Bench",
            last_name="Manager",
            password_changed_at=now,
            created_at=now,
        )
        Role.insert_many(
            [
                {"person": manager.id, "qualite": q, "role": "co_gestionnaire_local"}
                for q in rnd.sample(range(1, ORGS + 1), MANAGED)
            ]
        ).execute()
    db.execute_sql("ANALYZE")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="regenerate the database")
    parser.add_argument("--db", default="/tmp/expedito-bench-search.sqlite3")
    args = parser.parse_args()
    path = Path(args.db)
    if args.fresh or not path.exists():
        t0 = time.perf_counter()
        generate(path)
        print(
            f"generated {ORGS:,} organisations, {PERSONS:,} persons in "
            f"{time.perf_counter() - t0:.1f} s"
        )
    open_database(path)
    manager = Person.get(Person.login == "bench.manager").id
    rnd = random.Random(11)
    queries = (
        [rnd.choice(LAST)[:k] for k in (3, 4, 5) for _ in range(60)]
        + [rnd.choice(FIRST).lower() for _ in range(100)]
        + [f"{rnd.choice(FIRST)} {rnd.choice(LAST)}" for _ in range(100)]
        + ["example.be", "zzzz", "@example", "ma", "x y z"] * 20
        + ["chloe", "CHLOÉ", "Chloe peeters", "éls", "müller"] * 4
    )
    users.search_persons(manager, "warm-up")
    times, hits = [], 0
    for text in queries:
        t0 = time.perf_counter()
        page = users.search_persons(manager, text)
        times.append((time.perf_counter() - t0) * 1000)
        hits += len(page.hits)
    load = []
    managed = [r.qualite_id for r in Role.select().where(Role.person == manager)]
    sample = [rnd.randrange(1, ORGS + 1) for _ in range(500)]
    for q in sample:
        Role.insert(person=manager, qualite=q, role="utilisateur").on_conflict_ignore().execute()
    for q in sample:
        t0 = time.perf_counter()
        users.users_of(manager, q)
        load.append((time.perf_counter() - t0) * 1000)
    p95 = percentile(times, 95)
    print(
        f"search: {len(times)} queries over {len(managed)} managed organisations, {hits} hits shown"
    )
    print(
        f"search: median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, "
        f"max {max(times):.2f} ms  (goal p95 <= 20 ms: ratio {p95 / 20:.2f})"
    )
    print(
        f"Utilisateurs page load: median {statistics.median(load):.2f} ms, "
        f"p95 {percentile(load, 95):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
