"""Small builders shared by tests."""

from __future__ import annotations

from store.democreds import DemoCredentials
from store.dto import ChannelInput
from store.models import Organisation, Person, Qualite
from store.rules import ContactData


def contact(**changes: object) -> ContactData:
    values: dict[str, object] = dict(
        last_name="Expéditeur", first_name="Didier", title="Mr", function="IT", language="fr",
        phone="025455078", emails=("batch@eranova.fgov.be",))
    values.update(changes)
    return ContactData(**values)  # type: ignore[arg-type]


def sftp_input(creds: DemoCredentials, applications: tuple[str, ...] = ("dmfa", "dimona"),
               **changes: object) -> ChannelInput:
    values: dict[str, object] = dict(
        kind="SFTP", applications=applications,
        ssh_key=creds.ssh_public_key.read_text(), certificate=creds.certificate_der.read_bytes())
    values.update(changes)
    return ChannelInput(**values)  # type: ignore[arg-type]


def person_id(login: str) -> int:
    return int(Person.get(Person.login == login).id)


def qualite_id(kbo: str = "0403123486") -> int:
    return int(Qualite.select().join(Organisation).where(Organisation.kbo == kbo).get().id)
