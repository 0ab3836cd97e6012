"""*Utilisateurs* and *Rechercher utilisateurs*: who has access to a qualité, in which role.

Only the gestionnaire local changes roles. A qualité always keeps exactly one gestionnaire
local (designating another one hands the role over) and has at most one co-gestionnaire local.
A change that would also change a third person's role (the co-gestionnaire local replaced) is
refused unless the caller confirms it: ``role_changes`` says beforehand who would change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import JOIN, fn

from store import scope_search
from store.access import create_person, require_role
from store.audit import record
from store.clock import local_now
from store.convert import person_info
from store.db import db, is_postgresql
from store.dto import PersonInfo
from store.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
    ValidationErrors,
)
from store.models import (
    CO_GESTIONNAIRE,
    GESTIONNAIRE,
    MANAGER_ROLES,
    ROLES,
    UTILISATEUR,
    Organisation,
    Person,
    Qualite,
    Role,
)
from store.rules import FIELD_MAX, TITLES, check_email, check_login
from store.text import fold

ROLE_ORDER = {GESTIONNAIRE: 0, CO_GESTIONNAIRE: 1, UTILISATEUR: 2}
PAGE_SIZE = 20


@dataclass(frozen=True)
class UserRow:
    person: PersonInfo
    role: str


@dataclass(frozen=True)
class RoleChange:
    """One person's role before and after a change."""

    person: PersonInfo
    old: str
    new: str


@dataclass(frozen=True)
class SearchHit:
    person: PersonInfo
    organisation: str
    qualite_kind: str
    role: str
    qualite_id: int


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    total: int  # with ``more``: at least this many (``COUNT_CAP`` past the page's start)
    offset: int
    limit: int
    more: bool = False


@dataclass(frozen=True)
class NewPerson:
    login: str
    password: str
    first_name: str
    last_name: str
    email: str
    title: str = "Mr"
    language: str = "fr"


def _require_gestionnaire(actor_id: int, qualite_id: int) -> None:
    role = require_role(actor_id, qualite_id)
    if role != GESTIONNAIRE:
        raise PermissionDenied(
            "role.gestionnaire_required", "only the local manager may change roles", role=role
        )


def users_of(actor_id: int, qualite_id: int) -> list[UserRow]:
    """Everyone with a role in the qualité, managers first."""
    require_role(actor_id, qualite_id)
    return _users(qualite_id)


def _users(qualite_id: int) -> list[UserRow]:
    rows = Role.select(Role, Person).join(Person).where(Role.qualite == qualite_id)
    result = [UserRow(person_info(r.person), r.role) for r in rows]
    return sorted(
        result,
        key=lambda u: (
            ROLE_ORDER.get(u.role, 9),
            u.person.last_name.lower(),
            u.person.first_name.lower(),
        ),
    )


def find_person(login_or_email: str) -> PersonInfo | None:
    key = login_or_email.strip().lower()
    if not key:
        return None
    row = (
        Person.select()
        .where((fn.lower(Person.login) == key) | (fn.lower(Person.email) == key))
        .order_by(Person.id)
        .first()
    )
    return person_info(row) if row else None


def give_access(
    actor_id: int,
    qualite_id: int,
    role: str,
    login_or_email: str = "",
    new_person: NewPerson | None = None,
    now: datetime | None = None,
    replace_co: int | None = None,
) -> UserRow:
    """Give an existing person (found by login or e-mail) or a new one a role in the qualité.

    Naming a co-gestionnaire local where there is one already is refused (``role.co_taken``,
    naming them) unless ``replace_co`` is that person's id (the caller asked): they then
    become utilisateur."""
    now = now or local_now()
    if role not in (CO_GESTIONNAIRE, UTILISATEUR):
        raise ValidationError(
            "role.unknown", "choose co-gestionnaire local or utilisateur", "role", role=role
        )
    with db.atomic("IMMEDIATE"):
        _require_gestionnaire(actor_id, qualite_id)
        if new_person is not None:
            check_new_person(new_person)
            person = create_person(
                new_person.login,
                new_person.password,
                new_person.first_name,
                new_person.last_name,
                title=new_person.title,
                language=new_person.language,
                email=new_person.email,
                now=now,
            )
        else:
            found = find_person(login_or_email)
            if found is None:
                raise NotFound(
                    "person.not_found",
                    "no person with this login or e-mail",
                    "login",
                    value=login_or_email,
                )
            person = found
        if Role.get_or_none((Role.person == person.id) & (Role.qualite == qualite_id)):
            raise Conflict(
                "role.exists", "this person already has access", "login", login=person.login
            )
        replaced = [r for r in _users(qualite_id) if r.role == CO_GESTIONNAIRE]
        if role == CO_GESTIONNAIRE and replaced and replaced[0].person.id != replace_co:
            raise Conflict(
                "role.co_taken",
                "the qualité has a co-gestionnaire local already",
                "role",
                name=replaced[0].person.full_name,
            )
        if role == CO_GESTIONNAIRE:
            for old in replaced:
                _apply(actor_id, qualite_id, RoleChange(old.person, old.role, UTILISATEUR), now)
        Role.create(person=person.id, qualite=qualite_id, role=role)
        record("role.grant", actor_id, qualite_id, at=now, person=person.login, role=role)
    return UserRow(person, role)


