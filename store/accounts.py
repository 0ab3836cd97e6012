"""SFTP accounts as the server and the intake see them: provisioned channels of active senders."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from store.db import db
from store.keys import ProvisionedKey, provisioned_key
from store.models import ACTIVE, DELETED, SFTP, Application, Channel, ChannelApplication, Sender


@dataclass(frozen=True)
class Account:
    """One provisioned SFTP channel: who logs in, as which sender."""

    channel_id: int
    sender_id: int
    sender_number: int
    technical_user: str
    qualite_id: int


def _account(channel: Channel, sender: Sender) -> Account:
    return Account(channel.id, sender.id, sender.number, sender.technical_user, sender.qualite_id)


class Reader(Protocol):
    """Where a compiled query runs: the thread's own connection (``THREAD``) or the
    process's shared one (``store.db.shared_reader``, for threads that live too briefly to
    own a connection)."""

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class _ThreadConnection:
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(db.execute_sql(sql, params).fetchall())


THREAD: Reader = _ThreadConnection()
"""Run on the calling thread's connection (peewee's, opened if needed)."""


class _Compiled:
    """A query's SQL and parameters, built by peewee once for the bound database (it takes
    ~300 µs to build; SQLite runs the result in ~10 µs) with one parameter left to fill:
    ``build`` is called with ``sentinel`` where that parameter goes."""

    def __init__(self, build: Callable[[Any], Any], sentinel: Any) -> None:
        self._build = build
        self._sentinel = sentinel
        self._made: tuple[object, str, list[Any], int] | None = None

    def statement(self, value: Any) -> tuple[str, list[Any]]:
        made = self._made
        if made is None or made[0] is not db.obj:
            sql, params = self._build(self._sentinel).sql()
            made = self._made = (db.obj, sql, list(params), list(params).index(self._sentinel))
        _, sql, params, slot = made
        params = list(params)
        params[slot] = value
        return sql, params


def _account_rows(technical_user: Any) -> Any:
    return (
        Channel.select(
            Channel.id,
            Sender.id,
            Sender.number,
            Sender.technical_user,
            Sender.qualite,
            Channel.provisioned_key,
        )
        .join(Sender)
        .where((Sender.technical_user == technical_user) & _live_condition())
        .tuples()
    )


_ACCOUNT_ROWS = _Compiled(_account_rows, "\x00technical user\x00")


def find_account(technical_user: str, openssh_key: str, reader: Reader = THREAD) -> Account | None:
    """The account whose user name and *provisioned* key match, or None.

    ``openssh_key`` is "type base64" (a comment is ignored). Case matters in the user name.
    One indexed query (compiled once), on ``reader``.
    """
    parts = openssh_key.split()
    if len(parts) < 2:
        return None
    wanted = (parts[0], parts[1])
    for channel_id, sender_id, number, user, qualite_id, text in reader.fetchall(
        *_ACCOUNT_ROWS.statement(technical_user)
    ):
        key = (text or "").split()
        if len(key) >= 2 and (key[0], key[1]) == wanted:
            return Account(int(channel_id), int(sender_id), int(number), str(user), int(qualite_id))
    return None


def _live_condition() -> Any:
    """An SFTP channel that may log in: provisioned, and its sender active (``Sender``
    joined). The one definition of a live account, for every query below."""
    return (
        (Channel.kind == SFTP)
        & (Channel.status == ACTIVE)
        & Channel.provisioned_key.is_null(False)
        & (Sender.active == True)  # noqa: E712
    )


def _live_query(channel_id: int) -> Any:
    return (
        Channel.select(Channel.id)
        .join(Sender)
        .where((Channel.id == channel_id) & _live_condition())
        .limit(1)
    )


def account_is_live(channel_id: int) -> bool:
    """True while the channel is provisioned and its sender active (checked per request)."""
    return bool(_live_query(channel_id).exists())


_LIVE_QUERY = _Compiled(_live_query, -7_354_129)


def liveness_statement(channel_id: int) -> tuple[str, list[Any]]:
    """``account_is_live``'s query as SQL and parameters, to run many times (built by peewee
    once for the bound database: see ``_Compiled``).

    peewee builds a query in ~300 µs where SQLite runs the compiled one in ~5 µs, and the SFTP
    server checks before every request (~800 for a 200 MB upload).
    """
    return _LIVE_QUERY.statement(channel_id)


def is_live(channel_id: int, reader: Reader = THREAD) -> bool:
    """``account_is_live`` through the compiled statement, on ``reader``."""
    return bool(reader.fetchall(*liveness_statement(channel_id)))


LIVE_CHUNK = 500  # channel ids per query of ``live_channels``


def live_channels(channel_ids: Iterable[int]) -> set[int]:
    """Which of ``channel_ids`` may still log in (``account_is_live`` for many at once): one
    query per ``LIVE_CHUNK`` ids. The SFTP servers ask it for all their open sessions four times
    a second, so a revocation made on any node ends the sessions on every node within a second.
    """
    ids = sorted(set(channel_ids))
    column: Any = Channel.id  # an IntegerField (typed int on the model)
    live: set[int] = set()
    for start in range(0, len(ids), LIVE_CHUNK):
        query: Any = (
            Channel.select(Channel.id)
            .join(Sender)
            .where(column.in_(ids[start : start + LIVE_CHUNK]) & _live_condition())
            .tuples()
        )
        live.update(int(channel_id) for (channel_id,) in query)
    return live


def channel_certificate(channel_id: int) -> bytes | None:
    """The DER certificate registered on the channel (the one batch files must be signed with)."""
    row = Channel.get_or_none(Channel.id == channel_id)
    return bytes(row.certificate) if row is not None and row.certificate else None


def channel_file_codes(channel_id: int) -> frozenset[str]:
    """The file-name purposes (DMFA, DIMN, …) of the applications secured on the channel."""
    query = (
        Application.select(Application.file_codes)
        .join(ChannelApplication, on=ChannelApplication.application == Application.code)
        .join(Channel)
        .where((Channel.id == channel_id) & (Channel.status != DELETED))
    )
    return frozenset(code for app in query for code in app.file_codes.split(","))


def provisioned_accounts() -> list[Account]:
    """Every account that may log in now (provisioned SFTP channel, active sender), by user.

    For the intake at start-up: it looks in these homes for sets closed while it was down.
    """
    query = (
        Channel.select(Channel, Sender)
        .join(Sender)
        .where(_live_condition())
        .order_by(Sender.technical_user, Channel.id)
    )
    return [_account(channel, channel.sender) for channel in query]


def live_users() -> dict[str, int]:
    """``{technical user: sender id}`` of every account that may log in now; one light query
    (tuples, no rows) that the OpenSSH front runs each second to end revoked users' sessions."""
    query: Any = (
        Sender.select(Sender.technical_user, Sender.id)
        .join(Channel)
        .where(_live_condition())
        .tuples()
    )
    return {str(user): int(sender_id) for user, sender_id in query}


def live_keys() -> dict[str, tuple[ProvisionedKey, ...]]:
    """``{technical user: its provisioned keys}`` of every account that may log in now, in
    ``expedito authorized-keys``'s order (:mod:`store.keys`); one query, that the OpenSSH
    front runs each second to keep its key files."""
    query: Any = (
        Sender.select(Sender.technical_user, Sender.id, Channel.provisioned_key)
        .join(Channel)
        .where(_live_condition())
        .order_by(Channel.id)
        .tuples()
    )
    found: dict[str, tuple[ProvisionedKey, ...]] = {}
    for user, sender_id, text in query:
        key = provisioned_key(sender_id, text)
        if key is not None:
            found[str(user)] = (*found.get(str(user), ()), key)
    return found
