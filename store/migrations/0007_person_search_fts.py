"""Person search on SQLite: ``person_search``, an FTS5 table with the ``trigram`` tokenizer over
``person.search_text`` (external content: the text stays in ``person``), kept in step by
triggers; a phrase ``MATCH`` of three characters or more finds the persons whose text contains
it through the index (``store.users.search_persons``). PostgreSQL: nothing (its trigram index
on ``person.search_text``, migration 0006, serves the same)."""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

from store.db import run_sql


def up(migrator: Any, db: Any) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    run_sql(
        db,
        "CREATE VIRTUAL TABLE person_search USING fts5("
        "search_text, content='person', content_rowid='id', tokenize='trigram')",
    )
    run_sql(db, "INSERT INTO person_search(person_search) VALUES ('rebuild')")
    run_sql(
        db,
        "CREATE TRIGGER person_search_insert AFTER INSERT ON person BEGIN "
        "INSERT INTO person_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    )
    run_sql(
        db,
        "CREATE TRIGGER person_search_delete AFTER DELETE ON person BEGIN "
        "INSERT INTO person_search(person_search, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END",
    )
    run_sql(
        db,
        "CREATE TRIGGER person_search_update AFTER UPDATE OF search_text ON person BEGIN "
        "INSERT INTO person_search(person_search, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO person_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    )
