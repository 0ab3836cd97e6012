"""Shared fixtures: a real database per test (a SQLite file; in the modules marked
``both_backends``, a PostgreSQL database too), the demo data set, demo credentials."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from peewee import Database

from store.db import close_database, open_database

if TYPE_CHECKING:  # imported where used: the store's tests start without Textual
    from store.democreds import DemoCredentials
    from tests.support.intake import Partner
    from tests.support.postgres import PostgresServer
    from tui.app import ExpeditoApp

BACKENDS = ("sqlite", "postgresql")
DEMO_SEEDED = pytest.StashKey[bool]()  # the test's database is a copy of a seeded template


# The longest tests first (a minute or more each on 2 cores), then the wizard's (15-40 s each,
# last in name order otherwise): pytest-xdist hands tests out in this order (a first chunk of
# consecutive tests to each worker, then more to whichever runs short), so the long ones run
# while the short ones fill in around them, and the run ends on short tests instead of one
# worker finishing a long one long after the other is done.
LONGEST_FIRST = (
    "tests/test_tui_random_keys.py",
    "tests/test_tui_footer_fit.py",
    "tests/test_tui_wizard.py::test_whole_wizard_by_keys_then_overview",
    "tests/test_tui_wizard.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Pilot waits only for the widgets with something to do (``tests.support.pilot_wait``;
    Textual is loaded by pytest-textual-snapshot's plugin already)."""
    import screens.base
    import tui.heap
    from tests.support.pilot_wait import install

    install()
    # A page shown reloads once it has stayed on show (``Page.when_settled``): at once here,
    # where ``settle`` waits for it (``tests.support.pilot``); the delay is the bench's.
    screens.base.SETTLE = 0.02
    # A full collection once the pages are ready (``tui.heap``): a test process holds many
    # apps; the one test of it turns it on.
    tui.heap.ENABLED = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test of a module marked ``both_backends`` that uses ``database`` runs on each
    backend (ids ``[sqlite]``, ``[postgresql]``), unless the test itself is marked
    ``sqlite_only`` or ``postgresql_only`` (with its reason); elsewhere ``database`` is
    SQLite."""
    definition = metafunc.definition
    if "database" not in metafunc.fixturenames or not definition.get_closest_marker(
        "both_backends"
    ):
        return
    if definition.get_closest_marker("postgresql_only"):
        metafunc.parametrize("database", ("postgresql",), indirect=True)
    elif not definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("database", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 15 for the session (each xdist worker its own):
    ``tests.support.postgres``."""
    from tests.support.postgres import available, start_server

    missing = available()
    if missing is not None:
        pytest.fail(missing)  # not a skip: the README's test command runs both backends
    server = start_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Two SQLite files made once per session (each xdist worker its own), which each test's
    database copies: migrated (key False), and migrated with the demo data set (True;
    ``store.demo.seed_demo``, whose password hashes are most of a test's set-up otherwise) —
    as ``tests.support.postgres`` does with template databases."""
    from store.demo import seed_demo

    folder = tmp_path_factory.mktemp("sqlite-templates")
    templates: dict[bool, Path] = {}
    for seeded in (False, True):
        path = folder / ("demo.sqlite3" if seeded else "migrated.sqlite3")
        open_database(path)
        if seeded:
            seed_demo()
        close_database()
        # The last connection closed checkpoints the WAL into the file: the file is all of it.
        assert not path.with_name(f"{path.name}-wal").exists(), path
        templates[seeded] = path
    return templates


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database bound to the store's proxy: a SQLite file, or (param
    ``postgresql``) a PostgreSQL database of its own; a copy of a template (with the demo
    data set when the test uses ``demo``)."""
    seeded = "demo" in request.fixturenames  # a copy of the seeded template: ``demo``
    request.node.stash[DEMO_SEEDED] = seeded
    if getattr(request, "param", "sqlite") == "postgresql":
        from tests.support.postgres import DEMO_TEMPLATE, TEMPLATE

        server: PostgresServer = request.getfixturevalue("postgresql_server")
        url = server.fresh(DEMO_TEMPLATE if seeded else TEMPLATE)
        database = open_database(url)
        yield database
        close_database()
        server.drop(url)
        return
    templates: dict[bool, Path] = request.getfixturevalue("sqlite_templates")
    path = tmp_path / "expedito.sqlite3"
    shutil.copyfile(templates[seeded], path)
    database = open_database(path)
    yield database
    close_database()


@pytest.fixture
def demo(request: pytest.FixtureRequest, database: Database) -> Database:
    """The fresh database with the demo data set (a copy of the seeded template:
    ``sqlite_templates``, ``tests.support.postgres``)."""
    from store.demo import seed_demo

    if not request.node.stash.get(DEMO_SEEDED, False):
        seed_demo()
    return database


@pytest.fixture(scope="session")
def demo_credentials(tmp_path_factory: pytest.TempPathFactory) -> DemoCredentials:
    """The demo SSH key pair and eID-like signature certificate, made once per session, valid
    both now and at the frozen clock of the app's tests (``tests.support.clock.FROZEN``)."""
    from store.democreds import write_demo_credentials
    from tests.support.clock import FROZEN

    return write_demo_credentials(tmp_path_factory.mktemp("demo-credentials"), valid_from=FROZEN)


@pytest.fixture
def partner(demo: Database, demo_credentials: DemoCredentials, tmp_path: Path) -> Partner:
    """The intake tests' partner: the demo sender provisioned, its home under ``homes/``, an
    intake dated ``NOW`` with no periodic rescan, and the signing pair
    (``tests.support.intake.new_partner``)."""
    from tests.support.intake import new_partner

    return new_partner(demo_credentials, tmp_path / "homes")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real small disk (2 MiB), to fill up or make read-only (``tests.support.disk``)."""
    from tests.support.disk import mounted_tmpfs

    with mounted_tmpfs(tmp_path / "tmpfs") as mount:
        yield mount


@pytest.fixture
def app(demo: Database) -> Iterator[ExpeditoApp]:
    """The Expedito app on the demo database, as ``expedito --demo --no-serve`` opens it (256
    colours), its countdown frozen at 14:17:26 (``app.back_office.clock``). An exception the
    app's guard kept the session through (``app.unexpected_errors``) fails the test."""
    from tests.support.clock import frozen_countdown
    from tui.app import ExpeditoApp

    app = ExpeditoApp(demo=True, ansi=False, **frozen_countdown())
    yield app
    assert not app.unexpected_errors, app.unexpected_errors