def check_new_person(person: NewPerson) -> None:
    """A new person's login, names, title, language, e-mail and first password; raises
    ``ValidationErrors`` listing every broken rule."""
    from store.access import LANGUAGES
    from store.personal import check_new_password

    errors: list[ValidationError] = []
    try:
        check_login(person.login)
    except ValidationError as exc:
        errors.append(exc)
    for name in ("first_name", "last_name", "password"):
        if not getattr(person, name).strip():
            errors.append(ValidationError("field.required", "this field is required", name))
        elif len(getattr(person, name)) > FIELD_MAX:
            errors.append(
                ValidationError("field.too_long", "this field is too long", name, max=FIELD_MAX)
            )
    if person.title not in TITLES:
        errors.append(ValidationError("contact.title", "choose a title from the list", "title"))
    if person.language not in LANGUAGES:
        errors.append(ValidationError("language.unknown", "unknown language", "language"))
    if person.email:
        try:
            check_email(person.email)
        except ValidationError as exc:
            errors.append(exc)
    if person.password and person.login.strip():
        try:
            check_new_password(person.login.strip(), person.password, person.password)
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationErrors(errors)


def _role_row(person_id: int, qualite_id: int) -> Role:
    row = Role.get_or_none((Role.person == person_id) & (Role.qualite == qualite_id))
    if row is None:
        raise NotFound("role.none", "this person has no access to the qualité")
    return row


def _last_gestionnaire() -> Conflict:
    return Conflict(
        "role.last_gestionnaire", "the qualité must keep its local manager: designate another one"
    )


def role_changes(rows: Sequence[UserRow], person_id: int, role: str) -> tuple[RoleChange, ...]:
    """Every role that giving ``role`` to ``person_id`` changes, theirs first: a new
    gestionnaire local makes the current one co-gestionnaire local, and a new co-gestionnaire
    local (either way) makes the current one utilisateur. ``rows``: the qualité's users."""
    target = next((r for r in rows if r.person.id == person_id), None)
    if target is None:
        raise NotFound("role.none", "this person has no access to the qualité")
    if target.role == role:
        return ()
    if target.role == GESTIONNAIRE:
        raise _last_gestionnaire()
    changes = [RoleChange(target.person, target.role, role)]
    for row in rows:
        if row.person.id == person_id:
            continue
        if role == GESTIONNAIRE and row.role == GESTIONNAIRE:
            changes.append(RoleChange(row.person, GESTIONNAIRE, CO_GESTIONNAIRE))
        elif role in (GESTIONNAIRE, CO_GESTIONNAIRE) and row.role == CO_GESTIONNAIRE:
            changes.append(RoleChange(row.person, CO_GESTIONNAIRE, UTILISATEUR))
    return tuple(changes)


def third_parties(changes: Sequence[RoleChange], actor_id: int) -> tuple[RoleChange, ...]:
    """The changes to anyone but the person chosen (the first) and the actor."""
    return tuple(c for c in changes[1:] if c.person.id != actor_id)


def _apply(actor_id: int, qualite_id: int, change: RoleChange, now: datetime) -> None:
    Role.update(role=change.new).where(
        (Role.person == change.person.id) & (Role.qualite == qualite_id)
    ).execute()
    record(
        "role.change",
        actor_id,
        qualite_id,
        at=now,
        target=change.person.id,
        old=change.old,
        new=change.new,
    )


def change_role(
    actor_id: int,
    qualite_id: int,
    person_id: int,
    role: str,
    now: datetime | None = None,
    confirmed: Collection[int] = (),
) -> tuple[RoleChange, ...]:
    """Change a person's role, and what follows from it (``role_changes``); returns every
    change made. A change to a third person's role is refused (``role.others_change``)
    unless their id is in ``confirmed``: the caller asked about them first."""
    now = now or local_now()
    if role not in ROLES:
        raise ValidationError("role.unknown", "unknown role", "role", role=role)
    with db.atomic("IMMEDIATE"):
        _require_gestionnaire(actor_id, qualite_id)
        _role_row(person_id, qualite_id)
        changes = role_changes(_users(qualite_id), person_id, role)
        others = [c for c in third_parties(changes, actor_id) if c.person.id not in confirmed]
        if others:
            raise Conflict(
                "role.others_change",
                "this would change someone else's role too",
                names=", ".join(c.person.full_name for c in others),
            )
        for change in changes:
            _apply(actor_id, qualite_id, change, now)
    return changes


def remove_access(
    actor_id: int, qualite_id: int, person_id: int, now: datetime | None = None
) -> None:
    now = now or local_now()
    with db.atomic("IMMEDIATE"):
        _require_gestionnaire(actor_id, qualite_id)
        row = _role_row(person_id, qualite_id)
        if row.role == GESTIONNAIRE:
            raise _last_gestionnaire()
        row.delete_instance()
        record("role.remove", actor_id, qualite_id, at=now, target=person_id, role=row.role)


