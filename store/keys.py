"""The key sshd may accept for a technical user: ``expedito authorized-keys``'s one query.

sshd runs its ``AuthorizedKeysCommand`` at every login attempt, so this module stays small:
the standard library's ``sqlite3`` only (no peewee, no migrations), the database opened
read-only (``mode=ro``), one indexed query. The rule is :func:`store.accounts.find_account`'s
written in SQL — a provisioned SFTP channel of an active sender — and the tests check that
both agree. On PostgreSQL (a ``postgresql://`` URL) the same query through psycopg, in a
read-only session.
"""

from __future__ import annotations

import os
import sqlite3

TYPE_CHECKING = False  # ``typing`` itself is a tenth of this command's imports
if TYPE_CHECKING:
    from typing import Any

# ``store.models``'s values (SFTP, ACTIVE), not imported from there: that module loads
# peewee, four times this command's work. tests/test_openssh_keys.py checks they agree.
SFTP_KIND, ACTIVE_STATUS = "SFTP", "active"
OPTION = "restrict"

_QUERY = """
SELECT sender.id, channel.provisioned_key
FROM sender JOIN channel ON channel.sender_id = sender.id
WHERE sender.technical_user = ? AND sender.active = 1
  AND channel.kind = ? AND channel.status = ? AND channel.provisioned_key IS NOT NULL
ORDER BY channel.id
"""


class ProvisionedKey:
    """A live technical user's sender id and provisioned key (``type base64``); a plain
    class, not a dataclass nor a NamedTuple: ``dataclasses`` and ``typing`` load more than this
    command's work."""

    __slots__ = ("key", "sender_id")

    def __init__(self, sender_id: int, key: str) -> None:
        self.sender_id = sender_id
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProvisionedKey) and (self.sender_id, self.key) == (
            other.sender_id,
            other.key,
        )

    def __hash__(self) -> int:
        return hash((self.sender_id, self.key))

    def __repr__(self) -> str:
        return f"ProvisionedKey({self.sender_id!r}, {self.key!r})"


def _uri(path: str | os.PathLike[str]) -> str:
    """SQLite's read-only URI of ``path`` (what ``urllib.parse.quote`` would escape that
    SQLite reads: ``%``, ``?``, ``#``)."""
    text = os.path.abspath(path)
    for char, escaped in (("%", "%25"), ("?", "%3f"), ("#", "%23")):
        text = text.replace(char, escaped)
    return f"file:{text}?mode=ro"


def open_read_only(path: str | os.PathLike[str], busy_timeout: float = 2.0) -> Any:
    """The SQLite file at ``path``, read-only: a missing file is an error, never created; or
    the PostgreSQL database of a ``postgresql://`` URL, in a read-only session."""
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        import psycopg

        return psycopg.connect(
            path,
            autocommit=True,
            connect_timeout=max(1, int(busy_timeout)),
            options=f"-c default_transaction_read_only=on "
            f"-c statement_timeout={int(busy_timeout * 1000)}",
        )
    connection = sqlite3.connect(_uri(path), uri=True, timeout=busy_timeout, isolation_level=None)
    connection.execute("PRAGMA query_only = 1")
    return connection


def provisioned_keys(connection: Any, technical_user: str) -> list[ProvisionedKey]:
    """The keys sshd may accept for ``technical_user`` (case matters), comment dropped."""
    found = []
    query = _QUERY if isinstance(connection, sqlite3.Connection) else _QUERY.replace("?", "%s")
    for sender_id, text in connection.execute(query, (technical_user, SFTP_KIND, ACTIVE_STATUS)):
        key = provisioned_key(sender_id, text)
        if key is not None:
            found.append(key)
    return found


def provisioned_key(sender_id: int, text: object) -> ProvisionedKey | None:
    """A channel's provisioned key as sshd gets it (``type base64``, comment dropped); None
    when the text is not one."""
    fields = str(text).split()
    return ProvisionedKey(int(sender_id), f"{fields[0]} {fields[1]}") if len(fields) >= 2 else None


def authorized_line(key: ProvisionedKey, technical_user: str) -> str:
    """The ``authorized_keys`` line of ``key`` (no forwarding, no tty, no rc: ``restrict``),
    as ``expedito authorized-keys`` prints it and the front's key files hold it."""
    return f"{OPTION} {key.key} expedito:{technical_user}"
