"""Row → dataclass converters (the only place that knows both)."""

from __future__ import annotations

from store.dto import OrganisationInfo, PersonInfo, QualiteInfo, SenderInfo
from store.models import Organisation, Person, Qualite, Sender


def organisation_info(row: Organisation) -> OrganisationInfo:
    return OrganisationInfo(row.id, row.name, row.kbo, row.created_on)


def qualite_info(row: Qualite) -> QualiteInfo:
    return QualiteInfo(
        row.id, row.kind, row.onss_number, row.created_on, organisation_info(row.organisation)
    )


def person_info(row: Person) -> PersonInfo:
    return PersonInfo(
        row.id,
        row.login,
        row.title,
        row.first_name,
        row.last_name,
        row.language,
        row.email,
        row.phone,
    )


def sender_info(row: Sender) -> SenderInfo:
    return SenderInfo(
        row.id, row.qualite_id, row.number, row.technical_user, row.registered_on, bool(row.active)
    )
