"""Shared fixtures: a real SQLite file per test, the demo data set, demo credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from peewee import SqliteDatabase

from store.db import close_database, open_database

if TYPE_CHECKING:  # imported where used: the store's tests start without Textual
    from store.democreds import DemoCredentials
    from tui.app import ExpeditoApp


@pytest.fixture
def database(tmp_path: Path) -> Iterator[SqliteDatabase]:
    """A fresh, migrated SQLite file bound to the store's proxy."""
    database = open_database(tmp_path / "expedito.sqlite3")
    yield database
    close_database()


@pytest.fixture
def demo(database: SqliteDatabase) -> SqliteDatabase:
    """The fresh database with the demo data set."""
    from store.demo import seed_demo

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
def app(demo: SqliteDatabase) -> Iterator[ExpeditoApp]:
    """The Expedito app on the demo database, as ``expedito --demo --no-serve`` opens it (256
    colours), its countdown frozen at 14:17:26 (``app.back_office.clock``). An exception the
    app's guard kept the session through (``app.unexpected_errors``) fails the test."""
    from tests.support.clock import frozen_countdown
    from tui.app import ExpeditoApp

    app = ExpeditoApp(demo=True, ansi=False, **frozen_countdown())
    yield app
    assert not app.unexpected_errors, app.unexpected_errors
