"""*Rechercher utilisateurs* for a manager of many organisations: the scope kept in memory.

A manager of thousands of organisations (a social secretariat) sees tens of thousands of roles;
a common word (a last name's first letters, ``example.be``) matches most of them, and no index
spares the database looking up every one of those roles' persons (README, *Search*). For such a
manager (``LARGE_SCOPE`` manager roles or more) a process keeps a :class:`Snapshot` of the scope:
every role's search text (``person.search_text``) in one string, in the order the hits are shown,
which a search scans with ``str.find`` (C speed) and stops once it has what the page and the
capped total need.

The tables stay the one source: a snapshot is what they held at a generation. The triggers of
migration 0008 mark, in the transaction of each change, the organisations whose roles, persons'
names or name changed (``search_stale``, with the counter ``search_generation``). Before each
search the snapshot's process reads the marks newer than its generation (one indexed query,
usually no row): marks outside its scope only move the generation on; marks in it (or an
organisation it now manages) renew those organisations' entries in place (unless a large
part of the scope changed: then the whole snapshot is built again). So every process and
node — ``serve`` groups, TUI sessions — sees the other's changes at its next search, on
SQLite and on PostgreSQL alike.

Snapshots are built for large scopes only: in the background when such a manager logs in
(:func:`prepare`; a search made before it is ready queries the database meanwhile), else at
their first search; at most ``KEEP`` are kept per database (the most recently used), in the
process that searched, and one is built at a time.

PostgreSQL: the counter's next value is taken at the commit of each change (migration 0011),
so that two transactions changing rows in opposite orders never wait for each other through
it; the values are committed in the counter's order on both backends.
"""

from __future__ import annotations

import logging
import threading
import weakref
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, replace
from itertools import accumulate, repeat
from operator import add, itemgetter
from typing import Any

from store.db import db, execute, is_postgresql, thread_connection
from store.models import MANAGER_ROLES

LARGE_SCOPE = 500  # manager roles from which a manager's scope is kept in memory
PATCH_MAX = 200  # organisations changed since the last search: their entries read in one query
REBUILD_SHARE = 4  # more than this part of the scope's organisations changed: built anew
REBUILD_AFTER = 50_000  # organisations changed anywhere since the last search: built anew
CHUNK = 1000  # organisations' ids given to one query at most
KEEP = 4  # snapshots kept per database and process (the most recently used)
SAMPLE = 200_000  # characters of the text in which each word's frequency is estimated
FIND_MAX = 32  # organisations leaving a snapshot looked for one by one (more: one pass)

log = logging.getLogger("expedito.search")

# How the hits are ordered: lower(last name), lower(first name), organisation name, role id
# (``store.users.search_persons`` orders its query the same way).
Key = tuple[str, str, str, int]
Row = tuple[Key, int, str]  # key, organisation id, search text

_ENTRIES = """SELECT r.id, q.organisation_id, lower(p.last_name), lower(p.first_name), o.name,
    p.search_text
  FROM role r JOIN qualite q ON q.id = r.qualite_id JOIN organisation o ON o.id = q.organisation_id
  JOIN person p ON p.id = r.person_id
  WHERE q.organisation_id IN ({managed})"""
_MANAGED = """SELECT q.organisation_id FROM role r JOIN qualite q ON q.id = r.qualite_id
  WHERE r.person_id = ? AND r.role IN (?, ?)"""
# Which of some organisations the actor manages: from those organisations' qualités, each
# looked up in the actor's roles (the unique index on person and qualité), not from the
# actor's thousands of roles.
_MANAGED_AMONG = """SELECT DISTINCT q.organisation_id FROM qualite q
  WHERE q.organisation_id IN ({organisations}) AND EXISTS (SELECT 1 FROM role r
  WHERE r.person_id = ? AND r.qualite_id = q.id AND r.role IN (?, ?))"""


