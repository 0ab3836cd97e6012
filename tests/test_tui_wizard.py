"""The wizard *Création d'un utilisateur technique*, by keys alone at 80x24 (Pilot, real SQLite)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import ContentSwitcher, DirectoryTree, Input, Select, Static

from screens.apercu import ApercuPage
from screens.wizard.channel_form import ChannelForm
from screens.wizard.credential_field import CERTIFICATE, SSH_KEY, current_credential
from screens.wizard.file_browser import FileBrowser
from screens.wizard.wizard import Wizard
from store import senders
from store.democreds import DemoCredentials, make_test_certificate
from store.models import PENDING, Channel, ChannelApplication, ContactPerson, Sender
from tests.support.clock import FROZEN, frozen_countdown
from tests.support.pilot import settle, type_in
from tests.support.portal import choose_in_menu, enter_portal, tab_into_page
from tests.support.registration import (
    CONTACT,
    person_id,
    qualite_id,
    register_demo_sender,
    sftp_input,
)
from tests.support.screen import SIZE, error_of, page_text, screen_text, shown, value_of
from tests.support.wizard import fill_contact, load_channel
from tui.app import ExpeditoApp
from tui.i18n import Translator, translate
from tui.shell import PortalScreen
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.sidebar import Sidebar


def portal(app: App[None]) -> PortalScreen:
    assert isinstance(app.screen, PortalScreen), app.screen
    return app.screen


def wizard(app: App[None]) -> Wizard:
    return app.screen.query_one(Wizard)


def step(app: App[None]) -> str | None:
    return wizard(app).query_one(ContentSwitcher).current


async def start(pilot: Pilot[None], login: str = "dieter") -> None:
    await enter_portal(pilot, login)
    await choose_in_menu(pilot, "enregistrement")
    assert step(pilot.app) == "information"


async def to_channel_step(pilot: Pilot[None]) -> None:
    await start(pilot)
    await pilot.press("f7")
    await fill_contact(pilot)
    await pilot.press("f7")
    assert step(pilot.app) == "channel"


async def to_user_step(pilot: Pilot[None], creds: DemoCredentials) -> None:
    await to_channel_step(pilot)
    await load_channel(pilot, creds.ssh_public_key, creds.certificate_der)
    await pilot.press("f7")
    await settle(pilot)
    assert step(pilot.app) == "user"


async def test_whole_wizard_by_keys_then_overview(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        crumb = shown(pilot, "#wizard-breadcrumb")
        assert crumb == (
            "Information > Personne de contact > Données du canal > Confirmation"
        ).replace("Information", " Information ", 1)
        assert "Outre la gestion des utilisateurs pour les applications du portail" in page_text(
            pilot
        )
        await pilot.press("f7")
        assert step(app) == "contact"
        await fill_contact(pilot, typed=True)
        await pilot.press("f7")
        assert step(app) == "channel"
        await load_channel(
            pilot, demo_credentials.ssh_public_key, demo_credentials.certificate_der, typed=True
        )
        key_result = shown(pilot, "#ssh_key-result")
        assert key_result.startswith("Clé chargée : ssh-ed25519 SHA256:")
        assert shown(pilot, "#certificate-result").startswith(
            "Certificat chargé : Didier Expéditeur (Signature), expire le "
        )
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "user"
        await type_in(pilot, "EXPDEMOENTREPRISE")
        await pilot.press("tab")
        await type_in(pilot, "EXPDEMOENTREPRISE")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        confirmation = shown(pilot, "#confirmation")
        for line in (
            "Nom : Expéditeur",
            "Prénom : Didier",
            "Titre : Mr",
            "Régime linguistique : Français",
            "Adresses e-mail : batch@eranova.fgov.be",
            "Canal : SFTP",
            "Type de connexion : Internet",
            "Clé publique SSH : chargée",
            "Propriétaire du certificat : Didier Expéditeur (Signature)",
            "Nom de l'entreprise : Not specified",
            "Fournisseur du certificat : SERIALNUMBER=200803, CN=Citizen CA, C=BE",
            "Numéro de série (format décimal) : 4951760157141533718778698793",
            "Numéro de série (format hexadécimal) : 10 00 00 00 00 00 0b 7a 21 df 5c 29",
            "Nom d'utilisateur : EXPDEMOENTREPRISE",
            "- Déclaration multifonctionnelle DmfA\n  canal préférentiel : SFTP",
            "- DIMONA V2: Déclaration Immédiate à l'emploi\n  canal préférentiel : SFTP",
        ):
            assert line in confirmation, line
        assert str(wizard(app).query_one("#wizard-next").render()).strip() == "Confirmer"
        assert Sender.select().count() == 0  # nothing before Confirmer
        await pilot.press("f7")
        await settle(pilot)
        # Stored: the sender, its number, the pending channel and its applications.
        sender = Sender.get()
        assert (sender.number, sender.technical_user) == (
            senders.FIRST_SENDER_NUMBER,
            "EXPDEMOENTREPRISE",
        )
        channel = Channel.get()
        assert (channel.kind, channel.status) == ("SFTP", PENDING)
        # dated by the app's clock (frozen at 14:17:26 in Brussels), as its countdown
        assert channel.created_at == FROZEN.replace(tzinfo=None)
        assert {link.application_id for link in ChannelApplication.select()} == {"dmfa", "dimona"}
        assert ContactPerson.get().email1 == "batch@eranova.fgov.be"
        # ... and shown: the message, the overview, the post-registration menu.
        assert "• L'expéditeur a bien été créé." in screen_text(pilot)  # on the overview
        assert app.screen.query(ApercuPage)
        text = page_text(pilot)
        assert f"N° expéditeur : {senders.FIRST_SENDER_NUMBER}" in text
        assert "Nom d'utilisateur : EXPDEMOENTREPRISE" in text
        assert "Statut : en cours de configuration" in text
        assert "La configuration pour la création du canal est en cours" in text
        assert "Prochaine synchronisation à 14:30" in text  # as the header says
        assert "- DIMONA V2: Déclaration Immédiate à l'emploi" in text
        assert "Vous avez besoin de votre numéro d'expéditeur dans le nom de vos fichiers" in text
        assert "apercu" in app.screen.query_one(Sidebar).pages
        assert "enregistrement" not in app.screen.query_one(Sidebar).pages


async def test_the_key_is_parsed_once_from_loading_to_saving(
    app: ExpeditoApp, demo_credentials: DemoCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded (parsed), checked on Suivant, saved on Confirmer: one parse, the checked channel
    kept, not read again from the widgets."""
    from screens.wizard import credential_field
    from store import channels, credentials

    parsed: list[object] = []

    def counted(data: bytes | str) -> credentials.SshPublicKey:
        parsed.append(data)
        return credentials.parse_ssh_public_key(data)

    monkeypatch.setattr(credential_field, "parse_ssh_public_key", counted)
    monkeypatch.setattr(channels, "parse_ssh_public_key", counted)
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        await type_in(pilot, "EXPDEMOENTREPRISE")
        await pilot.press("tab")
        await type_in(pilot, "EXPDEMOENTREPRISE")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        assert "Clé chargée : ssh-ed25519 SHA256:" in shown(pilot, "#confirmation")
        await pilot.press("f7")
        await settle(pilot)
    fingerprint = Channel.get().ssh_fingerprint
    assert fingerprint is not None and fingerprint.startswith("SHA256:")
    assert len(parsed) == 1


