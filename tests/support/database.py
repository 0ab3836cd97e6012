"""The database file the store is bound to (tests hand it to other processes)."""

from __future__ import annotations

from pathlib import Path

from store.db import db


def database_path() -> Path:
    """The file the proxy is bound to."""
    if db.obj is None:
        raise RuntimeError("database not opened")
    return Path(db.obj.database)
