"""The demo data set: an organisation, its qualités, and people in each role.

``seed_demo`` is idempotent: it adds only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from store.access import create_person, grant_role, role_in
from store.clock import local_now
from store.db import db
from store.models import (
    CO_GESTIONNAIRE,
    EMPLOYEUR_ONSS,
    EXPLOITATION,
    GESTIONNAIRE,
    SECRETARIAT_SOCIAL,
    SERVICE,
    UTILISATEUR,
    Organisation,
    Person,
    Qualite,
)
from store.rules import normalize_kbo, normalize_onss

DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DemoLogin:
    login: str
    password: str
    description: str


DEMO_LOGINS = (
    DemoLogin("dieter", DEMO_PASSWORD, "Gestionnaire local (2 qualités)"),
    DemoLogin("colette", DEMO_PASSWORD, "Co-gestionnaire local"),
    DemoLogin("ursula", DEMO_PASSWORD, "Utilisateur"),
    DemoLogin("olivier", DEMO_PASSWORD, "Exploitation"),
)

ORGANISATIONS = (
    ("ENTREPRISE DEMO", "0403123486", date(2010, 11, 5)),
    ("SECRETARIAT DEMO", "0876543270", date(2012, 3, 1)),
    ("EXPEDITO EXPLOITATION", "0400000086", date(2026, 1, 1)),
)
QUALITES = (
    ("0403123486", EMPLOYEUR_ONSS, "123456749", date(2010, 11, 5)),
    ("0876543270", SECRETARIAT_SOCIAL, None, date(2012, 3, 1)),
    ("0400000086", SERVICE, None, date(2026, 1, 1)),
)
PERSONS = (
    ("dieter", "Dieter", "Expedito", "Mr", "dieter.expedito@entreprise-demo.be", "025455078"),
    ("colette", "Colette", "Gestion", "Mme", "colette.gestion@entreprise-demo.be", "025455079"),
    ("ursula", "Ursula", "Lecture", "Mme", "ursula.lecture@entreprise-demo.be", "025455080"),
    ("olivier", "Olivier", "Exploitation", "Mr", "olivier.exploitation@expedito.be", "025455081"),
)
ROLES = (
    ("dieter", "0403123486", GESTIONNAIRE),
    ("colette", "0403123486", CO_GESTIONNAIRE),
    ("ursula", "0403123486", UTILISATEUR),
    ("dieter", "0876543270", GESTIONNAIRE),
    ("olivier", "0400000086", EXPLOITATION),
)


def seed_demo(now: datetime | None = None) -> None:
    now = now or local_now()
    with db.atomic():
        qualites: dict[str, int] = {}
        for name, kbo, created in ORGANISATIONS:
            org, _ = Organisation.get_or_create(
                kbo=normalize_kbo(kbo), defaults={"name": name, "created_on": created}
            )
            qualites[kbo] = org.id
        for kbo, kind, onss, created in QUALITES:
            org_id = qualites[kbo]
            qualite = Qualite.get_or_none((Qualite.organisation == org_id) & (Qualite.kind == kind))
            if qualite is None:
                qualite = Qualite.create(
                    organisation=org_id,
                    kind=kind,
                    created_on=created,
                    onss_number=normalize_onss(onss) if onss else None,
                )
            qualites[kbo] = qualite.id
        people: dict[str, int] = {}
        for login, first, last, title, email, phone in PERSONS:
            person = Person.get_or_none(Person.login == login)
            people[login] = (
                person.id
                if person
                else create_person(
                    login,
                    DEMO_PASSWORD,
                    first,
                    last,
                    title=title,
                    email=email,
                    phone=phone,
                    now=now,
                ).id
            )
        for login, kbo, role in ROLES:
            if role_in(people[login], qualites[kbo]) is None:
                grant_role(people[login], qualites[kbo], role)
