"""*Données personnelles*: my data, my password, my certificate for the portal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store.access import LANGUAGES, session_for
from store.audit import record
from store.channels import certificate_summary
from store.clock import local_now
from store.convert import person_info
from store.credentials import parse_certificate
from store.db import db
from store.dto import CertificateSummary, PersonInfo, SessionInfo
from store.errors import AuthenticationFailed, NotFound, ValidationError, ValidationErrors
from store.models import Person, PersonCertificate
from store.passwords import hash_password, verify_password
from store.rules import FIELD_MAX, TITLES, check_email, check_phone

PASSWORD_MIN = 10


@dataclass(frozen=True)
class PersonalData:
    title: str
    first_name: str
    last_name: str
    language: str
    email: str
    phone: str


def _person(person_id: int) -> Person:
    row = Person.get_or_none(Person.id == person_id)
    if row is None:
        raise NotFound("person.not_found", "no such person")
    return row


def check_personal(data: PersonalData) -> PersonalData:
    errors: list[ValidationError] = []
    values = {name: getattr(data, name).strip() for name in PersonalData.__dataclass_fields__}
    for name in ("first_name", "last_name", "email"):
        if not values[name]:
            errors.append(ValidationError("field.required", "this field is required", name))
    for name, value in values.items():
        if len(value) > FIELD_MAX:
            errors.append(
                ValidationError("field.too_long", "this field is too long", name, max=FIELD_MAX)
            )
    if values["title"] not in TITLES:
        errors.append(ValidationError("contact.title", "choose a title from the list", "title"))
    if values["language"] not in LANGUAGES:
        errors.append(ValidationError("language.unknown", "unknown language", "language"))
    for name, check in (("email", check_email), ("phone", check_phone)):
        if values[name]:
            try:
                values[name] = check(values[name], name)
            except ValidationError as exc:
                errors.append(exc)
    if errors:
        raise ValidationErrors(errors)
    return PersonalData(**values)


def update_personal_data(
    person_id: int, data: PersonalData, now: datetime | None = None
) -> PersonInfo:
    data = check_personal(data)
    with db.atomic():
        row = _person(person_id)
        for name in PersonalData.__dataclass_fields__:
            setattr(row, name, getattr(data, name))
        row.save()
        record("person.update", person_id, None, at=now, **data.__dict__)
    return person_info(row)


def check_new_password(login: str, new: str, confirmation: str) -> None:
    """At least 10 characters with letters and digits, not the login, typed twice the same."""
    if new != confirmation:
        raise ValidationError(
            "password.mismatch", "the two new passwords differ", "password_confirm"
        )
    if len(new) < PASSWORD_MIN:
        raise ValidationError(
            "password.too_short", "at least 10 characters", "password", min=PASSWORD_MIN
        )
    if not any(c.isalpha() for c in new) or not any(c.isdigit() for c in new):
        raise ValidationError(
            "password.letters_digits", "letters and digits are both needed", "password"
        )
    if login.lower() in new.lower():
        raise ValidationError(
            "password.contains_login", "the password may not contain the login", "password"
        )


def change_password(
    person_id: int, current: str, new: str, confirmation: str, now: datetime | None = None
) -> SessionInfo:
    """Change the password; returns the caller's refreshed session. Other sessions of this
    person, opened before the change, are no longer valid (see ``session_is_current``)."""
    now = now or local_now()
    with db.atomic("IMMEDIATE"):
        row = _person(person_id)
        if not verify_password(current, row.password_hash):
            raise AuthenticationFailed(
                "password.current_wrong", "the current password is wrong", "current"
            )
        check_new_password(row.login, new, confirmation)
        if verify_password(new, row.password_hash):
            raise ValidationError(
                "password.unchanged", "the new password is the current one", "password"
            )
        row.password_hash = hash_password(new)
        row.password_changed_at = max(datetime.now(), row.password_changed_at)
        row.save()
        record("person.password", person_id, None, at=now)
    return session_for(person_id)


def session_is_current(session: SessionInfo) -> bool:
    """False once the person's password changed after this session was opened."""
    row = Person.get_or_none(Person.id == session.person.id)
    return row is not None and row.password_changed_at <= session.password_changed_at


def personal_certificate(person_id: int) -> CertificateSummary | None:
    row = PersonCertificate.get_or_none(PersonCertificate.person == person_id)
    return certificate_summary(bytes(row.der)) if row else None


FOR_FILES = frozenset({"certificate.cannot_sign", "certificate.ssh_key"})
"""Refusals whose message speaks of the certificate that signs batch files; the personal
certificate is for logging into the portal, so they get their own codes (``personal_…``)."""


def register_personal_certificate(
    person_id: int, data: bytes, now: datetime | None = None
) -> CertificateSummary:
    now = now or local_now()
    try:
        info = parse_certificate(data, now=now.astimezone(UTC))
    except ValidationError as exc:
        if exc.code in FOR_FILES:  # said of signing files: here it is about logging in
            raise ValidationError(
                "personal_" + exc.code, exc.message, exc.field, **exc.params
            ) from exc
        raise
    with db.atomic():
        PersonCertificate.insert(person=person_id, der=info.der, registered_at=now).on_conflict(
            conflict_target=[PersonCertificate.person],
            update={PersonCertificate.der: info.der, PersonCertificate.registered_at: now},
        ).execute()
        record(
            "person.certificate.register",
            person_id,
            None,
            at=now,
            owner=info.owner,
            serial=info.serial_decimal,
        )
    summary = certificate_summary(info.der)
    assert summary is not None
    return summary


def remove_personal_certificate(person_id: int, now: datetime | None = None) -> None:
    with db.atomic():
        deleted = PersonCertificate.delete().where(PersonCertificate.person == person_id).execute()
        if not deleted:
            raise NotFound("certificate.none", "no certificate is registered")
        record("person.certificate.remove", person_id, None, at=now)
