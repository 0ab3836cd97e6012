"""An error under a field ("Ce champ est obligatoire.") goes as soon as the field is right —
while typing, in the wizard's forms and the portal's — and new errors wait for the field to
be left or the form to be sent."""

from __future__ import annotations

from textual.widgets import ContentSwitcher, Input

from screens.wizard.wizard import Wizard
from store.democreds import DemoCredentials
from tests.support.pilot import settle, type_in
from tests.support.portal import choose_in_menu, enter_portal, open_page
from tests.support.screen import SIZE, error_of
from tests.support.wizard import fill_contact, load_channel
from tui.app import ExpeditoApp

REQUIRED = "Ce champ est obligatoire."


def step(app: ExpeditoApp) -> str | None:
    return app.screen.query_one(Wizard).query_one(ContentSwitcher).current


async def test_wizard_errors_go_once_the_field_is_right(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "enregistrement")
        await pilot.press("f7", "f7")  # Information → Personne de contact → Suivant, empty
        assert step(app) == "contact"
        assert error_of(pilot, "contact-last_name") == REQUIRED
        assert app.focused is not None and app.focused.id == "contact-last_name"
        await type_in(pilot, "E")
        assert error_of(pilot, "contact-last_name") == ""  # filled: gone at once
        assert error_of(pilot, "contact-first_name") == REQUIRED  # the others stay
        await pilot.press("backspace")
        assert error_of(pilot, "contact-last_name") == ""  # a new error waits for Suivant
        app.screen.query_one("#contact-email2", Input).focus()
        await type_in(pilot, "batch@entreprise-demo.be")  # any address will do
        assert error_of(pilot, "contact-email1") == ""
        app.screen.query_one("#contact-phone", Input).focus()
        await type_in(pilot, "02")  # filled, but too short: the error says so now
        assert error_of(pilot, "contact-phone").startswith("Un numéro de téléphone compte")
        app.screen.query_one("#contact-fax", Input).focus()
        await type_in(pilot, "02")  # no error shown there: it waits for Suivant
        assert error_of(pilot, "contact-fax") == ""
        await pilot.press("f7")
        assert error_of(pilot, "contact-fax") != ""
        app.screen.query_one("#contact-fax", Input).value = ""
        # The channel's step: "at least one application" goes with the first one ticked.
        app.screen.query_one("#contact-phone", Input).value = ""
        app.screen.query_one("#contact-last_name", Input).focus()
        await fill_contact(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "channel"
        await pilot.press("f7")
        await settle(pilot)
        assert error_of(pilot, "applications") != ""
        app.screen.query_one("#ssh_key-path", Input).focus()
        await load_channel(pilot, demo_credentials.ssh_public_key, None, downs=(0,))
        assert error_of(pilot, "applications") == ""
        # The technical user's name: the rules hold again, the error goes.
        app.screen.query_one("#certificate-path", Input).focus()
        await type_in(pilot, str(demo_credentials.certificate_der))
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "user"
        await pilot.press(*"court", "f7")
        await settle(pilot)
        assert error_of(pilot, "username").startswith("Minimum 8")
        await pilot.press("space")  # another rule broken: it says that one now
        assert "espace" in error_of(pilot, "username")
        await pilot.press("backspace", *"assez1")
        assert error_of(pilot, "username") == ""


async def test_portal_form_errors_go_once_the_field_is_right(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await open_page(pilot, "donnees_personnelles")
        page = app.screen.query_one("#page-donnees_personnelles")
        field = page.query_one("#first_name", Input)
        field.focus()
        field.value = ""
        await pilot.press("tab")  # leaving it checks it
        await pilot.pause()
        assert error_of(pilot, "first_name") == REQUIRED
        field.focus()
        await type_in(pilot, "D")
        assert error_of(pilot, "first_name") == ""
        email = page.query_one("#email", Input)
        email.focus()
        email.value = "x"
        await pilot.press("tab")
        await pilot.pause()
        assert error_of(pilot, "email") != ""
        email.focus()
        await pilot.pause()
        email.value = ""
        await type_in(pilot, "d@e")  # on its way, still wrong: the error says so
        assert error_of(pilot, "email") != ""
        await type_in(pilot, "ntreprise-demo.be")
        assert error_of(pilot, "email") == ""