@dataclass(frozen=True)
class Snapshot:
    """A manager's scope as of ``generation``: one entry per role, in the hits' order, kept
    by columns (an entry's ``Key``: ``key(i)``)."""

    generation: int
    names: dict[int, str]  # the scope's organisations, and their names
    lasts: list[str]  # each entry's lower(last name) (the same names shared)
    firsts: list[str]  # each entry's lower(first name)
    roles: array[int]  # each entry's role id
    organisations: array[int]  # each entry's organisation
    starts: array[int]  # where each entry's text starts in ``text``; one more: the end
    text: str  # the entries' search texts, each followed by a newline

    @classmethod
    def read(cls, generation: int, rows: Iterable[tuple[Any, ...]]) -> Snapshot:
        """A snapshot of ``rows`` (``_ENTRIES``'s columns) as they come, in the hits' order:
        kept by columns at once, no row kept whole (the peak of memory stays near what is
        kept)."""
        names: dict[int, str] = {}
        lasts: list[str] = []
        firsts: list[str] = []
        roles, orgs = array("q"), array("q")
        texts: list[str] = []
        shared: dict[str, str] = {}
        share = shared.setdefault
        for role_id, org, last, first, name, text in rows:
            if "\n" in text:  # the lines' end, never in a word: a space, which no word has
                text = text.replace("\n", " ")
            names[org] = name
            lasts.append(share(last, last))
            firsts.append(share(first, first))
            roles.append(role_id)
            orgs.append(org)
            texts.append(text)
        starts = array("q", accumulate((len(text) + 1 for text in texts), initial=0))
        texts.append("")
        return cls(generation, names, lasts, firsts, roles, orgs, starts, "\n".join(texts))

    def key(self, entry: int) -> Key:
        return (
            self.lasts[entry],
            self.firsts[entry],
            self.names[self.organisations[entry]],
            self.roles[entry],
        )

    def place(self, key: Key) -> int:
        """Where an entry of ``key`` goes: among the entries of its last name, then of its
        first name (found in ``lasts`` and ``firsts``, in order, without a key function), by
        the whole key."""
        lasts, firsts = self.lasts, self.firsts
        low, high = bisect_left(lasts, key[0]), bisect_right(lasts, key[0])
        low, high = bisect_left(firsts, key[1], low, high), bisect_right(firsts, key[1], low, high)
        return bisect_left(range(len(lasts)), key, low, high, key=self.key)

    def patched(self, generation: int, leaving: Set[int], fresh: list[Row]) -> Snapshot:
        """This snapshot at ``generation``: the entries of the organisations ``leaving``
        taken out, the ``fresh`` ones put in their places (the rest copied by slices)."""
        orgs, starts, text = self.organisations, self.starts, self.text
        count = len(self.roles)
        fresh.sort(key=itemgetter(0))
        # (old entry, 0: put a fresh one before it | 1: leave it out, which fresh one)
        cuts = sorted(
            [(i, 1, 0) for i in entries_of(orgs, leaving)]
            + [(self.place(row[0]), 0, n) for n, row in enumerate(fresh)]
        )
        names = dict(self.names)
        for org in leaving:
            names.pop(org, None)
        lasts: list[str] = []
        firsts: list[str] = []
        roles, new_orgs, new_starts = array("q"), array("q"), array("q")
        pieces: list[str] = []
        at = size = 0  # the next old entry to copy; the new text's length so far
        for spot, leave, n in [*cuts, (count, 2, 0)]:
            if spot > at:
                lasts += self.lasts[at:spot]
                firsts += self.firsts[at:spot]
                roles += self.roles[at:spot]
                new_orgs += orgs[at:spot]
                shift = size - starts[at]
                if shift:
                    new_starts.extend(map(add, starts[at:spot], repeat(shift)))
                else:  # before the first change: as they were
                    new_starts += starts[at:spot]
                pieces.append(text[starts[at] : starts[spot]])
                size += starts[spot] - starts[at]
                at = spot
            if leave == 1:
                at = spot + 1
            elif leave == 0:
                (last, first, name, role), org, own = fresh[n]
                names[org] = name
                lasts.append(last)
                firsts.append(first)
                roles.append(role)
                new_orgs.append(org)
                new_starts.append(size)
                pieces.append(f"{own}\n")
                size += len(own) + 1
        new_starts.append(size)
        return Snapshot(
            generation, names, lasts, firsts, roles, new_orgs, new_starts, "".join(pieces)
        )

    def matching(self, words: Sequence[str], stop: int) -> list[int]:
        """Where the first ``stop`` entries whose text contains every word start in
        ``text``."""
        starts = self.starts
        if not words:
            return list(starts[: min(stop, len(self.roles))])
        text = self.text
        words = _needed(words)
        if any(word not in text for word in words):
            return []
        # The word that seems rarest leads (its frequency in the first SAMPLE characters).
        lead = min(words, key=lambda w: (text.count(w, 0, SAMPLE), -len(w)))
        others = [word for word in words if word != lead]
        find, back = text.find, text.rfind
        found: list[int] = []
        keep = found.append
        at = find(lead)
        if not others:
            while at >= 0 and len(found) < stop:
                keep(back("\n", 0, at) + 1)
                at = find(lead, find("\n", at))
        elif len(others) == 1:  # the common case (a first and a last name), without a loop
            other = others[0]
            while at >= 0 and len(found) < stop:
                start, end = back("\n", 0, at) + 1, find("\n", at)
                if find(other, start, end) >= 0:
                    keep(start)
                at = find(lead, end)
        else:
            while at >= 0 and len(found) < stop:
                start, end = back("\n", 0, at) + 1, find("\n", at)
                if all(find(word, start, end) >= 0 for word in others):
                    keep(start)
                at = find(lead, end)
        return found

    def role_ids(self, found: Sequence[int]) -> list[int]:
        """The role ids of the entries starting there."""
        starts, roles = self.starts, self.roles
        return [roles[bisect_right(starts, start) - 1] for start in found]


