"""The translation catalogue: every string the user sees, in French, Dutch, German, English.

The catalogue is split by area — one JSON file per area in this folder (``shell.json``,
``login.json``, ``pages.json``, ``errors.json``, ...), each ``{key: {"fr": …, "nl": …,
"de": …, "en": …}}`` — and merged at first use. To add strings, add a file for your area (or
keys to it); a key defined in two files is an error, and ``tests/test_i18n.py`` fails when a
key lacks a language.

The app keeps the texts of the language on show and of the one before (``texts``: one
``{key: text}`` table each, read from the files when a language is first asked for), not the
four languages of every key (300 KiB); ``catalogue()`` is all of it, for the tests.

``{name}`` placeholders are filled from keyword arguments; a missing one is left as is.
Domain errors (``store.errors``) are translated by their ``code`` under ``error.<code>``
with ``error_text(exc, lang)``.
"""

from __future__ import annotations

import json
import string
import threading
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("fr", "nl", "de", "en")
HEADER_ORDER: tuple[str, ...] = ("nl", "fr", "de", "en")  # as the portal's header shows them
DEFAULT_LANGUAGE = "fr"
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}
CATALOGUE_DIR = Path(__file__).parent

Catalogue = dict[str, dict[str, str]]


class CatalogueError(Exception):
    """A catalogue file is malformed or two files define the same key."""


def load_catalogue(directory: Path = CATALOGUE_DIR) -> tuple[Catalogue, dict[str, str]]:
    """Merge every ``*.json`` file of ``directory``; returns (catalogue, key → file name)."""
    merged: Catalogue = {}
    origin: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise CatalogueError(f"{path.name}: expected an object of keys")
        for key, texts in data.items():
            if key in merged:
                raise CatalogueError(f"{key!r} is defined in {origin[key]} and {path.name}")
            if not isinstance(texts, dict):
                raise CatalogueError(f"{path.name}: {key!r} must map languages to texts")
            merged[key] = texts
            origin[key] = path.name
    return merged, origin


@cache
def catalogue() -> Catalogue:
    """Every key in every language (the tests'; the app asks ``texts``)."""
    return load_catalogue()[0]


KEPT_LANGUAGES = 2  # the language on show, and the one before it (a switch, a header link)
_tables: dict[str, dict[str, str]] = {}  # language → texts, the latest asked last
_tables_lock = threading.Lock()


def texts(lang: str) -> dict[str, str]:
    """Every key's text in ``lang`` (French where it has none): read from the catalogue's
    files the first time ``lang`` is asked for since the last ``KEPT_LANGUAGES`` others."""
    table = _tables.get(lang)
    if table is not None:
        return table
    with _tables_lock:
        if (table := _tables.get(lang)) is None:
            merged = load_catalogue()[0]
            table = {
                key: given.get(lang) or given.get(DEFAULT_LANGUAGE) or key
                for key, given in merged.items()
            }
            while len(_tables) >= KEPT_LANGUAGES:
                del _tables[next(iter(_tables))]
            _tables[lang] = table
    return table


def _any_texts() -> dict[str, str]:
    """The texts of a language already read (every language has every key)."""
    for table in list(_tables.values()):
        return table
    return texts(DEFAULT_LANGUAGE)


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_FORMATTER = string.Formatter()


def _fill(text: str, params: dict[str, Any]) -> str:
    if not params or "{" not in text:
        return text
    try:
        return _FORMATTER.vformat(text, (), _Params(params))
    except (ValueError, IndexError, AttributeError):
        return text


def has_key(key: str) -> bool:
    return key in _any_texts()


def code_name(t: Translator, prefix: str, code: str, fallback: str = "") -> str:
    """The catalogue's name of a code (key ``prefix.code``: a role, a flow, an application…);
    for a code it does not know, ``fallback``, else the code itself."""
    key = f"{prefix}.{code}"
    return t(key) if has_key(key) else (fallback or code)


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The text of ``key`` in ``lang`` (French, then the key itself, when missing)."""
    text = texts(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        return key
    return _fill(text, params)


class Translator:
    """``t("shell.title")`` in one language; pages get one in their context."""

    __slots__ = ("lang",)

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **params: Any) -> str:
        return translate(key, self.lang, **params)

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"


def error_text(exc: BaseException, lang: str = DEFAULT_LANGUAGE) -> str:
    """The user's-language message for a domain error (``store.errors``), with its params.

    Several validation errors at once (``ValidationErrors``) give one line each.
    """
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and len(errors) > 1:
        return "\n".join(error_text(error, lang) for error in errors)
    code = getattr(exc, "code", None)
    params: dict[str, Any] = dict(getattr(exc, "params", {}) or {})
    field = getattr(exc, "field", None)
    if field:
        params.setdefault("field", field)
    if isinstance(code, str) and has_key(f"error.{code}"):
        return translate(f"error.{code}", lang, **params)
    return translate("error.unexpected", lang, detail=str(exc) or type(exc).__name__)
