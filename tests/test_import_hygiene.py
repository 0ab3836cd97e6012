"""The headless layers never import Textual (DESIGN §2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.repo import ROOT


def _modules(package: str) -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


@pytest.mark.parametrize("package", ["store", "sync"])
def test_headless_package_does_not_import_textual(package: str) -> None:
    modules = _modules(package)
    assert modules, package
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'screens'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_cli_serve_path_does_not_import_textual() -> None:
    code = "import sys, tui.cli; print(any(m.startswith('textual') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
