"""The demo's second qualité comes with a sender, an active SFTP channel and received sets
(store.demo_sender), so Aperçu, Envois reçus and the Routing Module can be tried at once."""

from __future__ import annotations

from peewee import SqliteDatabase
from textual.widgets import DataTable, OptionList

from screens.envois import EnvoisPage
from store.batches import sender_batch_sets
from store.demo_sender import SETS, TECHNICAL_USER, seed_demo_sender
from store.models import ACTIVE, Channel, Sender
from store.senders import sender_status
from tests.support.clock import FROZEN
from tests.support.pilot import settle
from tests.support.portal import log_in, open_page
from tests.support.registration import qualite_id
from tests.support.screen import SIZE, page_of, screen_text
from tui.app import ExpeditoApp

SECRETARIAT = "0876543270"


def test_the_second_qualite_has_sent_already(demo: SqliteDatabase) -> None:
    number = seed_demo_sender(FROZEN)
    assert number is not None
    status = sender_status(qualite_id(SECRETARIAT))
    assert (status.has_active_sender, status.technical_user, status.channel_kinds) == (
        True,
        TECHNICAL_USER,
        ("SFTP",),
    )
    sender = Sender.get(Sender.number == number)
    assert [c.status for c in Channel.select().where(Channel.sender == sender.id)] == [ACTIVE]
    sets = sender_batch_sets(sender.id)
    assert len(sets) == len(SETS)
    assert sorted(s.status for s in sets) == ["accepted"] * 4 + ["rejected"]
    assert all(s.ack_name and s.ticket for s in sets)
    # The first qualité is left to be registered, and a second seeding adds nothing.
    assert not sender_status(qualite_id()).has_active_sender
    assert seed_demo_sender(FROZEN) is None
    assert Sender.select().count() == 1


async def test_envois_apercu_and_routing_of_the_second_qualite(app: ExpeditoApp) -> None:
    seed_demo_sender(FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        choice = app.screen.query_one("#qualites", OptionList)
        choice.highlighted = 1  # SECRETARIAT DEMO
        await pilot.press("enter")
        await settle(pilot)
        assert app.ctx is not None and app.ctx.qualite.organisation.name == "SECRETARIAT DEMO"
        await open_page(pilot, "envois")
        page = page_of(pilot)
        assert isinstance(page, EnvoisPage)
        assert page.query_one("#envois", DataTable).row_count == len(SETS)
        await open_page(pilot, "apercu")
        text = screen_text(pilot)
        assert TECHNICAL_USER in text and "Sophie" in text
        await open_page(pilot, "routing_module")
        await pilot.press("enter")  # choose the first flow's channel: SFTP is offered
        await settle(pilot)
        assert "SFTP" in screen_text(pilot)
