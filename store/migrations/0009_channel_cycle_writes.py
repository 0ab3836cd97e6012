"""The provisioning cycle writes channels without touching their indexes (issue 14).

The cycle sets ``status``, ``provisioned_key``, ``provisioned_at`` and ``activated_at`` on every
channel it handles (100,000 at once after a large registration). An index over any of those
columns, or whose ``WHERE`` reads one of them, must be rewritten for each row: SQLite updates
such an index entry, and PostgreSQL cannot make a HOT update (the new row version in the same
page, no index touched) and inserts into *every* index of the table.

- ``channel_status`` goes: no query needs it (the cycle reads along the primary key; the
  others look up a sender's channels through ``channel_sender``, or most of the table).
- ``channel_one_live_per_kind`` (one live channel per sender and kind) says "live" with
  ``deleted_at IS NULL`` instead of ``status != 'deleted'``: removing a channel sets both at
  once (``store.senders._revoke``, the only place that deletes one), and nothing brings a
  removed channel back. A removed row without ``deleted_at`` (none is written so) gets its
  ``created_at``, so that the index cannot count it as live.
- PostgreSQL: ``channel`` keeps 60 % of each page free (``fillfactor = 40``) for the cycle's
  new row versions, which are larger than the pending ones (the key is copied to
  ``provisioned_key``): with 70 only about a quarter of the updates stay in their page, with 40
  about 95 % of them (``bench/sync_cycle.py``, README). It applies to pages written from now
  on; ``VACUUM FULL channel`` rewrites the existing ones.
"""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

from store.db import run_sql


def up(migrator: Any, db: Any) -> None:
    run_sql(
        db,
        "UPDATE channel SET deleted_at = created_at "
        "WHERE status = 'deleted' AND deleted_at IS NULL",
    )
    run_sql(db, "DROP INDEX channel_one_live_per_kind")
    run_sql(
        db,
        "CREATE UNIQUE INDEX channel_one_live_per_kind ON channel (sender_id, kind) "
        "WHERE deleted_at IS NULL",
    )
    run_sql(db, "DROP INDEX channel_status")
    if not isinstance(db, SqliteDatabase):
        run_sql(db, "ALTER TABLE channel SET (fillfactor = 40)")
