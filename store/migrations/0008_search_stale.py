"""Person search of a large scope (``store.scope_search``): which organisations changed, for
the search snapshots kept in memory.

``search_generation`` has one row, a counter; ``search_stale`` has one row per organisation
whose searchable roles changed, with the counter's value at that change. Triggers, in the
transaction of the change itself, mark an organisation when a role in it is given, changed or
taken away, when one of its persons' names or search text change, when a qualité moves to
another organisation or goes, and when its name changes (the hits are ordered by it). A
process holding a snapshot reads the rows newer than the counter it was built at, and renews
only what touches its scope.

SQLite: each change adds one to the counter (writers take turns: the order is the commit
order). PostgreSQL: a transaction takes the counter's next value once, at its first change,
and keeps its row lock until it commits, so the values are committed in order too (a reader
never sees a value while a lower one is still to come); marks are made by a plpgsql function.
"""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

from store.db import run_sql

TABLES = (
    "CREATE TABLE search_generation (value INTEGER NOT NULL)",
    "INSERT INTO search_generation (value) VALUES (0)",
    """CREATE TABLE search_stale (
        organisation_id INTEGER PRIMARY KEY,
        generation INTEGER NOT NULL)""",
    "CREATE INDEX search_stale_generation ON search_stale (generation)",
)

# SQLite: what marks the organisations the SELECT gives (``{orgs}``), in a trigger's body.
_SQLITE_MARK = (
    "UPDATE search_generation SET value = value + 1; "
    "INSERT INTO search_stale (organisation_id, generation) "
    "SELECT org, (SELECT value FROM search_generation) FROM ({orgs}) WHERE org IS NOT NULL "
    "ON CONFLICT (organisation_id) DO UPDATE SET generation = excluded.generation;"
)
_ROLE_ORG = "SELECT organisation_id AS org FROM qualite WHERE id = {row}.qualite_id"
_PERSON_ORGS = (
    "SELECT DISTINCT q.organisation_id AS org FROM role r JOIN qualite q ON q.id = r.qualite_id "
    "WHERE r.person_id = new.id"
)
_PERSON_CHANGED = (
    "old.search_text IS NOT new.search_text OR old.last_name IS NOT new.last_name "
    "OR old.first_name IS NOT new.first_name"
)
SQLITE_TRIGGERS = {
    "search_stale_role_insert": ("AFTER INSERT ON role", "", [_ROLE_ORG.format(row="new")]),
    "search_stale_role_delete": ("AFTER DELETE ON role", "", [_ROLE_ORG.format(row="old")]),
    "search_stale_role_update": (
        "AFTER UPDATE ON role",
        "",
        [_ROLE_ORG.format(row="old"), _ROLE_ORG.format(row="new")],
    ),
    "search_stale_person_update": ("AFTER UPDATE ON person", _PERSON_CHANGED, [_PERSON_ORGS]),
    "search_stale_qualite_update": (
        "AFTER UPDATE ON qualite",
        "old.organisation_id IS NOT new.organisation_id",
        ["SELECT old.organisation_id AS org", "SELECT new.organisation_id AS org"],
    ),
    "search_stale_qualite_delete": (
        "AFTER DELETE ON qualite",
        "",
        ["SELECT old.organisation_id AS org"],
    ),
    "search_stale_organisation_update": (
        "AFTER UPDATE ON organisation",
        "old.name IS NOT new.name",
        ["SELECT new.id AS org"],
    ),
    "search_stale_organisation_delete": (
        "AFTER DELETE ON organisation",
        "",
        ["SELECT old.id AS org"],
    ),
}

# PostgreSQL: the transaction's generation (taken once: ``expedito.search_generation``, a
# transaction-local setting), then the organisations marked with it.
POSTGRESQL = (
    """CREATE FUNCTION search_stale_mark(orgs integer[]) RETURNS void AS $$
    DECLARE
        gen integer := nullif(current_setting('expedito.search_generation', true), '')::integer;
    BEGIN
        IF gen IS NULL THEN
            UPDATE search_generation SET value = value + 1 RETURNING value INTO gen;
            PERFORM set_config('expedito.search_generation', gen::text, true);
        END IF;
        INSERT INTO search_stale (organisation_id, generation)
            SELECT DISTINCT org, gen FROM unnest(orgs) AS org WHERE org IS NOT NULL
            ON CONFLICT (organisation_id) DO UPDATE SET generation = excluded.generation;
    END $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION search_stale_role() RETURNS trigger AS $$
    BEGIN
        PERFORM search_stale_mark(ARRAY(SELECT q.organisation_id FROM qualite q
            WHERE (TG_OP <> 'INSERT' AND q.id = OLD.qualite_id)
               OR (TG_OP <> 'DELETE' AND q.id = NEW.qualite_id)));
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER search_stale_role AFTER INSERT OR UPDATE OR DELETE ON role
        FOR EACH ROW EXECUTE FUNCTION search_stale_role()""",
    """CREATE FUNCTION search_stale_person() RETURNS trigger AS $$
    BEGIN
        PERFORM search_stale_mark(ARRAY(SELECT q.organisation_id FROM role r
            JOIN qualite q ON q.id = r.qualite_id WHERE r.person_id = NEW.id));
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER search_stale_person AFTER UPDATE ON person FOR EACH ROW
        WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text
              OR OLD.last_name IS DISTINCT FROM NEW.last_name
              OR OLD.first_name IS DISTINCT FROM NEW.first_name)
        EXECUTE FUNCTION search_stale_person()""",
    """CREATE FUNCTION search_stale_qualite() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM search_stale_mark(ARRAY[OLD.organisation_id]);
        ELSE
            PERFORM search_stale_mark(ARRAY[OLD.organisation_id, NEW.organisation_id]);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER search_stale_qualite_update AFTER UPDATE ON qualite FOR EACH ROW
        WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id)
        EXECUTE FUNCTION search_stale_qualite()""",
    """CREATE TRIGGER search_stale_qualite_delete AFTER DELETE ON qualite FOR EACH ROW
        EXECUTE FUNCTION search_stale_qualite()""",
    """CREATE FUNCTION search_stale_organisation() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM search_stale_mark(ARRAY[OLD.id]);
        ELSE
            PERFORM search_stale_mark(ARRAY[NEW.id]);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER search_stale_organisation_update AFTER UPDATE ON organisation
        FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
        EXECUTE FUNCTION search_stale_organisation()""",
    """CREATE TRIGGER search_stale_organisation_delete AFTER DELETE ON organisation
        FOR EACH ROW EXECUTE FUNCTION search_stale_organisation()""",
)


def up(migrator: Any, db: Any) -> None:
    for statement in TABLES:
        run_sql(db, statement)
    if not isinstance(db, SqliteDatabase):
        for statement in POSTGRESQL:
            db.execute_sql(statement)
        return
    for name, (event, when, selects) in SQLITE_TRIGGERS.items():
        condition = f" WHEN {when}" if when else ""
        body = " ".join(_SQLITE_MARK.format(orgs=select) for select in selects)
        run_sql(db, f"CREATE TRIGGER {name} {event} FOR EACH ROW{condition} BEGIN {body} END")
