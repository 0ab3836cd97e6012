"""give_access with a new person checks the person's data and first password."""

from __future__ import annotations

import pytest
from peewee import SqliteDatabase

from store import users
from store.errors import ValidationErrors
from store.models import UTILISATEUR, Person
from tests.support.registration import person_id, qualite_id

pytestmark = pytest.mark.both_backends


def test_a_new_person_is_checked_before_anything_is_stored(demo: SqliteDatabase) -> None:
    bad = users.NewPerson("", "short", "", "X", "not-mail", title="Sir", language="xx")
    with pytest.raises(ValidationErrors) as info:
        users.give_access(person_id("dieter"), qualite_id(), UTILISATEUR, new_person=bad)
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("login", "field.required"),
        ("first_name", "field.required"),
        ("title", "contact.title"),
        ("language", "language.unknown"),
        ("email", "email.invalid"),
    }
    weak = users.NewPerson("nina", "nina1234567", "Nina", "Nouveau", "nina@demo.be")
    with pytest.raises(ValidationErrors) as info:
        users.give_access(person_id("dieter"), qualite_id(), UTILISATEUR, new_person=weak)
    assert [e.code for e in info.value.errors] == ["password.contains_login"]
    assert Person.get_or_none(Person.login == "nina") is None
