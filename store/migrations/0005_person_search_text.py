"""Person search without accents nor case: ``person.search_text`` (``store.text``), filled
for the persons already there."""

from __future__ import annotations

from typing import Any

from store.db import run_sql
from store.text import person_search_text


def up(migrator: Any, db: Any) -> None:
    run_sql(db, "ALTER TABLE person ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
    rows = run_sql(db, "SELECT id, last_name, first_name, login, email FROM person").fetchall()
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        db.cursor().executemany(
            f"UPDATE person SET search_text = {db.param} WHERE id = {db.param}",
            [(person_search_text(ln, fn, lg, em or ""), pid) for pid, ln, fn, lg, em in chunk],
        )
