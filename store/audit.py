"""The audit trail: who changed what, when. Written inside the change's own transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import SQL

from store.clock import local_now
from store.models import AuditEntry


@dataclass(frozen=True)
class AuditInfo:
    at: datetime
    person_id: int | None
    qualite_id: int | None
    action: str
    details: dict[str, Any]


def record(
    action: str,
    person_id: int | None,
    qualite_id: int | None,
    at: datetime | None = None,
    **details: Any,
) -> None:
    AuditEntry.create(
        at=at or local_now(),
        person=person_id,
        qualite=qualite_id,
        action=action,
        details=json.dumps(details, default=str, ensure_ascii=False, sort_keys=True),
    )


def entries(qualite_id: int | None = None, limit: int = 200) -> list[AuditInfo]:
    query = AuditEntry.select().order_by(SQL("id DESC")).limit(limit)
    if qualite_id is not None:
        query = query.where(AuditEntry.qualite == qualite_id)
    return [
        AuditInfo(e.at, e.person_id, e.qualite_id, e.action, json.loads(e.details)) for e in query
    ]
