"""*Consulter ou modifier le détail de la qualité*."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.access import get_qualite, require_manager, require_role
from store.audit import record
from store.db import db
from store.dto import QualiteInfo
from store.errors import Conflict, ValidationError, ValidationErrors
from store.models import EMPLOYEUR_ONSS, Organisation, Qualite
from store.rules import FIELD_MAX, normalize_kbo, normalize_onss


@dataclass(frozen=True)
class QualiteChanges:
    """What a manager may change: the name, the company number, the ONSS matricule."""

    name: str
    kbo: str
    onss_number: str


def qualite_detail(actor_id: int, qualite_id: int) -> QualiteInfo:
    require_role(actor_id, qualite_id)
    return get_qualite(qualite_id)


def update_qualite(
    actor_id: int, qualite_id: int, changes: QualiteChanges, now: datetime | None = None
) -> QualiteInfo:
    errors: list[ValidationError] = []
    name = changes.name.strip()
    if not name:
        errors.append(ValidationError("field.required", "this field is required", "name"))
    elif len(name) > FIELD_MAX:
        errors.append(
            ValidationError("field.too_long", "this field is too long", "name", max=FIELD_MAX)
        )
    kbo = onss = ""
    try:
        kbo = normalize_kbo(changes.kbo)
    except ValidationError as exc:
        errors.append(exc)
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        qualite = Qualite.get_by_id(qualite_id)
        if qualite.kind == EMPLOYEUR_ONSS:
            try:
                onss = normalize_onss(changes.onss_number)
            except ValidationError as exc:
                errors.append(exc)
        if errors:
            raise ValidationErrors(errors)
        org = qualite.organisation
        clash = Organisation.get_or_none((Organisation.kbo == kbo) & (Organisation.id != org.id))
        if clash is not None:
            raise Conflict("kbo.taken", "another organisation has this number", "kbo")
        old = (org.name, org.kbo, qualite.onss_number)
        org.name, org.kbo = name, kbo
        org.save()
        if qualite.kind == EMPLOYEUR_ONSS:
            qualite.onss_number = onss
            qualite.save()
        record(
            "qualite.update",
            actor_id,
            qualite_id,
            at=now,
            old=list(old),
            new=[name, kbo, qualite.onss_number],
        )
    return get_qualite(qualite_id)
