"""The search marks on PostgreSQL take the counter at commit, not at a transaction's first
change: no deadlock between two transactions changing rows in opposite orders.

Before: a transaction's first change took ``search_generation``'s next value, its row lock
held until commit. T1 changes row A (and takes the counter), T2 changes row B and waits for
the counter, T1 then changes row B and waits for T2: a deadlock, which PostgreSQL ends by
failing one of them (``deadlock detected``), where without the marks T1 would only have
waited for T2's commit.

Now the triggers only note the organisations a statement changed: one row in
``search_pending`` (a plain insert, which waits for no one). A constraint trigger on that
table, deferred to the commit, takes the counter's next value (once per transaction) and
marks the organisations in ``search_stale`` with it. At that point the transaction has made
all its changes and holds all its row locks: the counter is the last lock it takes, and the
one holding it (committing) waits for no one — ``search_stale`` and the counter are written
only there — so no wait can close a cycle through it. What the readers rely on stays: the
values are taken in the order of the commits (the counter's row held until the commit), so a
reader that saw a value never sees a lower one commit later. The pending rows go at the
commit that wrote them (``UNLOGGED``: no WAL for what lives one transaction).

Nothing must make these triggers fire before the commit (``SET CONSTRAINTS ALL IMMEDIATE``
would take the counter back in the middle of a transaction). SQLite: nothing (one writer at a
time: its triggers count in commit order already).
"""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

STATEMENTS = (
    """CREATE UNLOGGED TABLE search_pending (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        orgs integer[] NOT NULL)""",
    # What every trigger of migrations 0008 and 0010 calls: the organisations noted.
    """CREATE OR REPLACE FUNCTION search_stale_mark(orgs integer[]) RETURNS void AS $$
    BEGIN
        IF coalesce(cardinality(array_remove(orgs, NULL)), 0) = 0 THEN
            RETURN;
        END IF;
        INSERT INTO search_pending (orgs) VALUES (orgs);
    END $$ LANGUAGE plpgsql""",
    # At the commit: the transaction's generation (taken once: ``expedito.search_generation``,
    # a transaction-local setting), the organisations marked with it, the note gone.
    """CREATE FUNCTION search_stale_commit() RETURNS trigger AS $$
    DECLARE
        gen integer := nullif(current_setting('expedito.search_generation', true), '')::integer;
    BEGIN
        IF gen IS NULL THEN
            UPDATE search_generation SET value = value + 1 RETURNING value INTO gen;
            PERFORM set_config('expedito.search_generation', gen::text, true);
        END IF;
        INSERT INTO search_stale (organisation_id, generation)
            SELECT DISTINCT org, gen FROM unnest(NEW.orgs) AS org WHERE org IS NOT NULL
            ON CONFLICT (organisation_id) DO UPDATE SET generation = excluded.generation;
        DELETE FROM search_pending WHERE id = NEW.id;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE CONSTRAINT TRIGGER search_stale_commit AFTER INSERT ON search_pending
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION search_stale_commit()""",
)


def up(migrator: Any, db: Any) -> None:
    if isinstance(db, SqliteDatabase):
        return
    for statement in STATEMENTS:
        db.execute_sql(statement)
