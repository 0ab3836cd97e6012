"""Person search on PostgreSQL: a trigram index on ``person.search_text`` (pg_trgm), which
``LIKE '%word%'`` uses (``store.users.search_persons``). SQLite: nothing (one ``instr`` per
word; it has no such index)."""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

from store.db import run_sql


def up(migrator: Any, db: Any) -> None:
    if isinstance(db, SqliteDatabase):
        return
    run_sql(db, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
    run_sql(db, "CREATE INDEX person_search_trgm ON person USING gin (search_text gin_trgm_ops)")
