"""Every portal page, and the sidebar *Fonctionnalités* that opens them: the one place that maps
a sidebar item → a page id → the page class.

To add a page: write ``screens/<name>.py`` with a ``Page`` subclass (see ``screens/base.py``),
then point its line in ``PAGES`` at it (``"module:Class"``). Its title is the catalogue key
``page.<id>.title`` and its F1 help ``page.<id>.help``; a placeholder also shows
``page.<id>.holds``. Page classes are imported on first use, which keeps start-up lean.

The sidebar is ``menu(status, is_manager)``: four sections; the *Messages structurés* one
depends on whether the qualité has (or had) a sender.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.widgets.sidebar import MenuItem

if TYPE_CHECKING:
    from screens.base import Page
    from store.dto import SenderStatus

PLACEHOLDER = "screens.placeholder:PlaceholderPage"


@dataclass(frozen=True)
class PageSpec:
    id: str
    target: str  # "module:Class"
    manager_only: bool = False  # only the gestionnaire local and co-gestionnaire local

    @property
    def title_key(self) -> str:
        return f"page.{self.id}.title"

    @property
    def help_key(self) -> str:
        return f"page.{self.id}.help"

    def load(self) -> type[Page]:
        module_name, _, class_name = self.target.partition(":")
        cls: type[Page] = getattr(importlib.import_module(module_name), class_name)
        return cls


PAGES: dict[str, PageSpec] = {
    spec.id: spec
    for spec in (
        # Gestion Qualité
        PageSpec("accueil", "screens.accueil:AccueilPage"),
        PageSpec("utilisateurs", "screens.utilisateurs:UtilisateursPage"),
        PageSpec("detail_qualite", "screens.detail_qualite:DetailQualitePage"),
        PageSpec("recherche_utilisateurs", "screens.recherche:RecherchePage"),
        # Routing Module
        PageSpec("routing_informations", "screens.routing:RoutingInformationsPage"),
        PageSpec("routing_module", "screens.routing:RoutingModulePage"),
        # Messages structurés
        PageSpec("messages", "screens.messages:MessagesPage"),
        PageSpec("enregistrement", "screens.enregistrement:EnregistrementPage", manager_only=True),
        PageSpec("apercu", "screens.apercu:ApercuPage"),
        PageSpec("contact", "screens.contact:ContactPage"),
        PageSpec("canal_sftp", "screens.canaux:CanalPage"),
        PageSpec("canal_ftp", "screens.canaux:CanalPage"),
        PageSpec("canal_mqlink", "screens.canaux:CanalPage"),
        PageSpec("canal_webservice", "screens.canaux:CanalPage"),
        PageSpec("envois", "screens.envois:EnvoisPage"),
        PageSpec("suppression", "screens.suppression:SuppressionPage", manager_only=True),
        # Données personnelles
        PageSpec("donnees_personnelles", "screens.donnees_personnelles:DonneesPersonnellesPage"),
        PageSpec("mot_de_passe", "screens.mot_de_passe:MotDePassePage"),
        PageSpec("certificat", "screens.certificat:CertificatPage"),
        # Exploitation (the service's own operators)
        PageSpec("exploitation_sessions", "screens.exploitation.sessions:SessionsPage"),
        PageSpec(
            "exploitation_synchronisations",
            "screens.exploitation.synchronisations:SynchronisationsPage",
        ),
        PageSpec("exploitation_reception", "screens.exploitation.reception:ReceptionPage"),
        PageSpec("exploitation_certificats", "screens.exploitation.certificats:CertificatsPage"),
        PageSpec("exploitation_journal", "screens.exploitation.journal:JournalPage"),
    )
}

EXPLOITATION_PAGES = (
    "exploitation_sessions",
    "exploitation_synchronisations",
    "exploitation_reception",
    "exploitation_certificats",
    "exploitation_journal",
)

HOME = "accueil"


def menu(
    status: SenderStatus | None, is_manager: bool, operator: bool = False
) -> tuple[MenuItem, ...]:
    """The sidebar *Fonctionnalités* for a qualité's sender status and the person's role;
    ``operator`` (the *Exploitation* role): Accueil, the *Exploitation* section and the
    personal data."""
    return tuple(_operator_menu() if operator else _menu(status, is_manager))


def _item(page: str, level: int = 1) -> MenuItem:
    return MenuItem(PAGES[page].title_key, page, level)


def _operator_menu() -> Iterator[MenuItem]:
    yield MenuItem("menu.gestion_qualite", None, 0)
    yield _item("accueil")
    yield MenuItem("menu.exploitation", None, 0)
    yield from (_item(p) for p in EXPLOITATION_PAGES)
    yield MenuItem("menu.donnees_personnelles", None, 0)
    yield from (_item(p) for p in ("donnees_personnelles", "mot_de_passe"))


def _menu(status: SenderStatus | None, is_manager: bool) -> Iterator[MenuItem]:
    item = _item

    yield MenuItem("menu.gestion_qualite", None, 0)
    yield from (
        item(p) for p in ("accueil", "utilisateurs", "detail_qualite", "recherche_utilisateurs")
    )
    yield MenuItem("menu.routing", None, 0)
    yield from (item(p) for p in ("routing_informations", "routing_module"))
    active = status is not None and status.has_active_sender
    if not active and not is_manager:
        # Nothing to register or look at: the section holds its one page, as in the guide
        # ("Messages structurés - Messages structurés"), never an empty heading.
        yield MenuItem("menu.messages", None, 0)
        yield item("messages")
    else:
        # The section heading opens the Messages structurés page itself, as in the portal.
        yield MenuItem("menu.messages", "messages", 0)
    if active:
        yield item("apercu")
        yield item("contact")
        yield MenuItem("menu.canaux", None, 1)
        yield from (
            item(p, 2) for p in ("canal_sftp", "canal_ftp", "canal_mqlink", "canal_webservice")
        )
        yield item("envois")
        if is_manager:
            yield item("suppression")
    elif is_manager:
        yield item("enregistrement")
    yield MenuItem("menu.donnees_personnelles", None, 0)
    yield from (item(p) for p in ("donnees_personnelles", "mot_de_passe", "certificat"))
