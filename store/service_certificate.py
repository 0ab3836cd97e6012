"""The service's own signing certificate as the database holds it, for every process.

``expedito serve`` publishes it at start (``publish``); the portal pages (*Aperçu*) and
``expedito batch send --db`` read it (``published``). One ``setting`` row, DER in hex.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from store.channels import certificate_summary
from store.db import db
from store.dto import CertificateSummary
from store.models import Setting

_KEY = "service.certificate"


def publish(der: bytes) -> None:
    with db.atomic():
        Setting.insert(key=_KEY, value=der.hex()).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: der.hex()}
        ).execute()


def published() -> bytes | None:
    row = Setting.get_or_none(Setting.key == _KEY)
    return bytes.fromhex(row.value) if row is not None else None


@dataclass(frozen=True)
class ServiceCertificate:
    """The published certificate, as *Aperçu* shows it, with its DER to download."""

    summary: CertificateSummary
    fingerprint_sha256: str  # ``ab:cd:…``
    der: bytes


def service_certificate() -> ServiceCertificate | None:
    der = published()
    if der is None:
        return None
    summary = certificate_summary(der)
    if summary is None:
        return None
    fingerprint = hashlib.sha256(der).hexdigest()
    return ServiceCertificate(
        summary, ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)), der
    )
