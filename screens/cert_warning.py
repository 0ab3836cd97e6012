"""The warning a gestionnaire sees on *Accueil* and *Aperçu* when a channel's signing
certificate expires within 60 days (the operators see the same channels on *Certificats*)."""

from __future__ import annotations

from datetime import date

from store.ops import DEFAULT_WITHIN_DAYS, ExpiringCertificate
from tui.formatting import fmt_date
from tui.i18n import Translator


def expiring_for(qualite_id: int, today: date) -> list[ExpiringCertificate]:
    """Blocking (database): the qualité's channels whose certificate expires soon."""
    from store.ops import expiring_certificates

    return expiring_certificates(DEFAULT_WITHIN_DAYS, today, qualite_id)


def warning_text(t: Translator, rows: list[ExpiringCertificate]) -> str:
    return "\n".join(
        t(
            "exploitation.cert_warning",
            kind=row.channel,
            date=fmt_date(row.expires_on),
            days=max(row.days_left, 0),
        )
        for row in rows
    )