def entries_of(orgs: array[int], leaving: Set[int]) -> list[int]:
    """The entries (indexes in ``orgs``) of the organisations ``leaving``, in order. A few
    organisations: each looked for in the array's bytes (``bytes.find``, C speed, a match
    kept only where an item starts); many: one pass."""
    if len(leaving) > FIND_MAX:
        return [i for i, org in enumerate(orgs) if org in leaving]
    raw, width = orgs.tobytes(), orgs.itemsize
    found: list[int] = []
    for org in leaving:
        pattern = array(orgs.typecode, [org]).tobytes()
        at = raw.find(pattern)
        while at >= 0:
            if at % width:  # inside two items: not this organisation
                at = raw.find(pattern, at + 1)
            else:
                found.append(at // width)
                at = raw.find(pattern, at + width)
    found.sort()
    return found


def _needed(words: Sequence[str]) -> list[str]:
    """``words`` without repeats nor those inside another one (found with it)."""
    unique = sorted(set(words), key=len, reverse=True)
    kept: list[str] = []
    for word in unique:
        if not any(word in longer for longer in kept):
            kept.append(word)
    return kept


_LOCK = threading.Lock()  # the snapshots kept, the builds under way in the background
_BUILDING = threading.Lock()
_SNAPSHOTS: weakref.WeakKeyDictionary[Any, OrderedDict[int, Snapshot]] = weakref.WeakKeyDictionary()
_PREPARING: set[tuple[int, int]] = set()  # built in the background: (id of the database, actor)


# The page's rows (role id first, then what ``store.users`` shows) and, in the same round
# trip, the newest mark past the snapshot's generation (None: the snapshot was current).
PAGE_COLUMNS = (
    "r.id, p.id, p.login, p.title, p.first_name, p.last_name, p.language, p.email, p.phone,"
    " o.name, q.kind, r.role, q.id"
)
_PAGE = (
    f"SELECT NULL, {PAGE_COLUMNS} FROM role r JOIN person p ON p.id = r.person_id"
    " JOIN qualite q ON q.id = r.qualite_id JOIN organisation o ON o.id = q.organisation_id"
    " WHERE r.id IN ({ids}) UNION ALL "
)
_NEWEST = "SELECT max(generation), {nulls} FROM search_stale WHERE generation > ?".format(
    nulls=", ".join(["NULL"] * len(PAGE_COLUMNS.split(",")))
)

_PAGE_PG = (_PAGE.format(ids="%s") + _NEWEST.replace("?", "%s")).replace(
    "r.id IN (%s)", "r.id = ANY(%s)"
)


def search(
    actor_id: int, words: Sequence[str], stop: int, offset: int, limit: int
) -> tuple[int, list[tuple[Any, ...]]] | None:
    """How many of the first ``stop`` hits of ``words`` (folded) the actor's scope has, and
    the rows of the page (``offset``, ``limit``: ``PAGE_COLUMNS``) in the hits' order, from
    the actor's snapshot; None when the actor's scope is not large (the caller's query is as
    fast). The page is read with the check for changes: when there were some, the snapshot
    is renewed and the page read again."""
    database = db.obj
    snapshot = _kept(database, actor_id)
    if snapshot is None:
        if preparing(actor_id) or not _large(actor_id):
            return None  # the database's query (meanwhile, or at any time: as fast)
        with _BUILDING:  # one build at a time: the searches typed meanwhile wait for it
            snapshot = _kept(database, actor_id) or _keep(database, actor_id, build(actor_id))
    for _attempt in range(2):
        found = snapshot.matching(words, max(stop, offset + limit))
        ids = snapshot.role_ids(found[offset : offset + limit])
        newest, rows = _page(ids, snapshot.generation)
        if newest is None:
            break
        snapshot = _keep(database, actor_id, renewed(actor_id, snapshot))
    return min(len(found), stop), rows


def _kept(database: Any, actor_id: int) -> Snapshot | None:
    with _LOCK:
        kept = _SNAPSHOTS.get(database)
        return None if kept is None else kept.get(actor_id)


def _keep(database: Any, actor_id: int, snapshot: Snapshot) -> Snapshot:
    """Keep ``snapshot`` unless a newer one is (another thread's); the most recently used
    ``KEEP`` of the database."""
    with _LOCK:
        kept = _SNAPSHOTS.setdefault(database, OrderedDict())
        current = kept.get(actor_id)
        if current is None or current.generation <= snapshot.generation:
            kept[actor_id] = snapshot
        kept.move_to_end(actor_id)
        while len(kept) > KEEP:
            kept.popitem(last=False)
    return snapshot


def _page(role_ids: list[int], generation: int) -> tuple[int | None, list[tuple[Any, ...]]]:
    """The rows of these roles, in this order (a role gone meanwhile left out), and the
    newest mark past ``generation``: one query."""
    if is_postgresql():  # one text whatever the page: prepared once, planned once
        cursor = db.connection().execute(_PAGE_PG, (role_ids, generation), prepare=True)
    else:
        sql = (_PAGE.format(ids=_marks(role_ids)) if role_ids else "") + _NEWEST
        cursor = execute(sql, (*role_ids, generation))
    newest, by_id = None, {}
    for row in cursor:
        if row[1] is None:
            newest = row[0]
        else:
            by_id[row[1]] = row[1:]
    return newest, [by_id[i] for i in role_ids if i in by_id]


def prepare(actor_id: int, manager_roles: int | None = None) -> threading.Thread | None:
    """Build the actor's snapshot in the background (at login), so that their first search
    does not wait for it: a thread of its own, which checks the scope's size (unless
    ``manager_roles``, the actor's manager roles, says it is small: then nothing at all) and
    builds only a large one, after any other build of the process (one at a time, at most
    ``KEEP`` waiting: bounded memory). Until it is kept, the actor's searches query the
    database. The thread (tests), or None when there is nothing to do (small, already kept,
    under way, or ``KEEP`` others under way)."""
    if manager_roles is not None and manager_roles < LARGE_SCOPE:
        return None
    database = db.obj
    key = (id(database), actor_id)
    with _LOCK:
        kept = _SNAPSHOTS.get(database)
        if key in _PREPARING or (kept is not None and actor_id in kept):
            return None
        if len(_PREPARING) >= KEEP:  # as many as are kept: the others build at their search
            return None
        _PREPARING.add(key)
    thread = threading.Thread(
        target=_prepare, args=(database, actor_id), name="search-prepare", daemon=True
    )
    try:
        thread.start()
    except BaseException:
        _prepared(key)
        raise
    return thread


def preparing(actor_id: int) -> bool:
    """Whether the actor's snapshot is being built in the background (:func:`prepare`)."""
    with _LOCK:
        return (id(db.obj), actor_id) in _PREPARING


def _prepare(database: Any, actor_id: int) -> None:
    try:
        with thread_connection():  # this thread's connection closed at the end
            if db.obj is database and _large(actor_id):
                with _BUILDING:
                    if _kept(database, actor_id) is None:
                        _keep(database, actor_id, build(actor_id))
    except Exception:  # the first search builds it then, or queries the database
        log.exception("the search snapshot of person %s was not built in the background", actor_id)
    finally:
        _prepared((id(database), actor_id))


def _prepared(key: tuple[int, int]) -> None:
    with _LOCK:
        _PREPARING.discard(key)


def kept(actor_id: int) -> Snapshot | None:
    """The actor's snapshot in this process, if one is kept."""
    return _kept(db.obj, actor_id)


def forget() -> None:
    """Drop this process's snapshots (tests; memory)."""
    with _LOCK:
        _SNAPSHOTS.clear()


def _large(actor_id: int) -> bool:
    cursor = execute(
        "SELECT count(*) FROM (SELECT 1 FROM role WHERE person_id = ? AND role IN (?, ?) "
        "LIMIT ?) AS roles",
        (actor_id, *MANAGER_ROLES, LARGE_SCOPE),
    )
    return bool(cursor.fetchone()[0] >= LARGE_SCOPE)


def _generation() -> int:
    return int(execute("SELECT value FROM search_generation").fetchone()[0])


def build(actor_id: int) -> Snapshot:
    """The actor's scope as it is now. The counter is read first: a change committed
    meanwhile is in the rows or not, and is renewed at the next search either way."""
    generation = _generation()
    collate = ' COLLATE "C"' if is_postgresql() else ""  # as ``store.users`` orders its query
    order = (
        f" ORDER BY lower(p.last_name){collate}, lower(p.first_name){collate}, o.name{collate},"
        " r.id"
    )
    rows = execute(_ENTRIES.format(managed=_MANAGED) + order, (actor_id, *MANAGER_ROLES))
    return Snapshot.read(generation, rows)


def renewed(actor_id: int, snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with the changes committed since its generation: renewed in place (the
    organisations of the scope changed, or now managed, read again), or built anew when so
    many changed that reading them costs as much (``REBUILD_AFTER`` marks; more than a
    ``REBUILD_SHARE`` of the scope's organisations, and more than ``PATCH_MAX``)."""
    marks = execute(
        "SELECT organisation_id, generation FROM search_stale WHERE generation > ?",
        (snapshot.generation,),
    ).fetchall()
    if not marks:
        return snapshot
    if len(marks) > REBUILD_AFTER:
        return build(actor_id)
    generation = max(mark[1] for mark in marks)
    changed = {mark[0] for mark in marks}
    ours = {org for org in changed if org in snapshot.names}
    most = max(PATCH_MAX, len(snapshot.names) // REBUILD_SHARE)
    if len(ours) > most:
        return build(actor_id)
    fresh: list[Row] | None = None
    if len(changed) <= PATCH_MAX:  # one query: the entries of those the actor manages now
        chosen = list(changed)
        among = _MANAGED_AMONG.format(organisations=_marks(chosen))
        fresh = _rows(_ENTRIES.format(managed=among), (*chosen, actor_id, *MANAGER_ROLES))
        now = {row[1] for row in fresh}  # each has a role at least: the actor's
    else:
        now = _managed_among(actor_id, changed, len(snapshot.names))
    affected = ours | now
    if not affected:
        return replace(snapshot, generation=generation)
    if len(affected) > most:
        return build(actor_id)
    if fresh is None:
        chosen = list(now)
        fresh = []
        for start in range(0, len(chosen), CHUNK):
            part = chosen[start : start + CHUNK]  # a bounded list of parameters
            fresh += _rows(_ENTRIES.format(managed=_marks(part)), part)
    return snapshot.patched(generation, affected, fresh)


def _managed_among(actor_id: int, organisations: Set[int], scope: int) -> set[int]:
    """Which of ``organisations`` the actor is (co-)gestionnaire local of now: asked by parts
    of ``CHUNK``, or, when they are more than the ``scope`` the actor had and than ``CHUNK``,
    from all the actor manages (one query)."""
    if len(organisations) > max(scope, CHUNK):
        cursor = execute(_MANAGED, (actor_id, *MANAGER_ROLES))
        return {row[0] for row in cursor if row[0] in organisations}
    chosen = list(organisations)
    found: set[int] = set()
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start : start + CHUNK]  # a bounded list of parameters
        cursor = execute(
            _MANAGED_AMONG.format(organisations=_marks(part)), (*part, actor_id, *MANAGER_ROLES)
        )
        found.update(row[0] for row in cursor)
    return found


def _marks(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)


def _rows(sql: str, params: Sequence[Any]) -> list[Row]:
    """The entries ``sql`` selects (a few organisations': a renewal)."""
    return [
        ((last, first, name, role_id), org, text.replace("\n", " "))
        for role_id, org, last, first, name, text in execute(sql, params)
    ]
