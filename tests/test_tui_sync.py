"""The app and the back office at 80x24: the countdown in the header, the notice pages get
when a cycle completes, the services run in the app's process unless ``--no-serve``, and a
taken SFTP port does not stop the app."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from peewee import SqliteDatabase
from textual.pilot import Pilot
from textual.widgets import Input, Static

from screens.base import Page
from store.db import Target
from store.democreds import DemoCredentials
from store.models import ACTIVE, Channel
from sync.cycle import run_cycle
from sync.services import ServiceConfig
from tests.support.clock import FakeClock, frozen_countdown, frozen_day
from tests.support.network import free_port, listening
from tests.support.pilot import settle
from tests.support.portal import enter_portal
from tests.support.registration import register_demo_sender
from tests.support.screen import SIZE, shown
from tests.support.serving import serving_app
from tui.app import ExpeditoApp
from tui.backoffice import SyncNotice, format_remaining


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, SyncNotice]]:
    """Every ``Page.sync_completed(notice)`` call, as ``(page id, notice)``."""
    seen: list[tuple[str, SyncNotice]] = []

    def record(page: Page, notice: SyncNotice) -> None:
        seen.append((page.page_id, notice))

    monkeypatch.setattr(Page, "sync_completed", record)
    return seen


async def _until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, tries: int = 200
) -> None:
    """Wait for something another thread does (the services' worker), a bounded while."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_remaining_time_is_rounded_up() -> None:
    assert format_remaining(754) == "12:34"
    assert format_remaining(753.2) == "12:34"
    assert format_remaining(0.4) == "00:01"
    assert format_remaining(1800) == "30:00"


async def test_the_countdown_shows_and_ticks_without_disturbing(app: ExpeditoApp) -> None:
    clock = app.back_office.clock
    assert isinstance(clock, FakeClock)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        assert shown(pilot, "#countdown") == "Synchro 14:30 — 12:34"
        focused = app.focused
        countdown = portal.query_one("#countdown", Static)
        layouts = countdown._layout_updates
        clock.advance(seconds=4)
        for _ in range(50):  # the 1-second interval, not a call of ours (a loaded machine
            await pilot.pause(0.1)  # can hold it past 1.2 s: up to 5 s)
            if shown(pilot, "#countdown") == "Synchro 14:30 — 12:30":
                break
        assert shown(pilot, "#countdown") == "Synchro 14:30 — 12:30"
        clock.set(frozen_day(14, 29, 59))
        app.tick_countdown()
        await pilot.pause()
        assert shown(pilot, "#countdown") == "Synchro 14:30 — 00:01"
        assert app.focused is focused  # ticking moves no focus…
        assert countdown._layout_updates == layouts  # …and lays nothing out again
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        assert shown(pilot, "#countdown") == "Synchro 14:30 — 00:01"  # 80 columns: short
        assert app.sync_status.text == "Volgende synchronisatie om 14:30 — over 00:01"
        clock.set(frozen_day(14, 30))
        app.tick_countdown()
        await pilot.pause()
        assert shown(pilot, "#countdown") == "Synchro 15:00 — 30:00"


async def test_typing_goes_on_while_the_countdown_ticks(app: ExpeditoApp) -> None:
    clock = app.back_office.clock
    assert isinstance(clock, FakeClock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        login = app.focused
        assert isinstance(login, Input)
        await pilot.press(*"die")
        for _ in range(3):
            clock.advance(seconds=1)
            app.tick_countdown()
            await pilot.pause()
        await pilot.press(*"ter")
        assert app.focused is login and login.value == "dieter"
        assert shown(pilot, "#countdown").endswith("— 12:31")


async def test_no_serve_app_learns_of_a_cycle_run_by_another_process(
    app: ExpeditoApp,
    demo_credentials: DemoCredentials,
    tmp_path: Path,
    notices: list[tuple[str, SyncNotice]],
) -> None:
    register_demo_sender(demo_credentials)
    clock = app.back_office.clock
    assert isinstance(clock, FakeClock)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        assert app.back_office.services is None  # --no-serve: no worker here
        app.tick_countdown()
        await settle(pilot)
        assert notices == [] and app.last_sync is None
        # 14:30: 'expedito serve' (here: the cycle itself, with the fake time) runs the slot
        clock.set(frozen_day(14, 30, 3))
        app.tick_countdown()  # the slot is not done yet: nothing to tell
        await settle(pilot)
        assert notices == []
        result = run_cycle(frozen_day(14, 30), tmp_path / "homes", clock.now, owner="serve")
        assert (result.status, result.provisioned) == ("done", 1)
        clock.advance(seconds=2)
        app.tick_countdown()
        await settle(pilot)
        assert app.last_sync == SyncNotice(frozen_day(14, 30))
        pages = {page_id for page_id, _ in notices}
        assert "accueil" in pages  # the page on show, and those kept hidden
        assert {notice for _, notice in notices} == {SyncNotice(frozen_day(14, 30))}
        count = len(notices)
        clock.advance(seconds=2)
        app.tick_countdown()
        await settle(pilot)
        assert len(notices) == count  # told once
        assert shown(pilot, "#countdown").endswith("15:00 — 29:53")


@pytest.fixture
def serving(demo: SqliteDatabase, tmp_path: Path) -> Iterator[tuple[ExpeditoApp, int]]:
    """The app as plain ``expedito`` runs it: the back office in its process (fake clock)."""
    app, port = serving_app(tmp_path)
    yield app, port
    app.back_office.stop()


async def test_the_app_runs_the_services_and_tells_the_pages(
    serving: tuple[ExpeditoApp, int],
    demo_credentials: DemoCredentials,
    notices: list[tuple[str, SyncNotice]],
) -> None:
    app, port = serving
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        services = app.back_office.services
        assert services is not None and app.back_office.sftp_error is None
        assert listening(port) and app.back_office.sftp_address == ("127.0.0.1", port)
        # the 14:00 slot was missed (no process ran): the worker runs it at start
        await _until(pilot, lambda: app.last_sync is not None, "the first cycle")
        assert app.last_sync == SyncNotice(frozen_day(14, 0), 1)
        assert Channel.get().status == ACTIVE
        await enter_portal(pilot)
        assert shown(pilot, "#countdown") == "Synchro 14:30 — 12:34"
        clock = app.back_office.clock
        assert isinstance(clock, FakeClock) and services._loop is not None
        services._loop.call_soon_threadsafe(clock.set, frozen_day(14, 30))  # the worker's loop
        await _until(pilot, lambda: notices, "the 14:30 cycle")
        assert app.last_sync == SyncNotice(frozen_day(14, 30), 0)
        assert ("accueil", SyncNotice(frozen_day(14, 30), 0)) in notices
    assert app.back_office.services is None  # stopped with the app
    assert not listening(port)


async def test_no_serve_starts_no_server(demo: SqliteDatabase) -> None:
    port = free_port()
    asked: list[Target | None] = []

    def config(db_path: Target | None) -> ServiceConfig:
        asked.append(db_path)
        return ServiceConfig(port=port)

    app = ExpeditoApp(
        demo=True, ansi=False, serve=False, service_config=config, **frozen_countdown()
    )
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        assert app.back_office.services is None and asked == []
        assert not listening(port)
        assert shown(pilot, "#countdown") == "Synchro 14:30 — 12:34"


async def test_a_taken_port_leaves_the_app_working(
    serving: tuple[ExpeditoApp, int], demo_credentials: DemoCredentials
) -> None:
    app, port = serving
    register_demo_sender(demo_credentials)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            assert isinstance(app.back_office.sftp_error, OSError)
            assert app.back_office.sftp_address is None
            # said at once (a notice lasts 10 s: a slow first cycle must not outlive it)
            await pilot.pause()
            assert any("Le serveur SFTP n'a pas démarré" in n.message for n in app._notifications)
            # the worker runs all the same: the cycle, and the countdown from it
            await _until(pilot, lambda: app.last_sync is not None, "the first cycle")
            assert Channel.get().status == ACTIVE
            await enter_portal(pilot)
            assert shown(pilot, "#countdown") == ("sans SFTP · Synchro 14:30 — 12:34")
        assert app.back_office.services is None
