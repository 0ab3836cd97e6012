"""Seeded random keys over every page and the wizard, as the demo manager and the demo user, at
80x24: the app never crashes, never ends, and its guard never had to catch anything.

5,000 keys in all, in four runs that pytest-xdist can spread. A failure prints the seed and
the last keys; ``EXPEDITO_KEYS_SEED=<seed>`` replays one run with that seed."""

from __future__ import annotations

import os
import random
import string
from collections import deque

import pytest
from textual import events

from screens.login import LoginScreen
from screens.qualite_choice import QualiteChoiceScreen
from tests.support.pilot import settle
from tests.support.portal import log_in
from tests.support.screen import SIZE
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.sidebar import Sidebar

NAVIGATION = [
    "up",
    "down",
    "left",
    "right",
    "tab",
    "shift+tab",
    "enter",
    "escape",
    "pageup",
    "pagedown",
    "home",
    "end",
    "space",
]
FUNCTION = [f"f{n}" for n in (1, 3, 4, 5, 6, 7, 8, 9)]  # F10 quits: not a random key
LANGUAGE = "f2"  # rebuilds every page: rarer, or the run takes minutes
TYPED = list(string.ascii_lowercase + string.digits)
KEYS_PER_RUN = 1250
PAGE_EVERY = 60  # keys, then the next page of the sidebar (the wizard among them)
BURST = 6  # keys sent at once, as typed ahead, before waiting for the app to catch up


def _key(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.005:
        return LANGUAGE
    if kind < 0.56:
        return rng.choice(NAVIGATION)
    if kind < 0.70:
        return rng.choice(FUNCTION)
    return rng.choice(TYPED)


def _send(app: ExpeditoApp, key: str) -> None:
    """One key as the terminal sends it (Pilot's ``press`` waits twice for the app to be
    idle after each key: 5,000 keys would take minutes)."""
    char = " " if key == "space" else key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    app.post_message(event)


async def _into_portal(app: ExpeditoApp, pilot, login: str) -> PortalScreen:  # type: ignore[no-untyped-def]
    """Back to the portal from wherever the keys led: a dialog, the login page."""
    for _ in range(5):
        screen = app.screen
        if isinstance(screen, PortalScreen):
            return screen
        if isinstance(screen, LoginScreen):
            screen.reset(app.lang)
            await settle(pilot)
            await log_in(pilot, login)
        elif isinstance(screen, QualiteChoiceScreen):
            await pilot.press("enter")
        else:
            app.pop_screen()
        await settle(pilot)
    raise AssertionError(f"cannot get back to the portal from {app.screen}")


@pytest.mark.parametrize(
    ("login", "run"), [("dieter", 0), ("dieter", 1), ("ursula", 0), ("ursula", 1)]
)
async def test_random_keys_never_crash(app: ExpeditoApp, login: str, run: int) -> None:
    seed = int(os.environ.get("EXPEDITO_KEYS_SEED", 0)) or (1800 + 10 * run + len(login))
    rng = random.Random(seed)
    last: deque[str] = deque(maxlen=40)
    pressed = 0
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            portal = await _into_portal(app, pilot, login)
            pages = portal.query_one(Sidebar).pages
            while pressed < KEYS_PER_RUN:
                portal = await _into_portal(app, pilot, login)
                page = pages[(pressed // PAGE_EVERY) % len(pages)]
                last.append(f"<open {page}>")
                await app.open_page(page)
                await settle(pilot)
                for _ in range(PAGE_EVERY // BURST):
                    for _ in range(BURST):
                        key = _key(rng)
                        last.append(key)
                        _send(app, key)
                        pressed += 1
                    await pilot.pause()
                    assert app.is_running, "the app ended"
                    assert not app.unexpected_errors, app.unexpected_errors
                await settle(pilot)
            assert not app.unexpected_errors, app.unexpected_errors
    except BaseException as error:
        raise AssertionError(
            f"random keys as {login}: seed {seed} (EXPEDITO_KEYS_SEED), "
            f"{pressed} keys pressed, the last: {' '.join(last)}"
        ) from error
