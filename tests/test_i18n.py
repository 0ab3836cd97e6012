"""The catalogue is complete: every key in every language, every domain error code, every
page and every key binding of the app."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from screens.registry import PAGES, PLACEHOLDER, menu
from store.dto import SenderStatus
from store.errors import ValidationError, ValidationErrors
from tests.support.repo import ROOT
from tui.i18n import (
    LANGUAGES,
    CatalogueError,
    Translator,
    catalogue,
    error_text,
    has_key,
    load_catalogue,
    translate,
)

ERROR_CLASSES = {
    "ValidationError",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "AuthenticationFailed",
    "ExpeditoError",
}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_every_language() -> None:
    missing = [
        f"{key} [{lang}]"
        for key, texts in catalogue().items()
        for lang in LANGUAGES
        if not texts.get(lang, "").strip()
    ]
    assert not missing, missing


def test_translations_use_the_same_placeholders() -> None:
    odd = [
        key
        for key, texts in catalogue().items()
        if len({frozenset(_placeholders(texts[lang])) for lang in LANGUAGES}) != 1
    ]
    assert not odd, odd


def test_a_key_in_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": {"fr": "a"}}', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"x": {"fr": "b"}}', encoding="utf-8")
    with pytest.raises(CatalogueError):
        load_catalogue(tmp_path)


def _domain_error_codes() -> set[str]:
    codes: set[str] = set()
    for package in ("store", "sync"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ERROR_CLASSES
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    codes.add(node.args[0].value)
    return codes


def test_every_domain_error_code_is_translated() -> None:
    codes = _domain_error_codes()
    assert {"login.failed", "username.length", "role.manager_required"} <= codes
    missing = sorted(code for code in codes if not has_key(f"error.{code}"))
    assert not missing, missing


def test_error_text_fills_params_in_each_language() -> None:
    exc = ValidationError("username.length", "", "username", length=3, min=8, max=20)
    assert error_text(exc, "fr") == "Minimum 8 – maximum 20 caractères (3 donnés)."
    assert "8" in error_text(exc, "nl") and "20" in error_text(exc, "de")
    both = ValidationErrors([exc, ValidationError("username.spaces", "", "username")])
    assert error_text(both, "en").splitlines()[1] == "No spaces in the user name."
    assert error_text(RuntimeError("boom"), "en") == "An unexpected error occurred: boom"


def test_every_page_has_a_title_and_help_and_placeholders_say_what_they_hold() -> None:
    for spec in PAGES.values():
        assert has_key(spec.title_key), spec.id
        assert has_key(spec.help_key), spec.id
        if spec.target == PLACEHOLDER:
            assert has_key(f"page.{spec.id}.holds"), spec.id
        spec.load()  # the module and class exist


@pytest.mark.parametrize("active", [False, True])
def test_every_menu_label_is_translated(active: bool) -> None:
    status = SenderStatus(active, active, "EXPDEMO01" if active else None, None, ())
    for item in menu(status, is_manager=True):
        assert has_key(item.label_key), item


def _binding_ids() -> set[str]:
    ids: set[str] = set()
    for package in ("tui", "screens"):
        for path in (ROOT / package).rglob("*.py"):
            ids |= set(re.findall(r'Binding\([^)]*?id="([^"]+)"', path.read_text("utf-8"), re.S))
    return ids


def test_every_binding_has_an_id_and_a_translated_description() -> None:
    sources = "\n".join(
        p.read_text("utf-8")
        for package in ("tui", "screens")
        for p in (ROOT / package).rglob("*.py")
    )
    assert sources.count("Binding(") == len(re.findall(r"Binding\([^)]*?id=", sources, re.S))
    ids = _binding_ids()
    assert {"app.help", "app.quit", "shell.back"} <= ids
    missing = sorted(i for i in ids if not has_key(f"key.{i}"))
    assert not missing, missing


def test_translator_falls_back_to_french_then_the_key() -> None:
    assert Translator("xx")("shell.title") == translate("shell.title", "fr")
    assert translate("no.such.key", "nl") == "no.such.key"
    assert translate("login.wait", "en", wait=4) == "Wait 4 seconds before trying again."
