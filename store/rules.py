"""The portal's validation rules (DESIGN §3), as pure functions raising ``ValidationError``."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from store.errors import ValidationError, ValidationErrors

USERNAME_MIN, USERNAME_MAX = 8, 20
USERNAME_ALPHABET = frozenset(string.ascii_letters + string.digits)
TITLES = ("Mr", "Mme")
LANGUAGES = ("fr", "nl", "de")
MAX_EMAILS = 3
FIELD_MAX = 100

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_PHONE = re.compile(r"^\+?[0-9 ./()-]+$")


# --- Numbers with check digits ---------------------------------------------------------------


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if not ch.isspace() and ch not in ".-/")


def normalize_kbo(value: str) -> str:
    """Return the 10-digit KBO/BCE number, or raise naming the broken rule."""
    raw = digits_only(value)
    if not raw:
        raise ValidationError("kbo.required", "the company number is required", "kbo")
    if not raw.isdigit() or not raw.isascii():
        raise ValidationError("kbo.digits", "the company number has only digits", "kbo")
    if len(raw) == 9:  # the old 9-digit form gets its leading 0
        raw = "0" + raw
    if len(raw) != 10:
        raise ValidationError("kbo.length", "the company number has 10 digits", "kbo")
    if raw[0] not in "01":
        raise ValidationError("kbo.first_digit", "the company number starts with 0 or 1", "kbo")
    if kbo_check_digits(int(raw[:8])) != int(raw[8:]):
        raise ValidationError(
            "kbo.check_digits", "the company number's check digits are wrong", "kbo"
        )
    return raw


def format_kbo(kbo: str) -> str:
    """``0123456749`` → ``0123.456.749``."""
    return f"{kbo[:4]}.{kbo[4:7]}.{kbo[7:]}" if len(kbo) == 10 else kbo


def kbo_check_digits(first8: int) -> int:
    """The last two digits of a company number whose first eight are ``first8``."""
    return 97 - first8 % 97


def onss_check_digits(base: int) -> int:
    cc = 96 - (base * 100) % 97
    return 97 if cc == 0 else cc


def normalize_onss(value: str) -> str:
    """Return the 9-digit ONSS matricule (7-digit base + 2 check digits), or raise."""
    raw = digits_only(value)
    if not raw:
        raise ValidationError("onss.required", "the ONSS number is required", "onss")
    if not raw.isdigit() or not raw.isascii():
        raise ValidationError("onss.digits", "the ONSS number has only digits", "onss")
    if len(raw) != 9:
        raise ValidationError("onss.length", "the ONSS number has 9 digits", "onss")
    if onss_check_digits(int(raw[:7])) != int(raw[7:]):
        raise ValidationError(
            "onss.check_digits", "the ONSS number's check digits are wrong", "onss"
        )
    return raw


def format_onss(onss: str | None) -> str:
    """``1234567xx`` → ``1234567-xx``; empty when there is none."""
    if not onss:
        return ""
    return f"{onss[:7]}-{onss[7:]}" if len(onss) == 9 else onss


# --- Technical user name -----------------------------------------------------------------------


def check_username(name: str, confirmation: str | None = None) -> str:
    """Apply the guide's rules for a technical user name; return it unchanged (case kept)."""
    if name == "":
        raise ValidationError("username.required", "the user name is required", "username")
    if any(ch.isspace() for ch in name):
        raise ValidationError("username.spaces", "no spaces are allowed", "username")
    bad = sorted({ch for ch in name if ch not in USERNAME_ALPHABET})
    if bad:
        raise ValidationError(
            "username.characters",
            "only digits 0-9 and letters a-z are allowed",
            "username",
            chars="".join(bad),
        )
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise ValidationError(
            "username.length",
            "a user name has 8 to 20 characters",
            "username",
            length=len(name),
            min=USERNAME_MIN,
            max=USERNAME_MAX,
        )
    if confirmation is not None and confirmation != name:
        raise ValidationError(
            "username.mismatch", "the confirmation differs from the user name", "username_confirm"
        )
    return name


