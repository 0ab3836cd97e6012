"""The portal's validation rules: user names, KBO and ONSS numbers, the contact person."""

from __future__ import annotations

from dataclasses import replace

import pytest

from store.errors import ValidationError, ValidationErrors
from store.rules import (
    check_contact,
    check_username,
    format_kbo,
    normalize_kbo,
    normalize_onss,
    onss_check_digits,
)
from tests.support.registration import CONTACT


@pytest.mark.parametrize("name", ["Abcdefg8", "a" * 20, "EXPDEMOENTREPRISE", "12345678"])
def test_username_accepted_and_case_kept(name: str) -> None:
    assert check_username(name, name) == name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Abcdef7", "username.length"),
        ("a" * 21, "username.length"),
        ("abcd_efgh", "username.characters"),
        ("abcd efgh", "username.spaces"),
        ("abcdéfgh", "username.characters"),
        ("абвгдежз", "username.characters"),
        ("abcdefgh\t", "username.spaces"),
        ("", "username.required"),
    ],
)
def test_username_refused_names_the_rule(name: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_username(name, name)
    assert info.value.code == code


def test_username_length_error_carries_the_length() -> None:
    with pytest.raises(ValidationError) as info:
        check_username("a" * 21)
    assert info.value.params == {"length": 21, "min": 8, "max": 20}


def test_username_confirmation_must_match_exactly() -> None:
    with pytest.raises(ValidationError) as info:
        check_username("Abcdefgh1", "abcdefgh1")
    assert info.value.code == "username.mismatch"
    assert info.value.field == "username_confirm"


def test_kbo_check_digits() -> None:
    assert normalize_kbo("0403.123.486") == "0403123486"
    assert normalize_kbo("403123486") == "0403123486"
    assert format_kbo("0403123486") == "0403.123.486"
    for bad, code in [
        ("0403123487", "kbo.check_digits"),
        ("2403123486", "kbo.first_digit"),
        ("04031234", "kbo.length"),
        ("04O3123486", "kbo.digits"),
        ("", "kbo.required"),
    ]:
        with pytest.raises(ValidationError) as info:
            normalize_kbo(bad)
        assert info.value.code == code, bad


def test_onss_check_digits() -> None:
    assert onss_check_digits(1234567) == 49
    assert normalize_onss("1234567-49") == "123456749"
    with pytest.raises(ValidationError) as info:
        normalize_onss("123456748")
    assert info.value.code == "onss.check_digits"
    # A remainder of 96 gives 0, which the rule turns into 97.
    base = next(b for b in range(1_000_000, 9_999_999) if (b * 100) % 97 == 96)
    assert onss_check_digits(base) == 97
    assert normalize_onss(f"{base}97") == f"{base}97"


def test_contact_valid_is_cleaned() -> None:
    cleaned = check_contact(replace(CONTACT, last_name="  Expéditeur ", emails=("", " a@b.be ")))
    assert cleaned.last_name == "Expéditeur"
    assert cleaned.emails == ("a@b.be",)


def test_contact_reports_every_broken_rule() -> None:
    with pytest.raises(ValidationErrors) as info:
        check_contact(replace(CONTACT, last_name="", function=" ", phone="abc", emails=()))
    got = {(e.field, e.code) for e in info.value.errors}
    assert got == {
        ("last_name", "field.required"),
        ("function", "field.required"),
        ("phone", "phone.invalid"),
        ("email1", "contact.email_required"),
    }


def test_contact_bad_email_and_choices() -> None:
    with pytest.raises(ValidationErrors) as info:
        check_contact(
            replace(CONTACT, title="Sir", language="xx", emails=("no-at-sign", "", "x@y.be"))
        )
    got = {(e.field, e.code) for e in info.value.errors}
    assert got == {
        ("title", "contact.title"),
        ("language", "contact.language"),
        ("email1", "email.invalid"),
    }
