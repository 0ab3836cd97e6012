"""Texts shared by the wizard's *Confirmation*, the *Aperçu* and the *Canal* pages.

Plain text (no markup): ``label : value`` lines, which wrap well in a narrow page.
"""

from __future__ import annotations

from collections.abc import Iterable

from store.dto import CertificateSummary, ChannelInfo
from store.rules import ContactData
from tui.i18n import Translator, code_name

KIND_LABELS = {"SFTP": "SFTP", "FTP": "FTP", "MQLINK": "MQLink", "WEBSERVICE": "Web Service"}
KIND_PAGES = {
    "SFTP": "canal_sftp",
    "FTP": "canal_ftp",
    "MQLINK": "canal_mqlink",
    "WEBSERVICE": "canal_webservice",
}
PAGE_KINDS = {page: kind for kind, page in KIND_PAGES.items()}


def regime_name(t: Translator, code: str) -> str:
    """A contact person's *Régime linguistique* ("fr" → Français, Frans, Französisch…)."""
    return code_name(t, "regime", code)


def contact_title(t: Translator, code: str) -> str:
    """A contact person's *Titre* ("Mr" → Mr, Dhr., Herr…), as the guide's form shows it."""
    return code_name(t, "contact_title", code)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def application_name(t: Translator, code: str, fallback: str = "") -> str:
    return code_name(t, "application", code, fallback)


def lines(pairs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"{label} : {value}" for label, value in pairs)


def contact_pairs(t: Translator, contact: ContactData) -> list[tuple[str, str]]:
    emails = list(contact.emails) or [""]
    pairs = [
        (t("contact.last_name"), contact.last_name),
        (t("contact.first_name"), contact.first_name),
        (t("contact.title"), contact_title(t, contact.title)),
        (t("contact.function"), contact.function),
        (t("contact.language"), regime_name(t, contact.language)),
        (t("contact.phone"), contact.phone),
        (t("contact.fax"), contact.fax),
        (t("contact.mobile"), contact.mobile),
        (t("contact.emails"), emails[0]),
    ]
    pairs += [("", email) for email in emails[1:]]
    return pairs


def contact_text(t: Translator, contact: ContactData) -> str:
    return "\n".join(
        f"{label} : {value}" if label else f"  {value}"
        for label, value in contact_pairs(t, contact)
    )


def certificate_text(t: Translator, cert: CertificateSummary) -> str:
    return lines(
        (
            (t("cert.owner"), cert.owner),
            (t("cert.company"), cert.company),
            (t("cert.issuer"), cert.issuer),
            (t("cert.expiry"), cert.expiry),
            (t("cert.serial_decimal"), cert.serial_decimal),
            (t("cert.serial_hex"), cert.serial_hex),
        )
    )


def applications_text(t: Translator, apps: Iterable[tuple[str, str]]) -> str:
    """``- name`` then ``  canal préférentiel : SFTP`` for each (name, preferred kind)."""
    return "\n".join(
        f"- {name}\n  {t('channel.preferred', kind=kind_label(kind))}" for name, kind in apps
    )


def status_text(t: Translator, status: str) -> str:
    return t(f"channel.status.{status}")


def channel_data_text(t: Translator, channel: ChannelInfo) -> str:
    """Type de connexion, key, queues: the channel's data above its certificate."""
    pairs = [
        (t("channel.status"), status_text(t, channel.status)),
        (t("channel.connection_type"), channel.connection_type),
    ]
    if channel.ssh_fingerprint:
        pairs.append(
            (
                t("channel.ssh_key"),
                f"{channel.ssh_key_type or ''} {channel.ssh_fingerprint}".strip(),
            )
        )
    if channel.mq_queue_manager:
        pairs.append((t("channel.mq_queue_manager"), channel.mq_queue_manager))
    if channel.mq_queue:
        pairs.append((t("channel.mq_queue"), channel.mq_queue))
    return lines(pairs)


def channel_applications_text(t: Translator, channel: ChannelInfo) -> str:
    return applications_text(
        t, ((application_name(t, a.code, a.name), a.preferred_kind) for a in channel.applications)
    )
