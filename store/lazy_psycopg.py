"""peewee without psycopg until the database is PostgreSQL.

peewee imports psycopg (and with it libpq, its own libcrypto, libssl, krb5 and ldap: some
130 modules and 5 MiB) whenever it is installed, and it is, for ``--db postgresql://…``; so
does ``playhouse.migrate`` (through ``playhouse.cockroachdb``, for CockroachDB). A SQLite
process never uses it, so :func:`import_peewee` (run by ``store/__init__.py``, before any
module of the store imports peewee) imports both as if psycopg and CockroachDB's module were
not there. ``store.postgres``, which only a PostgreSQL target imports, calls
:func:`load_psycopg` to import psycopg and give peewee what its own import would have taken
from it (its module's names and ``Psycopg3Adapter``'s transaction states, as of peewee 4.5).

When something imported peewee before the store (a test, another tool), peewee has psycopg
already and both do nothing.
"""

from __future__ import annotations

import sys
from typing import Any

_HIDDEN = ("psycopg", "playhouse.cockroachdb")  # "import X" fails while they are None


def import_peewee() -> None:
    """Import peewee and ``playhouse.migrate`` with ``import psycopg`` failing, as when it
    is not installed."""
    if "peewee" in sys.modules or "psycopg" in sys.modules:
        return
    for name in _HIDDEN:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import peewee  # noqa: F401
        import playhouse.migrate  # noqa: F401
    finally:
        for name in _HIDDEN:
            del sys.modules[name]


def load_psycopg() -> None:
    """Import psycopg and hand peewee what its import would have taken from it."""
    import peewee

    module: Any = peewee  # names peewee sets at its import, unknown to its stubs
    if module.psycopg is not None:
        return
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.types.json import Json, Jsonb

    module.psycopg = psycopg
    module.TransactionStatus = TransactionStatus
    module.Json_pg3 = Json
    module.Jsonb_pg3 = Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN
