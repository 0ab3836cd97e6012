"""peewee without psycopg until the database is PostgreSQL.

peewee imports psycopg (and with it libpq, its own libcrypto, libssl, krb5 and ldap: some
130 modules and 5 MiB) whenever it is installed, and it is, for ``--db postgresql://…``; so
does ``playhouse.migrate`` (through ``playhouse.cockroachdb``, for CockroachDB). A SQLite
process never uses it, so :func:`import_peewee_without_psycopg` (run by
``store/__init__.py``, before any module of the store imports peewee) has both imported as
if psycopg and CockroachDB's module were not there, when something first imports them (a
meta path finder: nothing is imported before). ``store.postgres``, which only a PostgreSQL
target imports, calls :func:`load_psycopg` to import psycopg and give peewee what its own
import would have taken from it (its module's names and ``Psycopg3Adapter``'s transaction
states, as of peewee 4.5).

When something imported peewee before the store (a test, another tool), peewee has psycopg
already and both do nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

_HIDDEN = ("psycopg", "playhouse.cockroachdb")  # "import X" fails while they are None
_WITHOUT = frozenset({"peewee", "playhouse.migrate"})  # imported while they are hidden


class _Hiding(importlib.abc.Loader):
    """A module's own loader, run with ``_HIDDEN`` hidden."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        hidden = [name for name in _HIDDEN if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            self.loader.exec_module(module)
        finally:
            for name in hidden:
                del sys.modules[name]


class _Finder(importlib.abc.MetaPathFinder):
    """Finds peewee and ``playhouse.migrate`` as the path does, to load them with psycopg
    hidden; only their first import asks, and only until psycopg is loaded."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in _WITHOUT or "psycopg" in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Hiding(spec.loader)
        return spec


def import_peewee_without_psycopg() -> None:
    """From now on, peewee and ``playhouse.migrate`` are imported (when something first
    imports them) as if psycopg were not installed. Nothing is imported here: a process
    that never uses peewee (``expedito authorized-keys``) never loads it."""
    if "peewee" in sys.modules or "psycopg" in sys.modules:
        return
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


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
