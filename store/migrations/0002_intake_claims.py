"""Intake claims: a set is claimed in the database (owner, lease) before it is read."""

from __future__ import annotations

from typing import Any

from store.db import run_sql

STATEMENTS = [
    """CREATE TABLE intake_claim (
        key TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        lease_until REAL NOT NULL)""",
]


def up(migrator: Any, db: Any) -> None:
    for statement in STATEMENTS:
        run_sql(db, statement)