# --- Personne de contact ---------------------------------------------------------------------


async def test_contact_required_fields_and_email(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("f7", "f7")
        assert step(app) == "contact"
        for field in ("last_name", "first_name", "function", "phone"):
            assert error_of(pilot, f"contact-{field}") == "Ce champ est obligatoire.", field
        assert error_of(pilot, "contact-email1") == "Au moins une adresse e-mail."
        assert error_of(pilot, "contact-fax") == ""
        assert app.focused is not None and app.focused.id == "contact-last_name"
        await fill_contact(pilot, email="pas-une-adresse")
        await pilot.press("f7")
        assert step(app) == "contact"
        assert error_of(pilot, "contact-email1") == "Adresse e-mail non valide : pas-une-adresse."
        assert error_of(pilot, "contact-last_name") == ""
        # A valid address in the third field is enough.
        app.screen.query_one("#contact-email1", Input).value = ""
        app.screen.query_one("#contact-email3").focus()
        await type_in(pilot, "ok@entreprise-demo.be")
        await pilot.press("f7")
        assert step(app) == "channel"


async def test_errors_in_the_users_language(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await app.action_language("nl")
        await settle(pilot)
        await choose_in_menu(pilot, "enregistrement")
        await pilot.press("f7", "f7")
        assert error_of(pilot, "contact-last_name") == "Dit veld is verplicht."
        assert shown(pilot, "#wizard-title") == "Aanmaak van een technische gebruiker"


async def back_to_what_was_typed(
    pilot: Pilot[None], creds: DemoCredentials, key_loaded: str
) -> None:
    """From the user step, F6 twice: the channel step with its key (``key_loaded`` …), then
    the contact step with what ``to_channel_step`` typed."""
    await pilot.press("f6")
    await settle(pilot)
    assert step(pilot.app) == "channel"
    assert value_of(pilot, "#ssh_key-path") == str(creds.ssh_public_key)
    assert shown(pilot, "#ssh_key-result").startswith(key_loaded)
    await pilot.press("f6")
    assert step(pilot.app) == "contact"
    assert value_of(pilot, "#contact-last_name") == "Expéditeur"
    assert value_of(pilot, "#contact-email1") == "batch@eranova.fgov.be"


async def test_previous_keeps_what_was_typed(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        await type_in(pilot, "Nomtechnique1")
        await back_to_what_was_typed(pilot, demo_credentials, "Clé chargée : ssh-ed25519")
        await pilot.press("f6")
        assert step(app) == "information"
        await pilot.press("f6")  # greyed out on the first step: nothing happens
        assert step(app) == "information"
        await pilot.press("f7", "f7")
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "user"
        assert value_of(pilot, "#username") == "Nomtechnique1"


async def test_language_switch_in_the_wizard_keeps_what_was_typed(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        assert app.lang == "nl"
        assert shown(pilot, "#wizard-title") == "Aanmaak van een technische gebruiker"
        assert step(app) == "user"
        assert value_of(pilot, "#username") == "Nomtechnique1"
        await back_to_what_was_typed(pilot, demo_credentials, "Sleutel opgeladen: ssh-ed25519")
        for _ in range(2):  # contact → channel → user, checked again
            await pilot.press("f7")
            await settle(pilot)
        assert step(app) == "user"
        await pilot.press("tab")
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        await pilot.press("f7")
        await settle(pilot)
        assert Sender.select().count() == 1
        assert Sender.get().technical_user == "Nomtechnique1"
        assert Channel.get().ssh_key is not None
        assert ContactPerson.get().last_name == "Expéditeur"


async def test_cancel_asks_then_stores_nothing(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("tab")
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        await pilot.press("f8")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # "Non, continuer"
        assert step(app) == "confirmation"
        cancelled = app.screen.query_one(Wizard)
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert not cancelled.is_attached
        # The next visit starts afresh: a new wizard, built ahead, hidden, at its first step.
        for wizard in app.screen.query(Wizard):
            assert wizard.step == "information"
            assert not app.screen.query_one("#page-enregistrement").display
        assert portal(app).current == "messages"
        assert Sender.select().count() == 0 and ContactPerson.select().count() == 0
        assert Channel.select().count() == 0


# --- Données du canal ------------------------------------------------------------------------


async def test_channel_nothing_loaded_nothing_ticked(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_channel_step(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "channel"
        assert shown(pilot, "#ssh_key-error") == "Chargez la clé publique SSH."
        assert shown(pilot, "#certificate-error") == "Chargez le certificat."
        assert shown(pilot, "#applications-error") == "Sélectionnez au moins une application."
        assert shown(pilot, "#wizard-status") == "Corrigez les erreurs indiquées."


async def test_channel_private_key_and_expired_certificate_refused(
    app: ExpeditoApp, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    cert, _ = make_test_certificate(
        not_before=datetime(2020, 1, 1, tzinfo=UTC), not_after=datetime(2021, 1, 1, tzinfo=UTC)
    )
    expired = tmp_path / "expired.cer"
    expired.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    async with app.run_test(size=SIZE) as pilot:
        await to_channel_step(pilot)
        await load_channel(pilot, demo_credentials.ssh_private_key, expired, downs=(0,))
        # Refused as soon as loaded, with the reason...
        assert shown(pilot, "#ssh_key-error").startswith("Ceci est une clé privée.")
        assert shown(pilot, "#certificate-error") == "Ce certificat a expiré le 01/01/2021."
        assert shown(pilot, "#ssh_key-result") == ""
        # ... and Suivant does not advance.
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "channel"
        assert shown(pilot, "#ssh_key-error").startswith("Ceci est une clé privée.")
        assert shown(pilot, "#certificate-error") == "Ce certificat a expiré le 01/01/2021."
        assert shown(pilot, "#applications-error") == ""


async def test_channel_missing_file_and_pasted_key(
    app: ExpeditoApp, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_channel_step(pilot)
        await type_in(pilot, str(tmp_path / "nothing.pub"), paste=True)
        await pilot.press("enter")
        await settle(pilot)
        assert shown(pilot, "#ssh_key-error") == f"{tmp_path / 'nothing.pub'} n'existe pas."
        # A pasted key (the path field starts with "ssh-") is the key itself.
        app.screen.query_one("#ssh_key-path", Input).value = ""
        await type_in(pilot, demo_credentials.ssh_public_key.read_text().strip(), paste=True)
        await pilot.press("enter")
        await settle(pilot)
        assert shown(pilot, "#ssh_key-error") == ""
        assert shown(pilot, "#ssh_key-result").startswith("Clé chargée : ssh-ed25519 SHA256:")


async def test_typed_path_without_enter_is_loaded_on_next(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_channel_step(pilot)
        await type_in(
            pilot,
            "~/../../../../../../" + str(demo_credentials.ssh_public_key).lstrip("/"),
            paste=True,
        )
        await pilot.press("tab", "tab")
        await type_in(pilot, str(demo_credentials.certificate_der), paste=True)
        await pilot.press("tab", "tab", "space")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "user"


async def test_file_browser_reaches_hidden_ssh_folder(
    app: ExpeditoApp,
    demo_credentials: DemoCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_bytes(demo_credentials.ssh_public_key.read_bytes())
    (home / "Documents").mkdir()
    monkeypatch.setenv("HOME", str(home))
    async with app.run_test(size=SIZE) as pilot:
        await to_channel_step(pilot)
        await pilot.press("f9")
        # The DirectoryTree's loader is a worker that never ends: wait on the tree, not on
        # every worker.
        browser = app.screen
        assert isinstance(browser, FileBrowser)
        tree = browser.query_one("#browser-tree", DirectoryTree)
        assert Path(tree.path) == home

        async def children() -> list[str]:
            for _ in range(100):
                await pilot.pause(0.02)
                labels = [str(n.label) for n in tree.root.children]
                if labels:
                    return labels
            return []

        assert await children() == ["Documents"]
        await pilot.press("h")  # show hidden files
        await pilot.pause(0.1)
        assert await children() == [".ssh", "Documents"]
        await pilot.press("down", "enter")  # open .ssh
        for _ in range(100):
            await pilot.pause(0.02)
            if tree.root.children[0].children:
                break
        await pilot.press("down", "enter")  # pick id_ed25519.pub
        await pilot.pause()
        await settle(pilot)
        assert not isinstance(app.screen, FileBrowser)
        assert value_of(pilot, "#ssh_key-path") == str(home / ".ssh" / "id_ed25519.pub")
        assert shown(pilot, "#ssh_key-result").startswith("Clé chargée : ssh-ed25519")


# --- Utilisateur technique -------------------------------------------------------------------

USERNAME_CASES = [
    ("EXPDEMO", "EXPDEMO", "username", "Minimum 8 – maximum 20 caractères (7 donnés)."),
    (
        "EXPDEMO01",
        "EXPDEMO02",
        "username_confirm",
        "La confirmation ne correspond pas au nom d'utilisateur.",
    ),
    (
        "TakenName1",
        "TakenName1",
        "username",
        "Le nom d'utilisateur TakenName1 existe déjà dans le système web de la sécurité sociale.",
    ),
    ("Expedito 1", "Expedito 1", "username", "Pas d'espaces dans le nom d'utilisateur."),
]


async def test_username_errors(app: ExpeditoApp, demo_credentials: DemoCredentials) -> None:
    # Another qualité already uses TakenName1.
    senders.register_sender(
        person_id("dieter"),
        qualite_id("0876543270"),
        CONTACT,
        sftp_input(demo_credentials),
        "TakenName1",
        "TakenName1",
    )
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        rules = shown(pilot, "#username-rules")
        assert rules.startswith("Caractéristiques d'un nom d'utilisateur technique :")
        for rule in (
            "- Minimum 8 – maximum 20 caractères",
            "- Pas d'espaces",
            "- Une fois créé, il n'y a plus moyen de le modifier",
            "- L'utilisation des lettres majuscules et minuscules doit être respectée",
        ):
            assert rule in rules
        for name, confirm, field, message in USERNAME_CASES:
            for selector, value in (("#username", name), ("#username_confirm", confirm)):
                app.screen.query_one(selector, Input).value = ""
                app.screen.query_one(selector).focus()
                await type_in(pilot, value)
            await pilot.press("f7")
            await settle(pilot)
            assert step(app) == "user", name
            assert shown(pilot, f"#{field}-error") == message
        assert Sender.select().count() == 1


# --- The technical user is created once -------------------------------------------------------


async def test_no_registration_wizard_while_a_sender_exists(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await app.open_page("enregistrement")
        await settle(pilot)
        assert not app.screen.query(Wizard)
        assert "Cette qualité a déjà un expéditeur (N° expéditeur 100001)" in page_text(pilot)


async def test_delete_then_register_again_keeps_number_name_and_contact(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    first = register_demo_sender(demo_credentials, now=None)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "suppression")
        text = page_text(pilot)
        assert "L'accès au serveur SFTP est retiré immédiatement" in text
        assert (
            "Le N° expéditeur 100001 et le nom d'utilisateur EXPDEMOENTREPRISE sont "
            "conservés" in text
        )
        await tab_into_page(pilot)
        await pilot.press("f8")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert not Sender.get().active
        assert Channel.get().status == "deleted"
        assert portal(app).current == "messages"
        assert "Il n'y a pas d'expéditeur actif." in page_text(pilot)
        # The menu is back to Enregistrement; the wizard skips the technical user.
        await choose_in_menu(pilot, "enregistrement")
        assert wizard(app).steps == ("information", "contact", "channel", "confirmation")
        assert "le nom d'utilisateur technique EXPDEMOENTREPRISE reste d'application" in page_text(
            pilot
        )
        await pilot.press("f7")
        # The contact person kept from before, to check: here a new first name.
        assert value_of(pilot, "#contact-last_name") == CONTACT.last_name
        assert value_of(pilot, "#contact-phone") == CONTACT.phone
        assert value_of(pilot, "#contact-email1") == CONTACT.emails[0]
        first_name = app.screen.query_one("#contact-first_name", Input)
        assert first_name.value == CONTACT.first_name
        first_name.focus()
        first_name.value = ""
        await type_in(pilot, "Ann")
        await pilot.press("f7")
        await load_channel(
            pilot, demo_credentials.ssh_public_key, demo_credentials.certificate_der, downs=(4,)
        )
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        assert "Nom d'utilisateur : EXPDEMOENTREPRISE" in shown(pilot, "#confirmation")
        await pilot.press("f7")
        await settle(pilot)
        sender = Sender.get()
        assert sender.active and sender.number == first.sender.number
        assert sender.technical_user == "EXPDEMOENTREPRISE"
        assert ContactPerson.get().first_name == "Ann"
        assert "N° expéditeur : 100001" in page_text(pilot)


# --- Ajout d'un canal, preferred channel -----------------------------------------------------


async def open_ftp_page_of_an_sftp_sender(pilot: Pilot[None], creds: DemoCredentials) -> None:
    """A sender whose SFTP channel secures DmfA and DIMONA; its (empty) *Canal FTP* page."""
    register_demo_sender(creds, now=None)
    await enter_portal(pilot)
    await choose_in_menu(pilot, "canal_ftp")


async def test_add_ftp_channel_choosing_the_preferred_channel(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_ftp_page_of_an_sftp_sender(pilot, demo_credentials)
        assert "Il n'y a pas de canal FTP." in page_text(pilot)
        await tab_into_page(pilot)
        await pilot.press("f6")  # Ajouter
        await settle(pilot)
        assert shown(pilot, "#wizard-title") == "Ajout d'un canal"
        assert wizard(app).steps == ("information", "channel", "confirmation")
        assert (
            shown(pilot, "#wizard-breadcrumb") == " Information  > Données du canal > Confirmation"
        )
        await pilot.press("f7")
        assert step(app) == "channel"
        assert not app.screen.query("#field-ssh_key")  # FTP: a certificate only
        await type_in(pilot, str(demo_credentials.certificate_der), paste=True)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("tab", "tab", "space", "down", "down", "space")  # DmfA, Chômage
        await settle(pilot)
        # DmfA is secured by SFTP too: choose its preferred channel. Chômage is not.
        assert app.screen.query("#preferred-dmfa")
        assert not app.screen.query("#preferred-chomage")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "channel"
        assert shown(pilot, "#preferred-error") == (
            "Choisissez le canal préférentiel pour l'application Déclaration "
            "multifonctionnelle DmfA."
        )
        app.screen.query_one("#preferred-dmfa").focus()
        await pilot.press("enter", "down", "enter")  # open, first choice (FTP), pick
        await settle(pilot)
        assert app.screen.query_one("#preferred-dmfa", Select).value == "FTP"
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        text = shown(pilot, "#confirmation")
        assert "- Déclaration multifonctionnelle DmfA\n  canal préférentiel : FTP" in text
        assert "- Chômage temporaire\n  canal préférentiel : FTP" in text
        assert "Personne de contact" not in text
        await pilot.press("f7")
        added = "Le canal FTP a bien été ajouté."
        # Looked for as soon as it shows: waiting first for every page built again after the
        # change (a loaded machine took more than its 10 s) found it gone.
        deadline = time.monotonic() + 15
        while added not in [n.message for n in app._notifications]:
            if time.monotonic() > deadline:
                break
            await pilot.pause(0.02)
        assert added in [n.message for n in app._notifications]
        await settle(pilot)
        overview = senders.overview(person_id("dieter"), qualite_id())
        assert overview is not None
        prefs = {(c.kind, a.code): a.preferred for c in overview.channels for a in c.applications}
        assert prefs == {
            ("SFTP", "dmfa"): False,
            ("SFTP", "dimona"): True,
            ("FTP", "dmfa"): True,
            ("FTP", "chomage"): True,
        }
        # The page now shows the FTP channel with its applications.
        assert "canal préférentiel : FTP" in shown(pilot, "#applications-ftp")


async def test_language_switch_while_adding_a_channel_keeps_it(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_ftp_page_of_an_sftp_sender(pilot, demo_credentials)
        await tab_into_page(pilot)
        await pilot.press("f6", "f7")  # Ajouter, then the channel step
        await settle(pilot)
        await type_in(pilot, str(demo_credentials.certificate_der), paste=True)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("tab", "tab", "space")  # DmfA
        await settle(pilot)
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        assert shown(pilot, "#wizard-title") == "Toevoeging van een kanaal"
        assert step(app) == "channel"
        assert value_of(pilot, "#certificate-path") == str(demo_credentials.certificate_der)
        assert shown(pilot, "#certificate-result").startswith("Certificaat opgeladen: ")
        assert wizard(app).query_one(ChannelForm).selected() == ["dmfa"]
        assert app.screen.query("#preferred-dmfa")
        await pilot.press("escape", "y")  # Annuleren: the page shows the channels, in Dutch
        await settle(pilot)
        assert not app.screen.query(Wizard)
        assert str(
            app.screen.query_one("#page-canal_ftp .page-title", Static).render()
        ) == translate("page.canal_ftp.title", "nl")


async def test_language_switch_while_changing_a_channel_relabels_its_current_credentials(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "canal_sftp")
        await tab_into_page(pilot)
        await pilot.press("f7")  # Modifier
        await settle(pilot)
        assert shown(pilot, "#ssh_key-result").startswith("Clé actuelle : ssh-ed25519 SHA256:")
        assert shown(pilot, "#certificate-result").startswith(
            "Certificat actuel : Didier Expéditeur (Signature), expire le "
        )
        fingerprint = shown(pilot, "#ssh_key-result").split("ssh-ed25519 ")[1]
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        assert shown(pilot, "#ssh_key-result") == f"Huidige sleutel: ssh-ed25519 {fingerprint}"
        assert shown(pilot, "#certificate-result").startswith(
            "Huidig certificaat: Didier Expéditeur (Signature), vervalt op "
        )


async def test_modify_then_remove_a_channel(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    senders.add_channel(
        person_id("dieter"),
        qualite_id(),
        senders.ChannelInput(
            kind="MQLINK", applications=("chantier",), mq_queue_manager="QM1", mq_queue="IN.QUEUE"
        ),
    )
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "canal_mqlink")
        assert "Queue manager : QM1" in page_text(pilot)
        await tab_into_page(pilot)
        await pilot.press("f7")  # Modifier
        await settle(pilot)
        assert wizard(app).steps == ("channel", "confirmation")
        assert value_of(pilot, "#channel-mq_queue_manager") == "QM1"
        app.screen.query_one("#channel-mq_queue", Input).value = ""
        app.screen.query_one("#channel-mq_queue").focus()
        await type_in(pilot, "bad queue")
        await pilot.press("f7")
        await settle(pilot)
        assert shown(pilot, "#channel-mq_queue-error") == "1 à 48 lettres, chiffres ou . _ / %."
        app.screen.query_one("#channel-mq_queue", Input).value = ""
        await type_in(pilot, "BATCH.IN")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        await pilot.press("f7")
        await settle(pilot)
        assert Channel.get(Channel.kind == "MQLINK").mq_queue == "BATCH.IN"
        assert "Queue : BATCH.IN" in page_text(pilot)
        await tab_into_page(pilot)
        await pilot.press("f8")  # Supprimer
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert Channel.get(Channel.kind == "MQLINK").status == "deleted"
        assert "Il n'y a pas de canal MQLink." in page_text(pilot)


async def test_modify_contact_person(app: ExpeditoApp, demo_credentials: DemoCredentials) -> None:
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "contact")
        assert value_of(pilot, "#contact-last_name") == "Expéditeur"
        await tab_into_page(pilot)
        app.screen.query_one("#contact-function", Input).value = ""
        await pilot.press("f7")
        assert error_of(pilot, "contact-function") == "Ce champ est obligatoire."
        app.screen.query_one("#contact-function").focus()
        await type_in(pilot, "Directeur IT")
        app.screen.query_one("#contact-email2").focus()
        await type_in(pilot, "second@entreprise-demo.be")
        await pilot.press("f7")
        await settle(pilot)
        row = ContactPerson.get()
        assert (row.function, row.email2) == ("Directeur IT", "second@entreprise-demo.be")
        assert "Les données de la personne de contact ont été enregistrées." in [
            n.message for n in app._notifications
        ]


# --- A plain utilisateur ---------------------------------------------------------------------


async def test_plain_user_sees_pages_read_only(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula")
        pages = app.screen.query_one(Sidebar).pages
        assert "enregistrement" not in pages
        await app.open_page("enregistrement")  # e.g. from the command palette
        await settle(pilot)
        assert not app.screen.query(Wizard)
        assert "Il n'y a que le gestionnaire local et le co-gestionnaire local" in page_text(pilot)
    register_demo_sender(demo_credentials)
    app = ExpeditoApp(demo=True, ansi=False, **frozen_countdown())
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula")
        pages = app.screen.query_one(Sidebar).pages
        assert "apercu" in pages and "suppression" not in pages
        await choose_in_menu(pilot, "apercu")
        assert "N° expéditeur : 100001" in page_text(pilot)
        await choose_in_menu(pilot, "contact")
        assert app.screen.query_one("#contact-last_name").disabled
        assert not app.screen.query("#contact-save")
        await pilot.press("tab", "tab", "f7")
        await settle(pilot)
        assert ContactPerson.get().last_name == "Expéditeur"
        await choose_in_menu(pilot, "canal_sftp")
        assert "Propriétaire du certificat : Didier Expéditeur (Signature)" in page_text(pilot)
        assert not app.screen.query("#canal-actions")
        await pilot.press("tab", "tab", "f7", "f8")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog) and not app.screen.query(Wizard)
        await choose_in_menu(pilot, "canal_ftp")
        assert not app.screen.query("#canal-add")
        await app.open_page("suppression")
        await settle(pilot)
        assert not app.screen.query("#suppression-delete")
        assert Sender.get().active


def test_current_credentials_are_summarised_in_any_language_or_left_as_they_were(
    demo_credentials: DemoCredentials,
) -> None:
    """What ``current_credential`` says of the channel's key and certificate, and that a
    stored key refused by today's rules gives None (the caller keeps its summary) rather
    than stopping the wizard."""
    key = demo_credentials.ssh_public_key.read_bytes()
    said = current_credential(SSH_KEY, key, Translator("en"))
    assert said is not None and said.summary.startswith("Current key: ssh-ed25519 SHA256:")
    cert = current_credential(
        CERTIFICATE, demo_credentials.certificate_der.read_bytes(), Translator("de")
    )
    assert cert is not None and cert.summary.startswith(
        "Aktuelles Zertifikat: Didier Expéditeur (Signature), läuft ab am "
    )
    assert current_credential(SSH_KEY, b"ssh-dss AAAAB3NzaC1kc3MAAACBAP", Translator("fr")) is None
    assert current_credential(CERTIFICATE, b"not a certificate", Translator("fr")) is None


async def test_language_switch_on_the_confirmation_keeps_it_and_confirmer_stores(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    """F2 on the Confirmation stays on it, showing the same in Dutch; F7 stores (it went back
    to the user-name step, and then F7 gave an empty Confirmation where Confirmer did
    nothing)."""
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("tab")
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        assert step(app) == "confirmation"
        text = shown(pilot, "#confirmation")
        assert "Nomtechnique1" in text and "Expéditeur" in text
        assert "Sleutel opgeladen: ssh-ed25519" in text
        assert "Clé" not in text
        await pilot.press("f7")
        await settle(pilot)
        assert Sender.get().technical_user == "Nomtechnique1"


async def test_language_switch_on_the_user_step_then_f7_gives_a_full_confirmation(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_user_step(pilot, demo_credentials)
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        assert step(app) == "user"
        await pilot.press("tab", "shift+tab")  # the focus is on the first name field
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("tab")
        await type_in(pilot, "Nomtechnique1")
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "confirmation"
        text = shown(pilot, "#confirmation")
        assert "Nomtechnique1" in text and "SFTP" in text and "Expéditeur" in text
        await pilot.press("f7")
        await settle(pilot)
        assert Sender.get().technical_user == "Nomtechnique1"


async def test_f9_browses_from_anywhere_on_the_channel_step_and_shows_only_there(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    """F9 *Parcourir* from the step's buttons and from the sidebar: the browser opens for the
    first file still to load (the SSH key, then the certificate); the footer shows it only on
    the step with files (it worked only from the file's own field)."""
    from screens.wizard.credential_field import CredentialField
    from tui.widgets.footer import PortalFooter

    def footer_has_f9() -> bool:
        return any(key.key == "f9" for key in app.screen.query_one(PortalFooter).keys)

    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "contact" and not footer_has_f9()
        await pilot.press("f9")  # nothing to browse for here
        await settle(pilot)
        assert not isinstance(app.screen, FileBrowser)
        await fill_contact(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert step(app) == "channel"
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        for place in (portal.query_one("#wizard-next"), portal.query_one(Sidebar)):
            place.focus()
            await pilot.pause()
            assert footer_has_f9(), place
        portal.query_one("#wizard-next").focus()
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, FileBrowser)
        assert translate("credential.ssh_key.label", "fr") in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        form = portal.query_one(ChannelForm)
        await load_channel(pilot, demo_credentials.ssh_public_key, None, downs=())
        assert form.query_one(f"#field-{SSH_KEY}", CredentialField).loaded is not None
        portal.query_one(Sidebar).focus_menu()
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, FileBrowser)
        assert translate("credential.certificate.label", "fr") in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, FileBrowser)
