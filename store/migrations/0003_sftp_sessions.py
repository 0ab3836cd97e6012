"""Live SFTP sessions, published by the servers for the operators (``store.sessions``)."""

from __future__ import annotations

from typing import Any

from store.db import run_sql

STATEMENTS = [
    """CREATE TABLE sftp_session (
        id TEXT PRIMARY KEY,
        server TEXT NOT NULL,
        node TEXT NOT NULL,
        pid INTEGER NOT NULL,
        technical_user TEXT NOT NULL,
        sender_number INTEGER NOT NULL,
        address TEXT NOT NULL,
        started_at REAL NOT NULL,
        bytes_in INTEGER NOT NULL DEFAULT 0,
        bytes_out INTEGER NOT NULL DEFAULT 0,
        current_file TEXT NOT NULL DEFAULT '',
        seen_at REAL NOT NULL,
        end_requested_at REAL,
        end_requested_by TEXT)""",
    "CREATE INDEX sftp_session_server ON sftp_session (server)",
]


def up(migrator: Any, db: Any) -> None:
    for statement in STATEMENTS:
        run_sql(db, statement)
