"""Persons, login, and who may do what in a qualité."""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import fn

from store.audit import record
from store.clock import local_now
from store.convert import person_info, qualite_info
from store.db import db
from store.dto import PersonInfo, QualiteInfo, RoleInfo, SessionInfo
from store.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from store.models import (
    EXPLOITATION,
    MANAGER_ROLES,
    ROLES,
    LoginFailure,
    Organisation,
    Person,
    Qualite,
    Role,
)
from store.passwords import hash_password, unmatchable_hash, verify_password
from store.rules import check_login

FREE_ATTEMPTS = 3  # failures before any delay
MAX_DELAY = 300  # seconds
LANGUAGES = ("fr", "nl", "de", "en")
# A hash to verify against when the login is unknown, so both cases take the same time.
_DUMMY_HASH = unmatchable_hash()


def login_delay(failures: int) -> int:
    """Seconds to wait after ``failures`` consecutive failures: 0, 0, 0, 2, 4, 8, … 300."""
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_DELAY, 2 ** (failures - FREE_ATTEMPTS + 1))


def login_wait(login: str, now: datetime | None = None) -> int:
    """Seconds still to wait before ``login`` may be tried again (0 when free)."""
    now = now or local_now()
    failure = LoginFailure.get_or_none(LoginFailure.login == login.strip().lower())
    if failure is None:
        return 0
    ready = failure.last_at + timedelta(seconds=login_delay(failure.count))
    return max(0, int((ready - now).total_seconds() + 0.999))


def authenticate(login: str, password: str, now: datetime | None = None) -> SessionInfo:
    """Check a login and password. Failures never say which of the two was wrong."""
    now = now or local_now()
    key = login.strip().lower()
    wait = login_wait(key, now)
    if wait:
        raise AuthenticationFailed("login.throttled", "too many failed attempts", wait=wait)
    person = Person.get_or_none(fn.lower(Person.login) == key) if key else None
    ok = verify_password(password, person.password_hash if person else _DUMMY_HASH)
    if person is None or not ok:
        with db.atomic("IMMEDIATE"):
            failure = LoginFailure.get_or_none(LoginFailure.login == key)
            count = failure.count + 1 if failure else 1
            LoginFailure.insert(login=key, count=count, last_at=now).on_conflict(
                conflict_target=[LoginFailure.login],
                update={LoginFailure.count: count, LoginFailure.last_at: now},
            ).execute()
        raise AuthenticationFailed(
            "login.failed", "login or password incorrect", wait=login_delay(count)
        )
    LoginFailure.delete().where(LoginFailure.login == key).execute()
    return session_for(person.id)


def session_for(person_id: int) -> SessionInfo:
    person = Person.get_or_none(Person.id == person_id)
    if person is None:
        raise NotFound("person.not_found", "no such person")
    return SessionInfo(person_info(person), roles_of(person_id), person.password_changed_at)


def roles_of(person_id: int) -> tuple[RoleInfo, ...]:
    query = (
        Role.select(Role, Qualite, Organisation)
        .join(Qualite)
        .join(Organisation)
        .where(Role.person == person_id)
        .order_by(Organisation.name, Qualite.kind)
    )
    return tuple(RoleInfo(qualite_info(r.qualite), r.role) for r in query)


def role_in(person_id: int, qualite_id: int) -> str | None:
    row = Role.get_or_none((Role.person == person_id) & (Role.qualite == qualite_id))
    return row.role if row else None


def require_role(person_id: int, qualite_id: int) -> str:
    role = role_in(person_id, qualite_id)
    if role is None:
        raise PermissionDenied("role.none", "you have no role in this qualité")
    return role


def require_manager(person_id: int, qualite_id: int) -> str:
    """Only the gestionnaire local and the co-gestionnaire local may change a sender."""
    role = require_role(person_id, qualite_id)
    if role not in MANAGER_ROLES:
        raise PermissionDenied(
            "role.manager_required", "only the local manager and co-manager may do this", role=role
        )
    return role


def get_qualite(qualite_id: int) -> QualiteInfo:
    row = (
        Qualite.select(Qualite, Organisation)
        .join(Organisation)
        .where(Qualite.id == qualite_id)
        .first()
    )
    if row is None:
        raise NotFound("qualite.not_found", "no such qualité")
    return qualite_info(row)


def create_person(
    login: str,
    password: str,
    first_name: str,
    last_name: str,
    title: str = "Mr",
    language: str = "fr",
    email: str = "",
    phone: str = "",
    now: datetime | None = None,
) -> PersonInfo:
    now = now or local_now()
    login = check_login(login.strip())
    with db.atomic():
        if Person.get_or_none(fn.lower(Person.login) == login.lower()):
            raise ValidationError("login.taken", "this login already exists", "login")
        row = Person.create(
            login=login,
            password_hash=hash_password(password),
            first_name=first_name,
            last_name=last_name,
            title=title,
            language=language,
            email=email,
            phone=phone,
            password_changed_at=now,
            created_at=now,
        )
        record("person.create", row.id, None, at=now, login=row.login)
    return person_info(row)


def grant_role(person_id: int, qualite_id: int, role: str) -> None:
    if role not in (*ROLES, EXPLOITATION):
        raise ValidationError("role.unknown", "unknown role", "role", role=role)
    Role.insert(person=person_id, qualite=qualite_id, role=role).on_conflict(
        conflict_target=[Role.person, Role.qualite], update={Role.role: role}
    ).execute()


def set_language(person_id: int, language: str) -> None:
    """Remember the interface language the person chose."""
    if language not in LANGUAGES:
        raise ValidationError("language.unknown", "unknown language", "language")
    with db.atomic():
        Person.update(language=language).where(Person.id == person_id).execute()
        record("person.language", person_id, None, language=language)
