"""Snapshots (80x24) of every wizard step and of the overview, with the clock, the key and the
certificate fixed: ``pytest --snapshot-update`` rewrites them after a deliberate change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from peewee import SqliteDatabase
from textual.pilot import Pilot
from textual.widgets import Input

from store import senders
from store.democreds import DEMO_SERIAL, citizen_ca_name, make_test_certificate
from store.dto import ChannelInput
from tests.support.clock import frozen_countdown
from tests.support.pilot import settle, type_in
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.registration import CONTACT, DEMO_USER, REGISTERED_AT, person_id, qualite_id
from tests.support.snapshots import SnapCompare
from tests.support.wizard import fill_contact, load_channel
from tui.app import ExpeditoApp

KEY_FILE, CERT_FILE = "cle_ssh.pub", "signature.cer"


@pytest.fixture
def fixed(demo: SqliteDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fixed key and certificate in the working directory. The pages' dates and
    certificate checks and the next synchronisation come from the app's frozen clock
    (``app()``: 15/01/2026 14:17:26, next at 14:30)."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    (tmp_path / KEY_FILE).write_bytes(public + b" expedito-demo\n")
    ca_key = ec.derive_private_key(7, ec.SECP256R1())
    cert, _ = make_test_certificate(
        issuer=citizen_ca_name(),
        issuer_key=ca_key,
        key=ec.derive_private_key(11, ec.SECP256R1()),
        serial=DEMO_SERIAL,
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2029, 1, 1, tzinfo=UTC),
    )
    (tmp_path / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.DER))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def app() -> ExpeditoApp:
    return ExpeditoApp(demo=True, ansi=False, **frozen_countdown())


async def wizard_to(pilot: Pilot[None], step: str) -> None:
    await enter_portal(pilot)
    await choose_in_menu(pilot, "enregistrement")
    if step == "information":
        return
    await pilot.press("f7")
    if step == "contact":
        await pilot.press("f7")  # empty: the errors show next to the fields
        return
    await fill_contact(pilot)
    await pilot.press("f7")
    await load_channel(pilot, KEY_FILE, CERT_FILE)
    if step == "channel":
        await pilot.press("home")
        return
    await pilot.press("f7")
    await settle(pilot)
    if step == "user":
        return
    await type_in(pilot, "EXPDEMOENTREPRISE", paste=True)
    await pilot.press("tab")
    await type_in(pilot, "EXPDEMOENTREPRISE", paste=True)
    await pilot.press("f7")
    await settle(pilot)


def before(step: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await wizard_to(pilot, step)
        for field in pilot.app.screen.query(Input):  # the cursor shown, not caught blinking
            field.cursor_blink = False
        await settle(pilot)

    return run


@pytest.mark.parametrize("step", ["information", "contact", "channel", "user", "confirmation"])
def test_wizard_step(step: str, fixed: Path, snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=(80, 24), run_before=before(step))


def _register(fixed: Path) -> None:
    """The demo manager's sender, with the fixed key and certificate."""
    senders.register_sender(
        person_id("dieter"),
        qualite_id(),
        CONTACT,
        ChannelInput(
            kind="SFTP",
            applications=("dmfa", "dimona"),
            ssh_key=(fixed / KEY_FILE).read_text(),
            certificate=(fixed / CERT_FILE).read_bytes(),
        ),
        DEMO_USER,
        DEMO_USER,
        now=REGISTERED_AT,
    )


async def _open_overview(pilot: Pilot[None]) -> None:
    await enter_portal(pilot)
    await choose_in_menu(pilot, "apercu")
    await settle(pilot)


def test_overview(fixed: Path, snap_compare: SnapCompare) -> None:
    _register(fixed)
    assert snap_compare(app(), terminal_size=(80, 24), run_before=_open_overview)


def test_overview_scrolled_to_the_channel(fixed: Path, snap_compare: SnapCompare) -> None:
    _register(fixed)

    async def run(pilot: Pilot[None]) -> None:
        await _open_overview(pilot)
        pilot.app.screen.query_one("#page-area").scroll_to_widget(
            pilot.app.screen.query_one("#next-sync-sftp"), top=True, animate=False
        )
        await settle(pilot)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run)
