"""Données personnelles pages at 80x24 (Pilot, real SQLite file): my data, my password (and
what happens to my other sessions), my certificate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from textual.pilot import Pilot
from textual.widgets import Button, DirectoryTree, Input, Select

from screens.certificat import CertificatPage
from screens.donnees_personnelles import DonneesPersonnellesPage
from screens.login import LoginScreen
from screens.mot_de_passe import MotDePassePage
from screens.wizard.file_browser import FileBrowser
from store.access import authenticate
from store.democreds import make_test_certificate
from store.errors import AuthenticationFailed
from store.models import Person, PersonCertificate
from store.personal import change_password
from tests.support.credentials import ENCRYPTION_ONLY, fixed_certificate, new_ssh_key
from tests.support.pilot import fill, settle, settle_tree
from tests.support.portal import choose_in_menu, enter_portal, log_in, open_page
from tests.support.registration import person_id
from tests.support.screen import SIZE, error_of, page_of, shown
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.portal_header import PortalHeader

# --- Modifier mes données personnelles --------------------------------------------------------


async def test_personal_data_saved(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "donnees_personnelles")
        assert isinstance(page_of(pilot), DonneesPersonnellesPage)
        assert app.screen.query_one("#email", Input).value == "ursula.lecture@entreprise-demo.be"
        await fill(pilot, "last_name", "Lecture-Neuve")
        await fill(pilot, "phone", "+32 2 545 50 81")
        app.screen.query_one("#title", Select).value = "Mr"
        await pilot.press("enter")
        await settle(pilot)
        person = Person.get(Person.login == "ursula")
        assert (person.title, person.last_name, person.phone) == (
            "Mr",
            "Lecture-Neuve",
            "+32 2 545 50 81",
        )
        assert shown(pilot, "#personal-status") == "Vos données personnelles ont été enregistrées."
        assert app.screen.query_one(PortalHeader).user == "M. Ursula Lecture-Neuve (Utilisateur)"


async def test_personal_data_errors_next_to_each_field(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "donnees_personnelles")
        await fill(pilot, "first_name", "")
        await fill(pilot, "email", "ursula@")
        await fill(pilot, "phone", "12")
        await fill(pilot, "last_name", "L" * 101)
        await pilot.press("enter")
        await settle(pilot)
        assert error_of(pilot, "first_name") == "Ce champ est obligatoire."
        assert error_of(pilot, "email") == "Adresse e-mail non valide : ursula@."
        assert error_of(pilot, "phone") == "Un numéro de téléphone compte 8 à 15 chiffres."
        assert error_of(pilot, "last_name") == "Ce champ est trop long (maximum 100 caractères)."
        assert Person.get(Person.login == "ursula").first_name == "Ursula"
        await fill(pilot, "email", "")
        await pilot.press("tab")
        await pilot.pause()
        assert error_of(pilot, "email") == "Ce champ est obligatoire."


async def test_a_new_language_switches_the_interface_at_once(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette", "donnees_personnelles")
        page_of(pilot).query_one("#language", Select).value = "nl"
        page_of(pilot).query_one("#save", Button).press()
        await settle(pilot)
        await settle(pilot)
        assert Person.get(Person.login == "colette").language == "nl"
        assert app.lang == "nl"
        assert (
            app.screen.query_one(PortalHeader).title_text
            == "Toegangsbeheer voor Ondernemingen en Organisaties"
        )
        page = page_of(pilot)
        assert isinstance(page, DonneesPersonnellesPage) and page.ctx.lang == "nl"
        assert str(page.query_one(".page-title").render()) == "Mijn persoonlijke gegevens wijzigen"
        assert page_of(pilot).query_one("#language", Select).value == "nl"


# --- Modifier mon mot de passe ----------------------------------------------------------------


async def _change(pilot: Pilot[None], current: str, new: str, confirm: str) -> None:
    for name, value in (("current", current), ("password", new), ("password_confirm", confirm)):
        await fill(pilot, name, value)
    await pilot.press("enter")
    await settle(pilot)


async def test_password_rules_and_errors(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "mot_de_passe")
        assert isinstance(page_of(pilot), MotDePassePage)
        assert all(field.password for field in page_of(pilot).query(Input))
        assert "au moins 10 caractères" in shown(pilot, "#password-rules")
        await _change(pilot, "", "x", "x")
        assert error_of(pilot, "current") == "Ce champ est obligatoire."
        await _change(pilot, "wrong", "NewSecret123", "NewSecret123")
        assert error_of(pilot, "current") == "Le mot de passe actuel est incorrect."
        await _change(pilot, "demo", "NewSecret123", "NewSecret124")
        assert error_of(pilot, "current") == ""
        assert (
            error_of(pilot, "password_confirm")
            == "Les deux nouveaux mots de passe sont différents."
        )
        await _change(pilot, "demo", "Short1", "Short1")
        assert error_of(pilot, "password") == "Le mot de passe doit compter au moins 10 caractères."
        await _change(pilot, "demo", "onlyletterslong", "onlyletterslong")
        assert (
            error_of(pilot, "password")
            == "Le mot de passe doit contenir des lettres et des chiffres."
        )
        await _change(pilot, "demo", "ursula12345", "ursula12345")
        assert error_of(pilot, "password") == "Le mot de passe ne peut pas contenir votre login."
        assert authenticate("ursula", "demo").person.login == "ursula"


async def test_password_fields_keep_what_was_typed_when_the_language_changes(
    app: ExpeditoApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "mot_de_passe")
        await fill(pilot, "current", "demo")
        await fill(pilot, "password", "NewSecret123")
        await pilot.press("f2")  # Nederlands: the page is built again
        await settle(pilot)
        assert "minstens 10 tekens" in shown(pilot, "#password-rules")
        page = page_of(pilot)
        assert [f.value for f in page.query(Input)] == ["demo", "NewSecret123", ""]
        await fill(pilot, "password_confirm", "NewSecret123")
        await pilot.press("enter")
        await settle(pilot)
        assert authenticate("ursula", "NewSecret123").person.login == "ursula"


async def test_password_fields_emptied_when_the_page_is_left(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "mot_de_passe")
        await _change(pilot, "wrong", "NewSecret123", "NewSecret123")
        assert error_of(pilot, "current") == "Le mot de passe actuel est incorrect."
        await fill(pilot, "current", "demo")
        await choose_in_menu(pilot, "donnees_personnelles")
        if isinstance(app.screen, ConfirmDialog):  # leaving unsaved input is asked first
            await pilot.press("y")
            await settle(pilot)
        assert not isinstance(page_of(pilot), MotDePassePage)
        await choose_in_menu(pilot, "mot_de_passe")
        page = page_of(pilot)
        assert isinstance(page, MotDePassePage)
        assert [f.value for f in page.query(Input)] == ["", "", ""]
        assert error_of(pilot, "current") == ""
        # Typed again, reached by Tab: the text is not selected (a key adds to it).
        page.query_one("#password", Input).focus()
        await pilot.press(*"NewSecret12", "shift+tab", "tab")
        await pilot.pause()
        assert app.focused is page.query_one("#password", Input)
        await pilot.press("3")
        assert page.query_one("#password", Input).value == "NewSecret123"


async def test_password_change_new_logs_in_old_refused(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula", "mot_de_passe")
        await _change(pilot, "demo", "NewSecret123", "NewSecret123")
        assert shown(pilot, "#password-status") == "Votre mot de passe a été modifié."
        assert app.screen.query_one("#current", Input).value == ""
        assert Person.get(Person.login == "ursula").password_hash.startswith("scrypt")
        # This session keeps working: pages open, no return to login.
        await open_page(pilot, "accueil")
        await open_page(pilot, "mot_de_passe")
        assert isinstance(app.screen, PortalScreen)
        # Log out; the old password is refused, the new one accepted.
        app.log_out()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        await log_in(pilot, "ursula", "demo")
        assert isinstance(app.screen, LoginScreen)
        assert shown(pilot, "#login-message") == "Login ou mot de passe incorrect."
        app.screen.query_one("#login", Input).value = ""
        app.screen.query_one("#login", Input).focus()
        await log_in(pilot, "ursula", "NewSecret123")
        assert isinstance(app.screen, PortalScreen)
    try:
        authenticate("ursula", "demo")
    except AuthenticationFailed:
        pass
    else:
        raise AssertionError("the old password still works")


async def test_a_password_changed_elsewhere_sends_this_session_to_login(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "utilisateurs")
        # Dieter changes his password in another session.
        change_password(person_id("dieter"), "demo", "NewSecret123", "NewSecret123")
        await open_page(pilot, "detail_qualite")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.ctx is None
        assert any(
            "Votre mot de passe a été modifié dans une autre session" in n.message
            for n in app._notifications
        )


# --- Gestion du certificat ------------------------------------------------------------------


async def test_certificate_registered_viewed_and_removed(app: ExpeditoApp, tmp_path: Path) -> None:
    path = fixed_certificate(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette", "certificat")
        assert isinstance(page_of(pilot), CertificatPage)
        assert shown(pilot, "#cert-none") == "Aucun certificat n'est enregistré."
        assert not app.screen.query_one("#remove").display
        await fill(pilot, "cert_path", str(path))
        await pilot.press("enter")
        await settle(pilot)
        assert PersonCertificate.select().count() == 1
        assert shown(pilot, "#cert-status") == (
            "Le certificat de Didier Expéditeur (Signature) a été chargé et enregistré."
        )
        assert (
            shown(pilot, "#cert-owner")
            == "Propriétaire du certificat : Didier Expéditeur (Signature)"
        )
        assert shown(pilot, "#cert-company") == "Nom de l'entreprise : Non spécifié"
        assert (
            shown(pilot, "#cert-issuer")
            == "Fournisseur du certificat : SERIALNUMBER=200803, CN=Citizen CA, C=BE"
        )
        assert shown(pilot, "#cert-expiry") == "Date d'expiration : 26/03/2040"
        assert (
            shown(pilot, "#cert-serial_decimal")
            == "Numéro de série (format décimal) : 4951760157141533718778698793"
        )
        assert (
            shown(pilot, "#cert-serial_hex")
            == "Numéro de série (format hexadécimal) : 10 00 00 00 00 00 0b 7a 21 df 5c 29"
        )
        # Loading another one replaces it: the page says so before and after.
        assert shown(pilot, "#cert-register-title") == "Remplacer le certificat"
        assert str(app.screen.query_one("#register", Button).label) == "Remplacer"
        other = fixed_certificate(tmp_path, "other.cer", not_after=datetime(2041, 1, 1, tzinfo=UTC))
        await fill(pilot, "cert_path", str(other))
        await pilot.press("enter")
        await settle(pilot)
        assert PersonCertificate.select().count() == 1
        assert shown(pilot, "#cert-expiry") == "Date d'expiration : 01/01/2041"
        assert shown(pilot, "#cert-status") == (
            "Le certificat de Didier Expéditeur (Signature) a été chargé : "
            "il remplace le précédent."
        )
        remove = app.screen.query_one("#remove", Button)
        assert remove.display
        remove.press()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert PersonCertificate.select().count() == 0
        assert shown(pilot, "#cert-status") == "Le certificat a été supprimé."
        assert shown(pilot, "#cert-none") == "Aucun certificat n'est enregistré."
        assert shown(pilot, "#cert-register-title") == "Enregistrer un certificat"


async def test_certificate_errors_next_to_the_file(app: ExpeditoApp, tmp_path: Path) -> None:
    (tmp_path / "garbage.cer").write_bytes(b"not a certificate")
    expired = fixed_certificate(tmp_path, "old.cer", not_after=datetime(2025, 6, 1, tzinfo=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette", "certificat")
        await pilot.press("enter")
        app.screen.query_one("#register", Button).press()
        await settle(pilot)
        assert error_of(pilot, "cert_path") == "Chargez le certificat."
        assert shown(pilot, "#cert-intro").startswith(
            "Le certificat avec lequel vous vous connectez au portail"
        )
        new_ssh_key(tmp_path, "id_ed25519")
        cert, _ = make_test_certificate(key_usage=ENCRYPTION_ONLY)
        (tmp_path / "encipher.cer").write_bytes(cert.public_bytes(serialization.Encoding.DER))
        for name, message in (
            # About logging into the portal, not about signing files:
            (
                "id_ed25519.pub",
                "Ceci est une clé SSH ; le certificat (.cer) avec lequel vous vous connectez "
                "au portail est demandé.",
            ),
            (
                "encipher.cer",
                "Ce certificat ne permet pas de vous connecter au portail ; chargez votre "
                "certificat d'authentification.",
            ),
            ("missing.cer", f"{tmp_path / 'missing.cer'} n'existe pas."),
            ("garbage.cer", "Ceci n'est pas un certificat X.509 lisible (DER ou PEM)."),
            ("old.cer", "Ce certificat a expiré le 01/06/2025."),
            ("", f"{tmp_path} est un dossier."),
        ):
            await fill(pilot, "cert_path", str(tmp_path / name) if name else str(tmp_path))
            await pilot.press("enter")
            await settle(pilot)
            assert error_of(pilot, "cert_path") == message, name
        assert expired.exists() and PersonCertificate.select().count() == 0


async def test_certificate_file_browser(app: ExpeditoApp, tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    fixed_certificate(folder)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette", "certificat")
        await fill(pilot, "cert_path", str(folder))
        await pilot.press("f6")
        await settle_tree(pilot)
        assert isinstance(app.screen, FileBrowser)
        tree = app.screen.query_one(DirectoryTree)
        assert Path(tree.path) == folder
        await pilot.press("backspace")  # up to the parent, and back down
        await settle_tree(pilot)
        assert Path(tree.path) == tmp_path
        await pilot.press("down", "enter")  # open "certs"
        await settle_tree(pilot)
        await pilot.press("down", "enter")  # pick signature.cer
        await settle_tree(pilot)
        assert isinstance(page_of(pilot), CertificatPage)
        assert app.screen.query_one("#cert_path", Input).value == str(folder / "signature.cer")
        await pilot.press("enter")
        await settle_tree(pilot)
        assert PersonCertificate.select().count() == 1
