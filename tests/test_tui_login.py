"""Login, the qualité choice, and the portal shell at 80x24 (Pilot, real SQLite file)."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, OptionList

from screens.accueil import AccueilPage
from screens.login import LoginScreen
from screens.qualite_choice import QualiteChoiceScreen
from store.clock import local_now
from store.models import LoginFailure
from tests.support.pilot import settle, settle_until
from tests.support.portal import log_in
from tests.support.screen import SIZE, screen_text, shown
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.portal_header import PortalHeader


async def test_login_screen_shows_demo_logins(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        demo = shown(pilot, "#demo-logins")
        assert "dieter" in demo and "colette" in demo and "ursula" in demo
        # The title, cut at 80 columns by the countdown beside it.
        assert (
            app.screen.query_one(PortalHeader).title_text
            == "Gestion d'accès pour Entreprises et Organisations"
        )
        assert "Gestion d'accès pour Entrepri" in screen_text(pilot)


async def test_login_not_demo_hides_demo_logins(demo: object) -> None:
    app = ExpeditoApp(demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query("#demo-logins")


async def test_wrong_password_says_nothing_about_which(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter", "wrong")
        assert isinstance(app.screen, LoginScreen)
        wrong_password = shown(pilot, "#login-message")
        assert wrong_password == "Login ou mot de passe incorrect."
        app.screen.query_one("#login", Input).value = ""
        app.screen.query_one("#login").focus()
        await log_in(pilot, "nobody", "wrong")
        assert shown(pilot, "#login-message") == wrong_password


async def test_repeated_failures_throttle(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        messages = []
        for attempt in range(4):
            if attempt == 3:
                assert LoginFailure.get(LoginFailure.login == "ursula").count == 3
                # the fourth try comes within a delay however slow the machine is: a longer one
                LoginFailure.update(count=8, last_at=local_now()).execute()
            app.screen.query_one("#login", Input).value = ""
            app.screen.query_one("#login").focus()
            await log_in(pilot, "ursula", "nope")
            messages.append(shown(pilot, "#login-message"))
        assert messages[:2] == ["Login ou mot de passe incorrect."] * 2
        # The third failure starts the delay, and says so; the fourth try is refused at once.
        assert messages[2] == (
            "Login ou mot de passe incorrect. Attendez 2 secondes avant de réessayer."
        )
        assert messages[3].startswith("Trop de tentatives échouées. Réessayez dans ")
        # a refused try is not counted as a failure
        assert LoginFailure.get(LoginFailure.login == "ursula").count == 8
        # Even the right password is refused while waiting (here: a longer wait, so the test
        # never races the clock).
        LoginFailure.update(count=8, last_at=local_now()).execute()
        app.screen.query_one("#login", Input).value = ""
        app.screen.query_one("#login").focus()
        await log_in(pilot, "ursula", "demo")
        assert isinstance(app.screen, LoginScreen)
        assert shown(pilot, "#login-message").startswith("Trop de tentatives échouées.")


async def test_dieter_chooses_a_qualite_then_sees_accueil(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        assert isinstance(app.screen, QualiteChoiceScreen)
        options = app.screen.query_one("#qualites", OptionList)
        assert options.option_count == 2
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
        page = app.screen.query_one(AccueilPage)
        welcome = str(page.query_one("#welcome").render())
        assert welcome.startswith(
            "Bienvenue M. Dieter Expedito, vous accédez en tant que "
            "Gestionnaire Local au portail de la Sécurité Sociale pour "
            "la qualité suivante:"
        )
        text = screen_text(pilot)
        assert (
            "Dénomination: ENTREPRISE DEMO; Numéro d'entreprise: 0403.123.486; "
            "Qualité: Employeur ONSS; Matricule ONSS: 1234567-49" in text
        )
        assert "Date de création: 05/11/2010" in text
        assert "Pensez à vérifier régulièrement les données de la qualité que vous gérez." in text


WRONG = "Login ou mot de passe incorrect."


def _type_at_once(app: ExpeditoApp, *keys: str) -> None:
    """Every key posted before the app handles the first: a password manager's auto-type,
    a paste, a terminal sending a burst."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(key, key))
        else:
            app.post_message(events.Key(key, "\r" if key == "enter" else None))


async def test_login_typed_ahead_goes_to_the_right_fields(app: ExpeditoApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        _type_at_once(app, *"colette", "tab", *"wrong", "enter")
        await settle_until(pilot, lambda: shown(pilot, "#login-message") == WRONG)
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#login", Input).value == "colette"  # not "colettewrong"
        assert shown(pilot, "#login-message") == WRONG
        # the password is cleared and has the keyboard; Enter from the login field goes
        # to the password too, and the whole password is sent, not its first letters
        app.screen.query_one("#login", Input).focus()
        await pilot.pause()
        _type_at_once(app, "enter", *"demo", "enter")
        await settle_until(pilot, lambda: not isinstance(app.screen, LoginScreen))
        assert not isinstance(app.screen, LoginScreen)
