"""The headless layers never import Textual (DESIGN §2); the app logged in has not imported
what only later pages and commands need (issue 18's memory after login)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


# What the app must not import by the time a manager is logged in and the pages are built
# ahead (issue 18's memory after login): each is imported where it is used (the module → the
# page or action that needs it).
LAZY_AT_LOGIN = {
    "screens.wizard.wizard": "Enregistrement's wizard, mounted when the page is first shown",
    "screens.wizard.channel_form": "the wizard's channel step",
    "screens.wizard.credential_field": "the wizard's key and certificate fields",
    "textual.widgets._selection_list": "the wizard's applications",
    "textual.widgets._content_switcher": "the wizard's steps",
    "tomllib": "the keymap file, only when there is one",
    "csv": "expedito report --format csv",
    "psycopg": "a PostgreSQL database only",
    "cryptography": "a key or certificate parsed",
}

LOGGED_IN = """
import asyncio, sys, time
import tui.app
from tui.cli import main


async def log_in(app):
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 60

        async def until(condition):
            while not condition():
                assert time.monotonic() < deadline, "the portal's pages were not built in 60 s"
                await pilot.pause(0.05)

        await until(lambda: app.store_ready.is_set())
        await pilot.press(*"dieter", "enter", *"demo", "enter")
        await until(lambda: type(app.screen).__name__ in ("QualiteChoiceScreen", "PortalScreen"))
        if type(app.screen).__name__ == "QualiteChoiceScreen":
            await pilot.press("enter")
        await until(lambda: type(app.screen).__name__ == "PortalScreen")
        portal = app.screen
        ahead = [
            page_id
            for page_id in portal.sidebar_pages
            if portal._page_class(page_id).PREBUILD
        ]
        await until(lambda: all(page_id in portal._pages for page_id in ahead))
        await until(lambda: not any(worker.is_running for worker in app.workers))
        await pilot.pause(0.2)
        print("built ahead:", len(ahead))
        print("imported:", ",".join(sorted(name for name in {lazy!r} if name in sys.modules)))
        app.exit()


tui.app.ExpeditoApp.run = lambda self, **kwargs: asyncio.run(log_in(self))
sys.exit(main(["--db", sys.argv[1], "--no-serve", "--debug"]))
"""


def test_the_app_logged_in_has_not_imported_what_later_pages_need(
    sqlite_templates: dict[bool, Path], tmp_path: Path
) -> None:
    """The app as ``expedito --db … --no-serve`` runs it (the command line, the store opened
    in a thread, the back office left out), the demo manager logged in and every page built
    ahead: none of ``LAZY_AT_LOGIN`` is imported."""
    database = tmp_path / "expedito.sqlite3"
    shutil.copyfile(sqlite_templates[True], database)
    result = subprocess.run(
        [sys.executable, "-c", LOGGED_IN.format(lazy=tuple(LAZY_AT_LOGIN)), str(database)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert int(lines["built ahead"]) >= 5, result.stdout
    imported = [name for name in lines["imported"].split(",") if name]
    assert not imported, {name: LAZY_AT_LOGIN[name] for name in imported}
