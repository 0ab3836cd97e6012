"""The qualité choice of a manager of many qualités (a social secretariat's): a filter field
above the list, the first ``SHOWN`` that match and how many there are; accents and case
ignored; company and ONSS numbers with or without their dots; Enter takes the one
highlighted, the arrows move in the list from the field. A manager of two has no field."""

from __future__ import annotations

from datetime import date

from textual.widgets import Input, OptionList, Static

from screens.qualite_choice import SHOWN, QualiteChoiceScreen
from store.models import Organisation, Person, Qualite, Role
from tests.support.pilot import settle
from tests.support.portal import log_in
from tests.support.screen import SIZE, screen_text
from tui.app import ExpeditoApp
from tui.shell import PortalScreen

MANY = SHOWN + 30


def kbo(i: int) -> str:
    """A company number with its check digits: 0 8xx xxx xxx."""
    first = 800_000_00 + i * 13
    return f"0{first:08d}"[:8] + f"{97 - int(f'0{first:08d}'[:8]) % 97:02d}"


def give_dieter_many_qualites() -> str:
    """``MANY`` more qualités for dieter; the name of the one to find."""
    dieter = Person.get(Person.login == "dieter")
    role = Role.get(Role.person == dieter).role
    for i in range(MANY):
        name = "Café Déjà Vu SPRL" if i == 77 else f"SOCIÉTÉ {i:03d} MÜLLER"
        org = Organisation.create(name=name, kbo=kbo(i), created_on=date(2020, 1, 1))
        qualite = Qualite.create(
            organisation=org,
            kind="employeur_onss",
            onss_number=f"{5000000 + i:07d}{i % 100:02d}",
            created_on=date(2020, 1, 1),
        )
        Role.create(person=dieter, qualite=qualite, role=role)
    return "Café Déjà Vu SPRL"


def options(app: ExpeditoApp) -> list[str]:
    menu = app.screen.query_one("#qualites", OptionList)
    return [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)]


async def test_many_qualites_are_filtered_as_one_types(app: ExpeditoApp) -> None:
    wanted = give_dieter_many_qualites()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QualiteChoiceScreen)
        field = screen.query_one("#qualite-filter", Input)
        assert screen.focused is field
        total = MANY + 2
        assert len(options(app)) == SHOWN
        count = str(screen.query_one("#qualite-count", Static).render())
        assert (
            count == f"Qualités : les {SHOWN} premières de {total} sur {total} — précisez le filtre"
        )
        assert field.placeholder == "Filtrer : nom, numéro d'entreprise ou matricule ONSS"
        menu = screen.query_one("#qualites", OptionList)
        assert field.region.height == 3 and menu.region.height >= 10  # all in 80x24
        assert menu.region.bottom <= SIZE[1] - 1

        await pilot.press(*"deja")  # no accent, any case
        await settle(pilot)
        assert [o.split(" (")[0] for o in options(app)] == [wanted]
        assert str(screen.query_one("#qualite-count", Static).render()) == (
            f"Qualités : 1 sur {total}"
        )
        for _ in "deja":
            await pilot.press("backspace")
        await pilot.press(*"MULLER emp")  # every word, anywhere: all but the café
        await settle(pilot)
        found = options(app)
        assert len(found) == SHOWN and all("MÜLLER" in o for o in found)
        assert str(screen.query_one("#qualite-count", Static).render()) == (
            f"Qualités : les {SHOWN} premières de {MANY - 1} sur {total} — précisez le filtre"
        )
        await pilot.press("down", "down", "enter")  # the third, from the field
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
        assert found[2].split(" (")[0] in screen_text(pilot)


async def test_numbers_are_found_with_or_without_their_dots(app: ExpeditoApp) -> None:
    give_dieter_many_qualites()
    number = kbo(5)
    shown_number = f"{number[:4]}.{number[4:7]}.{number[7:]}"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        await settle(pilot)
        for typed in (number, shown_number):
            field = app.screen.query_one("#qualite-filter", Input)
            field.value = typed
            await settle(pilot)
            assert [o.split(" (")[0] for o in options(app)] == ["SOCIÉTÉ 005 MÜLLER"], typed
        field.value = "nothing like this"
        await settle(pilot)
        assert options(app) == []
        await pilot.press("enter")  # nothing to take: stays
        await settle(pilot)
        assert isinstance(app.screen, QualiteChoiceScreen)


async def test_enter_in_the_field_at_once_takes_the_first(app: ExpeditoApp) -> None:
    give_dieter_many_qualites()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        await settle(pilot)
        assert isinstance(app.screen, QualiteChoiceScreen)
        first = options(app)[0].split(" (")[0]
        await pilot.press("enter")  # nothing typed, no arrow: the first on the list
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
        assert first in screen_text(pilot)


async def test_a_manager_of_two_has_no_filter(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        await settle(pilot)
        assert isinstance(app.screen, QualiteChoiceScreen)
        assert not app.screen.query("#qualite-filter")
        assert len(options(app)) == 2
