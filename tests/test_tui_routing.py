"""Routing Module pages at 80x24 (Pilot, real SQLite file)."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList

from screens.routing import ChannelDialog, RoutingInformationsPage, RoutingModulePage
from store import senders
from store.democreds import DemoCredentials
from store.dto import ChannelInput
from store.models import RoutingChoice
from tests.support.pilot import settle
from tests.support.portal import enter_portal
from tests.support.registration import person_id, qualite_id, register_demo_sender
from tests.support.screen import SIZE, page_of, shown
from tui.app import ExpeditoApp


def _routes(app: ExpeditoApp) -> dict[str, str]:
    table = app.screen.query_one("#routes", DataTable)
    return {
        str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1]) for i in range(table.row_count)
    }


def _with_sender(creds: DemoCredentials) -> None:
    dieter, q = person_id("dieter"), qualite_id()
    register_demo_sender(creds, now=None)
    senders.add_channel(
        dieter,
        q,
        ChannelInput(
            kind="MQLINK", applications=("chantier",), mq_queue_manager="QM1", mq_queue="Q.IN"
        ),
    )


async def test_informations_in_four_languages(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "routing_informations")
        assert isinstance(page_of(pilot), RoutingInformationsPage)
        assert shown(pilot, "#routing-info-1").startswith(
            "Le Routing Module (aujourd'hui appelé DestHa) permet de choisir"
        )
        await pilot.press("f2")  # nl
        await settle(pilot)
        assert shown(pilot, "#routing-info-1").startswith("Met de Routing Module")
        await pilot.press("f2")
        await settle(pilot)
        assert shown(pilot, "#routing-info-1").startswith("Mit dem Routing Module")
        await pilot.press("f2")
        await settle(pilot)
        assert shown(pilot, "#routing-info-3").startswith("By default, with no mandatary")


async def test_defaults_and_only_the_ebox_without_a_sender(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "routing_module")
        assert isinstance(page_of(pilot), RoutingModulePage)
        assert set(_routes(app).values()) == {"e-Box (défaut)"}
        assert "Notifications DmfA" in _routes(app)
        app.screen.query_one("#routes").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChannelDialog)
        options = app.screen.query_one("#channels", OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["EBOX"]
        await pilot.press("escape")
        await settle(pilot)
        assert RoutingChoice.select().count() == 0


async def test_manager_routes_a_flow_to_a_batch_channel(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    _with_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette", "routing_module")  # the co-gestionnaire may
        app.screen.query_one("#routes").focus()
        await pilot.press("m")
        await settle(pilot)
        options = app.screen.query_one("#channels", OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
            "EBOX",
            "SFTP",
            "MQLINK",
        ]
        await pilot.press("down", "enter")
        await settle(pilot)
        choice = RoutingChoice.get(RoutingChoice.flow == "dmfa_notifications")
        assert choice.channel_kind == "SFTP"
        assert _routes(app)["Notifications DmfA"] == "SFTP"
        assert shown(pilot, "#routing-status") == "Notifications DmfA : canal SFTP."
        # The last flow to MQLink, then the channel is deleted: it returns to the e-Box.
        await pilot.press("down", "down", "down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChannelDialog)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert _routes(app)["Chantiers"] == "MQLink"
        senders.remove_channel(person_id("dieter"), qualite_id(), "MQLINK")
        app.screen.query_one(RoutingModulePage).load()
        await settle(pilot)
        assert _routes(app)["Chantiers"] == "e-Box (défaut)"
        assert _routes(app)["Notifications DmfA"] == "SFTP"


async def test_utilisateur_sees_the_routing_read_only(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    _with_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "routing_module")
        assert shown(pilot, "#routing-note").startswith(
            "Il n'y a que le gestionnaire local et le co-gestionnaire local de la qualité"
        )
        app.screen.query_one("#routes").focus()
        for key in ("m", "enter"):
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ChannelDialog)
        assert RoutingChoice.select().count() == 0
