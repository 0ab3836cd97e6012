"""Intake retries: sets whose work failed and waits for another attempt (``store.retries``)."""

from __future__ import annotations

from typing import Any

from store.db import run_sql

STATEMENTS = [
    """CREATE TABLE intake_retry (
        key TEXT PRIMARY KEY,
        technical_user TEXT NOT NULL,
        sender_number INTEGER NOT NULL,
        folder TEXT NOT NULL,
        name TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        temporary INTEGER NOT NULL,
        last_error TEXT NOT NULL,
        first_failed_at REAL NOT NULL,
        last_failed_at REAL NOT NULL,
        next_try REAL NOT NULL,
        owner TEXT NOT NULL)""",
]


def up(migrator: Any, db: Any) -> None:
    for statement in STATEMENTS:
        run_sql(db, statement)
