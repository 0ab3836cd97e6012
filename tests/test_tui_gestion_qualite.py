"""Gestion Qualité pages at 80x24 (Pilot, real SQLite file): Utilisateurs, détail de la
qualité, Rechercher utilisateurs."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable, Input, Select, Static

from screens.detail_qualite import DetailQualitePage
from screens.recherche import RecherchePage
from screens.user_dialogs import GiveAccessDialog, RoleDialog
from screens.utilisateurs import UtilisateursPage
from store.access import create_person, role_in
from store.models import (
    CO_GESTIONNAIRE,
    GESTIONNAIRE,
    PRESTATAIRE,
    UTILISATEUR,
    Organisation,
    Person,
    Qualite,
    Role,
)
from store.qualites import QualiteChanges, update_qualite
from tests.support.pilot import fill, settle
from tests.support.portal import enter_portal, open_page
from tests.support.registration import person_id, qualite_id
from tests.support.screen import SIZE, error_of, page_of, shown
from tui.app import ExpeditoApp
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.portal_header import PortalHeader

GESTIONNAIRE_ONLY = "Il n'y a que le gestionnaire local de la qualité qui peut modifier les rôles."
MANAGERS_ONLY = "Il n'y a que le gestionnaire local et le co-gestionnaire local de la qualité"

# --- Utilisateurs ---------------------------------------------------------------------------


def _select(app: ExpeditoApp, login: str) -> None:
    table = app.screen.query_one("#users", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(str(person_id(login))))


def _users(app: ExpeditoApp) -> list[list[str]]:
    table = app.screen.query_one("#users", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_users_listed_with_their_roles(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        assert isinstance(page_of(pilot), UtilisateursPage)
        assert _users(app) == [
            ["Dieter Expedito", "dieter", "Gestionnaire Local"],
            ["Colette Gestion", "colette", "Co-gestionnaire Local"],
            ["Ursula Lecture", "ursula", "Utilisateur"],
        ]
        assert "a : donner accès" in shown(pilot, "#users-note")


async def test_give_access_to_an_existing_person_by_email(app: ExpeditoApp) -> None:
    create_person("victor", "Secret12345", "Victor", "Venu", email="victor@demo.be")
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        app.screen.query_one("#users").focus()
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, GiveAccessDialog)
        await fill(pilot, "login_or_email", "nobody@nowhere.be")
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "login_or_email") == "Cette personne n'existe pas."
        await fill(pilot, "login_or_email", "ursula")
        await pilot.press("enter")
        await settle(pilot)
        assert (
            error_of(pilot, "login_or_email")
            == "Cette personne (ursula) a déjà accès à la qualité."
        )
        await fill(pilot, "login_or_email", "victor@demo.be")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen.query_one(UtilisateursPage), UtilisateursPage)
        assert role_in(person_id("victor"), qualite_id()) == UTILISATEUR
        assert ["Victor Venu", "victor", "Utilisateur"] in _users(app)
        assert (
            shown(pilot, "#users-status") == "M. Victor Venu a reçu l'accès en tant qu'Utilisateur."
        )


async def test_give_access_to_a_new_person_validated(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        app.screen.query_one("#users").focus()
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, GiveAccessDialog)
        dialog.query_one("#new").focus()
        await pilot.press("space")
        await pilot.pause()
        assert dialog.has_class("-new")
        await fill(pilot, "login", "nina nouveau")
        await fill(pilot, "password", "short1")
        await fill(pilot, "email", "not-an-email")
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "login") == "Pas d'espaces dans le login."
        assert error_of(pilot, "first_name") == "Ce champ est obligatoire."
        assert error_of(pilot, "last_name") == "Ce champ est obligatoire."
        assert error_of(pilot, "email") == "Adresse e-mail non valide : not-an-email."
        assert error_of(pilot, "password") == "Le mot de passe doit compter au moins 10 caractères."
        assert Person.get_or_none(Person.login == "nina nouveau") is None
        await fill(pilot, "login", "nina@demo")
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "login") == (
            "Les chiffres (0-9), les lettres de l'alphabet (a-z) et . - _ sont admis "
            "uniquement (refusé : @)."
        )
        await fill(pilot, "login", "nina")
        await fill(pilot, "password", "Secret12345")
        await fill(pilot, "first_name", "Nina")
        await fill(pilot, "last_name", "Nouveau")
        await fill(pilot, "email", "nina@demo.be")
        # One co-gestionnaire local per qualité: said as soon as the role is chosen...
        assert not dialog.query_one("#co-note").display
        dialog.query_one("#role", Select).value = CO_GESTIONNAIRE
        await pilot.pause()
        assert dialog.query_one("#co-note").display
        assert shown(pilot, "#co-note") == (
            "Il ne peut y avoir qu'un co-gestionnaire local par qualité : "
            "Mme Colette Gestion deviendra Utilisateur."
        )
        # ... and asked before Colette's role changes.
        dialog.query_one("#give", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Mme Colette Gestion deviendra Utilisateur." in shown(pilot, "#dialog-question")
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is dialog
        assert Person.get_or_none(Person.login == "nina") is None
        assert role_in(person_id("colette"), qualite_id()) == CO_GESTIONNAIRE
        dialog.query_one("#give", Button).press()
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, (GiveAccessDialog, ConfirmDialog))
        assert role_in(person_id("nina"), qualite_id()) == CO_GESTIONNAIRE
        assert role_in(person_id("colette"), qualite_id()) == UTILISATEUR
        assert ["Nina Nouveau", "nina", "Co-gestionnaire Local"] in _users(app)
        assert shown(pilot, "#users-status") == (
            "M. Nina Nouveau a reçu l'accès en tant que Co-gestionnaire Local. "
            "Mme Colette Gestion est maintenant Utilisateur."
        )


async def test_designate_and_remove_the_co_gestionnaire(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        _select(app, "ursula")
        await pilot.press("c")
        await settle(pilot)
        # Colette would lose her role: said and asked first.
        assert isinstance(app.screen, ConfirmDialog)
        assert shown(pilot, "#dialog-question") == (
            "Mme Ursula Lecture deviendra Co-gestionnaire Local.\n"
            "Mme Colette Gestion deviendra Utilisateur.\n"
            "Il ne peut y avoir qu'un co-gestionnaire local par qualité. Confirmer ?"
        )
        await pilot.press("escape")
        await settle(pilot)
        assert role_in(person_id("ursula"), qualite_id()) == UTILISATEUR
        assert role_in(person_id("colette"), qualite_id()) == CO_GESTIONNAIRE
        _select(app, "ursula")
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert role_in(person_id("ursula"), qualite_id()) == CO_GESTIONNAIRE
        assert role_in(person_id("colette"), qualite_id()) == UTILISATEUR
        assert shown(pilot, "#users-status") == (
            "Mme Ursula Lecture est maintenant Co-gestionnaire Local. "
            "Mme Colette Gestion est maintenant Utilisateur."
        )
        # Removing the role changes no one else: no question.
        _select(app, "ursula")
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert role_in(person_id("ursula"), qualite_id()) == UTILISATEUR


async def test_a_long_login_leaves_the_role_column_on_screen(app: ExpeditoApp) -> None:
    login = "victor.vandenbroucke-dewaele"
    create_person(login, "Secret12345", "Victor", "Vandenbroucke")
    Role.create(person=person_id(login), qualite=qualite_id(), role=UTILISATEUR)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        table = app.screen.query_one("#users", DataTable)
        widths = {str(key.value): column.width for key, column in table.columns.items()}
        assert table.virtual_size.width <= table.size.width  # no sideways scrolling
        assert widths["role"] == len("Co-gestionnaire Local")  # whole
        assert widths["login"] < len(login)  # cut, with "…"
        await pilot.press("f4")  # the sidebar hidden: room for the whole login
        await settle(pilot)
        widths = {str(key.value): column.width for key, column in table.columns.items()}
        assert table.virtual_size.width <= table.size.width
        assert widths["login"] == len(login)


async def test_remove_an_access_after_confirmation(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        _select(app, "ursula")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # changed my mind
        await settle(pilot)
        assert role_in(person_id("ursula"), qualite_id()) == UTILISATEUR
        _select(app, "ursula")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert role_in(person_id("ursula"), qualite_id()) is None
        assert [row[1] for row in _users(app)] == ["dieter", "colette"]


async def test_the_last_gestionnaire_cannot_be_removed(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        for key in ("x", "c", "enter"):
            _select(app, "dieter")
            await pilot.press(key)
            await settle(pilot)
            # Refused at once: no question first, no role dialog.
            assert isinstance(app.screen.query_one(UtilisateursPage), UtilisateursPage), key
            assert role_in(person_id("dieter"), qualite_id()) == GESTIONNAIRE
            assert (
                shown(pilot, "#users-status")
                == "La qualité doit garder son gestionnaire local : désignez-en d'abord un autre."
            )
            assert "error" in app.screen.query_one("#users-status").classes


async def test_handing_over_the_gestionnaire_role(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        _select(app, "colette")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RoleDialog)
        # Both rules said before anything is chosen.
        assert "fait de vous le co-gestionnaire local" in shown(pilot, "#role-note")
        assert "qu'un co-gestionnaire local par qualité" in shown(pilot, "#role-note")
        await pilot.press("up", "enter")  # from Co-gestionnaire Local up to Gestionnaire Local
        await settle(pilot)
        assert role_in(person_id("colette"), qualite_id()) == GESTIONNAIRE
        assert role_in(person_id("dieter"), qualite_id()) == CO_GESTIONNAIRE
        assert shown(pilot, "#users-status") == (
            "Mme Colette Gestion est maintenant Gestionnaire Local. "
            "M. Dieter Expedito est maintenant Co-gestionnaire Local."
        )
        # Dieter is now co-gestionnaire: the header says so, and the page is read-only.
        assert app.screen.query_one(PortalHeader).user.endswith("(Co-gestionnaire Local)")
        assert app.ctx is not None and app.ctx.role.role == CO_GESTIONNAIRE
        assert shown(pilot, "#users-note") == GESTIONNAIRE_ONLY
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, GiveAccessDialog)


async def test_co_gestionnaire_sees_users_read_only(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette", "utilisateurs")
        assert len(_users(app)) == 3
        assert shown(pilot, "#users-note") == GESTIONNAIRE_ONLY
        _select(app, "ursula")
        for key in ("a", "c", "x", "enter"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen.query_one(UtilisateursPage), UtilisateursPage)
        assert role_in(person_id("ursula"), qualite_id()) == UTILISATEUR
        assert {b.binding.action for b in app.screen.active_bindings.values() if b.enabled} & {
            "add",
            "role",
            "co",
            "remove",
        } == set()


# --- Détail de la qualité ---------------------------------------------------------------------


async def test_qualite_detail_change_updates_the_qualite_line(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "detail_qualite")
        assert isinstance(page_of(pilot), DetailQualitePage)
        assert app.screen.query_one("#kbo", Input).value == "0403.123.486"
        assert shown(pilot, "#kind") == "Employeur ONSS"
        assert shown(pilot, "#org-created") == "05/11/2010"
        await fill(pilot, "name", "ENTREPRISE DEMO SA")
        await pilot.press("enter")
        await settle(pilot)
        assert Organisation.get(Organisation.kbo == "0403123486").name == "ENTREPRISE DEMO SA"
        assert shown(pilot, "#detail-status") == "Les données de la qualité ont été modifiées."
        assert shown(pilot, "#qualite-line").startswith("Dénomination: ENTREPRISE DEMO SA; ")
        assert app.ctx is not None and app.ctx.qualite.organisation.name == "ENTREPRISE DEMO SA"
        # The qualité choice (F3) shows the new name too.
        assert any(
            r.qualite.organisation.name == "ENTREPRISE DEMO SA" for r in app.ctx.session.roles
        )


async def test_qualite_detail_numbers_checked(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "detail_qualite")
        await fill(pilot, "kbo", "0403123487")
        await pilot.press("tab")  # leaving the field checks it
        await pilot.pause()
        assert (
            error_of(pilot, "kbo")
            == "Les chiffres de contrôle du numéro d'entreprise sont incorrects."
        )
        await fill(pilot, "onss", "12345")
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "onss") == "Le matricule ONSS compte 9 chiffres."
        await fill(pilot, "name", "")
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "name") == "Ce champ est obligatoire."
        assert Organisation.get(Organisation.kbo == "0403123486").name == "ENTREPRISE DEMO"
        # Another organisation's number: refused by the service, shown next to the field.
        await fill(pilot, "name", "ENTREPRISE DEMO")
        await fill(pilot, "onss", "1234567-49")
        await fill(pilot, "kbo", "0876.543.270")
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "kbo") == "Une autre organisation a déjà ce numéro d'entreprise."
        assert error_of(pilot, "onss") == "" and error_of(pilot, "name") == ""
        # A valid ONSS number with other check digits is stored.
        await fill(pilot, "kbo", "0403123486")
        await fill(pilot, "onss", "7654321-40")
        await pilot.press("enter")
        await settle(pilot)
        q = Qualite.get_by_id(qualite_id())
        assert q.onss_number == "765432140", error_of(pilot, "onss")
        assert "Matricule ONSS: 7654321-40" in shown(pilot, "#qualite-line")


async def test_qualite_detail_read_only_for_a_utilisateur(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "detail_qualite")
        assert not page_of(pilot).query(Input)
        assert not page_of(pilot).query("#save")
        assert shown(pilot, "#name") == "ENTREPRISE DEMO"
        assert shown(pilot, "#onss") == "1234567-49"
        assert shown(pilot, "#read-only").startswith(MANAGERS_ONLY)


# --- Rechercher utilisateurs ------------------------------------------------------------------


def _many_persons(count: int) -> None:
    q = qualite_id()
    for i in range(count):
        person = Person.create(
            login=f"zed{i:03}",
            password_hash="x",
            first_name="Zed",
            last_name=f"Zoulou{i:03}",
            title="Mr",
            language="fr",
            email=f"zed{i:03}@demo.be",
            phone="",
            password_changed_at="2024-01-01 00:00:00",
            created_at="2024-01-01 00:00:00",
        )
        Role.create(person=person.id, qualite=q, role=UTILISATEUR)


def _results(app: ExpeditoApp) -> list[str]:
    """The logins found (the second line of each result's first column)."""
    table = app.screen.query_one("#results", DataTable)
    return [str(table.get_row_at(i)[0]).split("\n")[1] for i in range(table.row_count)]


async def test_search_as_you_type(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        assert isinstance(page_of(pilot), RecherchePage)
        assert _results(app) == ["dieter", "dieter", "colette", "ursula"]
        app.screen.query_one("#search").focus()
        await pilot.press("c", "o", "l")
        await settle(pilot)
        assert _results(app) == ["colette"]
        assert shown(pilot, "#search-count") == "Résultats 1–1 sur 1 · Entrée : ouvrir"
        await pilot.press(*"ette.gestion@")  # by e-mail
        await settle(pilot)
        assert _results(app) == ["colette"]
        await pilot.press("x")
        await settle(pilot)
        assert _results(app) == []
        assert shown(pilot, "#search-count") == "Aucun utilisateur trouvé."


async def test_a_large_scope_is_built_at_login(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manager of many organisations (here: two or more) gets their search's scope built in
    the background as they log in, before the search page is opened; others get nothing."""
    import threading

    from store import scope_search

    monkeypatch.setattr(scope_search, "LARGE_SCOPE", 2)
    started: list[tuple[int, int | None, threading.Thread | None]] = []
    prepare = scope_search.prepare

    def watched(actor_id: int, manager_roles: int | None = None) -> threading.Thread | None:
        thread = prepare(actor_id, manager_roles)
        started.append((actor_id, manager_roles, thread))
        return thread

    monkeypatch.setattr(scope_search, "prepare", watched)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await enter_portal(pilot, "dieter")
            [(actor, roles, thread)] = started
            assert actor == person_id("dieter") and roles is not None and roles >= 2
            assert thread is not None
            thread.join(timeout=60)
            assert scope_search.kept(actor) is not None
            await open_page(pilot, "recherche_utilisateurs")
            assert _results(app) == ["dieter", "dieter", "colette", "ursula"]
    finally:
        scope_search.forget()


async def test_search_keeps_its_query_when_the_language_changes(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        app.screen.query_one("#search").focus()
        await pilot.press("c", "o", "l")
        await settle(pilot)
        await app.action_language("de")
        await settle(pilot)
        assert page_of(pilot).query_one("#search", Input).value == "col"
        assert _results(app) == ["colette"]
        assert shown(pilot, "#search-count").startswith("Ergebnisse 1")


async def test_search_counts_up_to_a_cap(app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch) -> None:
    # The total is counted up to COUNT_CAP past the page's start: "more than", and the next
    # page is still there.
    from store import users

    monkeypatch.setattr(users, "COUNT_CAP", 25)
    _many_persons(45)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        app.screen.query_one("#search").focus()
        await pilot.press(*"zoulou")
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 1–20 sur plus de 25 · Entrée : ouvrir"
        await pilot.press("pagedown")
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 21–40 sur 45 · Entrée : ouvrir"
        assert _results(app)[0] == "zed020"


async def test_search_pages(app: ExpeditoApp) -> None:
    _many_persons(45)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        app.screen.query_one("#search").focus()
        await pilot.press(*"zoulou")
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 1–20 sur 45 · Entrée : ouvrir"
        assert _results(app)[0] == "zed000"
        await pilot.press("pagedown")
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 21–40 sur 45 · Entrée : ouvrir"
        assert _results(app)[0] == "zed020"
        await pilot.press("pagedown")
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 41–45 sur 45 · Entrée : ouvrir"
        await pilot.press("pagedown")  # no further page
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 41–45 sur 45 · Entrée : ouvrir"
        app.screen.query_one("#results").focus()
        await pilot.press("pageup")
        await settle(pilot)
        assert shown(pilot, "#search-count") == "Résultats 21–40 sur 45 · Entrée : ouvrir"
        # Typing again starts from the first page.
        app.screen.query_one("#search").focus()
        await pilot.press("0", "4")
        await settle(pilot)
        assert _results(app) == ["zed004", "zed040", "zed041", "zed042", "zed043", "zed044"]


async def test_search_ignores_accents_and_case(app: ExpeditoApp) -> None:
    for login, first, last in (("hmuller", "Hans", "Müller"), ("dvu", "Déjà", "Vu")):
        create_person(login, "Secret12345", first, last)
        Role.create(person=person_id(login), qualite=qualite_id(), role=UTILISATEUR)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        for typed, found in (
            ("muller", ["hmuller"]),
            ("MÜLLER", ["hmuller"]),
            ("Muller hans", ["hmuller"]),
            ("deja", ["dvu"]),
            ("DÉJÀ VU", ["dvu"]),
            ("expédito", ["dieter", "dieter"]),
        ):
            await fill(pilot, "search", typed)
            await settle(pilot)
            assert _results(app) == found, typed


async def test_two_qualites_of_one_person_told_apart_at_80_columns(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        table = app.screen.query_one("#results", DataTable)
        assert table.virtual_size.width <= table.size.width  # nothing beyond the right edge
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(2)]
        assert rows == [
            ["Expedito Dieter\ndieter", "ENTREPRISE DEMO\nEmployeur ONSS", "Gestionnaire\nLocal"],
            [
                "Expedito Dieter\ndieter",
                "SECRETARIAT DEMO\nSecrétariat soci…",
                "Gestionnaire\nLocal",
            ],
        ]


async def test_enter_on_a_result_opens_the_person_in_utilisateurs(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        await fill(pilot, "search", "lecture")
        await pilot.press("enter")  # to the results
        await settle(pilot)
        await pilot.press("enter")  # opens Ursula
        await settle(pilot)
        page = page_of(pilot)
        assert isinstance(page, UtilisateursPage)
        table = page.query_one("#users", DataTable)
        assert app.focused is table
        assert str(table.get_row_at(table.cursor_row)[1]) == "ursula"
        # Dieter in the other qualité: the portal switches to it.
        await open_page(pilot, "recherche_utilisateurs")
        await fill(pilot, "search", "")
        await settle(pilot)
        results = page_of(pilot).query_one("#results", DataTable)
        results.focus()
        results.move_cursor(row=1)  # Dieter, SECRETARIAT DEMO
        await pilot.press("enter")
        await settle(pilot)
        assert app.ctx is not None and app.ctx.qualite.organisation.name == "SECRETARIAT DEMO"
        page = page_of(pilot)
        assert isinstance(page, UtilisateursPage)
        table = page.query_one("#users", DataTable)
        assert str(table.get_row_at(table.cursor_row)[1]) == "dieter"


async def test_enter_on_a_qualite_without_a_role_of_mine_says_so(app: ExpeditoApp) -> None:
    # A second qualité of ENTREPRISE DEMO, where Ursula works and Dieter has no role.
    org = Organisation.get(Organisation.kbo == "0403123486")
    other = Qualite.create(organisation=org, kind=PRESTATAIRE, created_on=org.created_on)
    Role.create(person=person_id("ursula"), qualite=other, role=UTILISATEUR)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "recherche_utilisateurs")
        await fill(pilot, "search", "lecture")
        await settle(pilot)
        results = page_of(pilot).query_one("#results", DataTable)
        assert results.row_count == 2
        kinds = [str(results.get_row_at(i)[1]).split("\n")[1] for i in range(2)]
        row = next(i for i, kind in enumerate(kinds) if kind.startswith("Prestataire"))
        results.focus()
        results.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(page_of(pilot), RecherchePage)
        assert shown(pilot, "#search-status") == "Vous n'avez aucun rôle dans cette qualité."


async def test_search_refused_to_a_utilisateur(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "recherche_utilisateurs")
        assert not page_of(pilot).query("#search")
        assert shown(pilot, "#search-denied").startswith(MANAGERS_ONLY)
        page_text = "\n".join(str(w.render()) for w in page_of(pilot).query(Static))
        assert "ursula" not in page_text


def _renamed_elsewhere(name: str) -> None:
    """The co-gestionnaire renames the organisation in another session."""
    update_qualite(
        person_id("colette"), qualite_id(), QualiteChanges(name, "0403123486", "123456749")
    )


async def test_qualite_detail_shows_todays_data_and_keeps_what_was_typed(app: ExpeditoApp) -> None:
    """The form was built at login: changes made elsewhere since show when it opens; what the
    manager typed and left unsaved stays when they come back."""
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        _renamed_elsewhere("ENTREPRISE DEMO SRL")
        await open_page(pilot, "detail_qualite")
        await settle(pilot)
        assert page_of(pilot).query_one("#name", Input).value == "ENTREPRISE DEMO SRL"
        await fill(pilot, "name", "ENTREPRISE DEMO — brouillon")
        await open_page(pilot, "accueil")
        _renamed_elsewhere("ENTREPRISE DEMO SA")
        await open_page(pilot, "detail_qualite")
        await settle(pilot)
        assert page_of(pilot).query_one("#name", Input).value == "ENTREPRISE DEMO — brouillon"


async def test_what_was_typed_stays_when_the_language_changes(app: ExpeditoApp) -> None:
    """The form is built again in the new language with the unsaved value in it, and still
    counts as typed in (not reloaded when shown again); saving it then saves that value."""
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        await open_page(pilot, "detail_qualite")
        await settle(pilot)
        await fill(pilot, "name", "ENTREPRISE DEMO — brouillon")
        old_page = page_of(pilot)
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        page = page_of(pilot)
        assert page is not old_page  # built again, in Dutch…
        label = page.query_one("#row-name .field-label", Static)
        assert str(label.render()) == "Benaming *"
        assert page.query_one("#name", Input).value == "ENTREPRISE DEMO — brouillon"  # …with it
        await open_page(pilot, "accueil")
        await open_page(pilot, "detail_qualite")
        await settle(pilot)
        assert page_of(pilot).query_one("#name", Input).value == "ENTREPRISE DEMO — brouillon"
        assert Qualite.get_by_id(qualite_id()).organisation.name == "ENTREPRISE DEMO"  # unsaved


async def test_the_reload_of_a_form_keeps_the_keyboard_and_what_is_typed(app: ExpeditoApp) -> None:
    """Shown again, the form reloads after its first paint, into the fields already there: a
    Tab pressed at once stays in the first field, a change made elsewhere still arrives, and
    what is typed before the reload lands is not overwritten."""
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        await open_page(pilot, "detail_qualite")
        name = page_of(pilot).query_one("#name", Input)
        await open_page(pilot, "accueil")
        _renamed_elsewhere("ENTREPRISE DEMO SRL")
        app.screen.query_one("#menu").focus()
        await app.open_page("detail_qualite")
        await pilot.press("tab")  # before the reload lands
        await settle(pilot)
        assert app.focused is name and name.is_mounted  # the same field, kept
        assert name.value == "ENTREPRISE DEMO SRL"  # today's data arrived in it
        await open_page(pilot, "accueil")
        _renamed_elsewhere("ENTREPRISE DEMO SA")
        await app.open_page("detail_qualite")
        name.value = "ENTREPRISE DEMO SRL X"  # typed before the reload lands
        await settle(pilot)
        assert page_of(pilot).query_one("#name", Input).value == "ENTREPRISE DEMO SRL X"


async def test_typing_while_a_save_runs_is_kept(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "detail_qualite")
        page = page_of(pilot)
        assert isinstance(page, DetailQualitePage)
        await fill(pilot, "name", "ENTREPRISE DEMO SRL")
        page.save()  # sent…
        page.query_one("#name", Input).value = "ENTREPRISE DEMO SRL — suite"  # …typing goes on
        await settle(pilot)
        assert Qualite.get_by_id(qualite_id()).organisation.name == "ENTREPRISE DEMO SRL"
        assert page.query_one("#name", Input).value == "ENTREPRISE DEMO SRL — suite"
        assert page.typed_values() is not None  # still counts as typed: kept on a switch


async def test_two_quick_language_switches_keep_what_was_typed(app: ExpeditoApp) -> None:
    """The second switch comes while the pages of the first are being built ahead: each page
    is built once (it was built twice: the app stopped on a duplicate id), nothing typed is
    lost."""
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        await open_page(pilot, "detail_qualite")
        await fill(pilot, "name", "ENTREPRISE DEMO — brouillon")
        await open_page(pilot, "accueil")  # the form is no longer on show: rebuilt later
        await app.action_language("nl")
        await app.action_language("de")  # before the Dutch form was built again
        await settle(pilot)
        await open_page(pilot, "detail_qualite")
        assert page_of(pilot).query_one("#name", Input).value == "ENTREPRISE DEMO — brouillon"