def search_persons(actor_id: int, text: str, offset: int = 0, limit: int = PAGE_SIZE) -> SearchPage:
    """Persons the actor may see — those with a role in a qualité of an organisation where the
    actor is (co-)gestionnaire local — whose name, login or e-mail contains each word of
    ``text``, accents and case aside (``deja`` finds ``Déjà``: ``store.text.fold``); one hit
    per role, ordered by last name, first name, organisation (``_ORDER``).

    A manager of many organisations searches a snapshot of their scope kept in memory
    (``store.scope_search``); the others query the database. SQLite: text first where it is
    selective: the persons whose text contains the longest word of three characters or more,
    found through the trigram index (``_matching_persons``); when there are at most
    ``TEXT_FIRST_MAX`` of them, only their roles are looked at, not every role in the actor's
    organisations."""
    words = fold(text).split()
    # Counted up to COUNT_CAP past the page's start: counting every match of a common word
    # was half the search's time at issue 14's scope.
    stop = offset + COUNT_CAP + 1
    found = scope_search.search(actor_id, words, stop, offset, limit)
    if found is not None:
        total, page = found[0], _hits(found[1])
    else:
        total, page = _search_query(actor_id, words, stop, offset, limit)
    more = total > offset + COUNT_CAP
    return SearchPage(page, min(total, offset + COUNT_CAP), offset, limit, more)


def _order() -> tuple[Any, ...]:
    """The hits' order, ``store.scope_search.Key``'s: the names compared code point by code
    point on both backends (PostgreSQL: ``COLLATE "C"``, whatever the database's locale)."""
    keys = [fn.lower(Person.last_name), fn.lower(Person.first_name), Organisation.name]
    if is_postgresql():
        keys = [key.collate('"C"') for key in keys]
    return (*keys, Role.id)


def _search_query(
    actor_id: int, words: list[str], stop: int, offset: int, limit: int
) -> tuple[int, tuple[SearchHit, ...]]:
    """The total (up to ``stop``) and the page, from the database."""
    managed_orgs = (
        Qualite.select(Qualite.organisation)
        .join(Role)
        .where((Role.person == actor_id) & Role.role.in_(MANAGER_ROLES))
    )
    query = _hit_query().where(Qualite.organisation.in_(managed_orgs))
    indexed = sorted((w for w in words if len(w) >= 3), key=len, reverse=True)
    if indexed and not is_postgresql():
        candidates = _matching_persons(indexed[0], TEXT_FIRST_MAX + 1)
        if len(candidates) <= TEXT_FIRST_MAX:
            if not candidates:
                return 0, ()
            query = query.where(Role.person.in_(candidates))
    for word in words:
        query = query.where(_contains(Person.search_text, word))
    total = query.limit(stop).count()
    rows = query.order_by(*_order()).offset(offset).limit(limit)
    return total, tuple(_hit(r) for r in rows)


def _hit_query() -> Any:
    return (
        Role.select(Role, Person, Qualite, Organisation)
        .join(Person)
        .switch(Role)
        .join(Qualite)
        .join(Organisation, JOIN.INNER)
    )


def _hit(row: Role) -> SearchHit:
    return SearchHit(
        person_info(row.person),
        row.qualite.organisation.name,
        row.qualite.kind,
        row.role,
        row.qualite.id,
    )


def _hits(rows: Sequence[tuple[Any, ...]]) -> tuple[SearchHit, ...]:
    """The hits of a search from memory: rows of ``store.scope_search.PAGE_COLUMNS``."""
    return tuple(SearchHit(PersonInfo(*row[1:9]), *row[9:]) for row in rows)


# The total shown counts at most this many matches past the page's start ("more than").
COUNT_CAP = 1000

# At most this many persons whose text contains a word: their roles are looked at one by one
# (text first); more: the actor's organisations' roles are (scope first).
TEXT_FIRST_MAX = 2000


def _matching_persons(word: str, cap: int) -> list[int]:
    """Up to ``cap`` ids of the persons whose search text contains ``word`` (three characters
    or more), through SQLite's FTS5 ``person_search`` (migration 0007). Not on PostgreSQL:
    there this first query (its trigram index, ``LIMIT``) made the search slower, not faster
    (bench/search.py at 30,000 persons: p95 127 ms against 59 ms scope first)."""
    phrase = '"' + word.replace('"', '""') + '"'
    cursor = db.execute_sql(
        "SELECT rowid FROM person_search WHERE person_search MATCH ? LIMIT ?", (phrase, cap)
    )
    return [row[0] for row in cursor]


def _contains(column: Any, word: str) -> Any:
    """``column`` contains ``word``: SQLite's ``instr`` (no LIKE wildcards to escape);
    PostgreSQL's ``LIKE '%word%'`` with the wildcards escaped, which the trigram index on
    ``person.search_text`` serves (migration 0006)."""
    if not is_postgresql():
        return fn.instr(column, word) > 0
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column % f"%{escaped}%"
