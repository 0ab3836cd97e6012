"""How the portal shows dates, qualités, roles and titles, in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from store.dto import QualiteInfo
from tui.i18n import Translator, code_name, has_key


def fmt_date(value: date | None) -> str:
    """``dd/mm/yyyy`` as the portal shows dates."""
    return value.strftime("%d/%m/%Y") if value else ""


def qualite_kind(t: Translator, kind: str) -> str:
    return code_name(t, "qualite.kind", kind)


def role_name(t: Translator, role: str) -> str:
    return code_name(t, "role", role)


def as_role(t: Translator, role: str, wrap: Callable[[str], str] = str) -> str:
    """ "en tant que Gestionnaire Local", "en tant qu'Utilisateur" (French elides); ``wrap``
    marks the role's name up (bold on *Accueil*)."""
    name = wrap(role_name(t, role))
    key = f"role_as.{role}"
    return t(key, role=name) if has_key(key) else t("role_as.gestionnaire_local", role=name)


def person_title(t: Translator, title: str) -> str:
    return code_name(t, "title", title)


def qualite_line(t: Translator, qualite: QualiteInfo) -> str:
    """``Dénomination: …; Numéro d'entreprise: …; Qualité: …; Matricule ONSS: …``."""
    return t(
        "shell.qualite_line",
        name=qualite.organisation.name,
        kbo=qualite.organisation.kbo_display,
        kind=qualite_kind(t, qualite.kind),
        onss=qualite.onss_display or "-",
    )