# --- Portal login ------------------------------------------------------------------------------

LOGIN_MIN, LOGIN_MAX = 3, 50
LOGIN_ALPHABET = frozenset(string.ascii_letters + string.digits + ".-_")


def check_login(login: str) -> str:
    """A portal login's rules, as the technical user name's: 3 to 50 characters; only digits
    0-9, letters a-z (upper and lower case) and ``.`` ``-`` ``_``; no spaces. Returns it."""
    if login == "":
        raise ValidationError("field.required", "this field is required", "login")
    if any(ch.isspace() for ch in login):
        raise ValidationError("login.spaces", "no spaces are allowed in a login", "login")
    bad = sorted({ch for ch in login if ch not in LOGIN_ALPHABET})
    if bad:
        raise ValidationError(
            "login.characters",
            "only digits 0-9, letters a-z and . - _ are allowed",
            "login",
            chars="".join(bad),
        )
    if not LOGIN_MIN <= len(login) <= LOGIN_MAX:
        raise ValidationError(
            "login.length",
            "a login has 3 to 50 characters",
            "login",
            length=len(login),
            min=LOGIN_MIN,
            max=LOGIN_MAX,
        )
    return login


# --- Contact person ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactData:
    """The contact person's form, as entered (and as stored)."""

    last_name: str
    first_name: str
    title: str
    function: str
    language: str
    phone: str
    fax: str = ""
    mobile: str = ""
    emails: tuple[str, ...] = field(default_factory=tuple)


REQUIRED_CONTACT_FIELDS = ("last_name", "first_name", "title", "function", "language", "phone")


def check_email(value: str, field_name: str = "email") -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValidationError(
            "email.invalid", "this is not a valid e-mail address", field_name, value=value
        )
    return value


def check_phone(value: str, field_name: str = "phone") -> str:
    value = value.strip()
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 8 <= digits <= 15:
        raise ValidationError(
            "phone.invalid", "a phone number has 8 to 15 digits", field_name, value=value
        )
    return value


def check_contact(data: ContactData) -> ContactData:
    """Validate the whole form; raise ``ValidationErrors`` listing every broken rule."""
    errors: list[ValidationError] = []
    cleaned: dict[str, str] = {}
    for name in (
        "last_name",
        "first_name",
        "title",
        "function",
        "language",
        "phone",
        "fax",
        "mobile",
    ):
        value = getattr(data, name).strip()
        cleaned[name] = value
        if name in REQUIRED_CONTACT_FIELDS and not value:
            errors.append(ValidationError("field.required", "this field is required", name))
        elif len(value) > FIELD_MAX:
            errors.append(
                ValidationError("field.too_long", "this field is too long", name, max=FIELD_MAX)
            )
    if cleaned["title"] and cleaned["title"] not in TITLES:
        errors.append(ValidationError("contact.title", "choose a title from the list", "title"))
    if cleaned["language"] and cleaned["language"] not in LANGUAGES:
        errors.append(
            ValidationError("contact.language", "choose a language from the list", "language")
        )
    for name in ("phone", "fax", "mobile"):
        if cleaned[name]:
            try:
                cleaned[name] = check_phone(cleaned[name], name)
            except ValidationError as exc:
                errors.append(exc)
    emails: list[str] = []
    if len(data.emails) > MAX_EMAILS:
        errors.append(
            ValidationError(
                "contact.too_many_emails",
                "at most three e-mail addresses",
                "emails",
                max=MAX_EMAILS,
            )
        )
    for index, email in enumerate(data.emails[:MAX_EMAILS]):
        if email.strip():
            try:
                emails.append(check_email(email, f"email{index + 1}"))
            except ValidationError as exc:
                errors.append(exc)
    if not emails and not any(e.field and e.field.startswith("email") for e in errors):
        errors.append(
            ValidationError("contact.email_required", "at least one e-mail address", "email1")
        )
    if errors:
        raise ValidationErrors(errors)
    return ContactData(emails=tuple(emails), **cleaned)
