"""Channel input checks and the preferred-channel rule, shared by registration and changes."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime

from store.credentials import (
    SshPublicKey,
    describe_certificate,
    load_certificate,
    parse_certificate,
    parse_ssh_public_key,
)
from store.dto import (
    ApplicationInfo,
    CertificateSummary,
    ChannelApplicationInfo,
    ChannelInfo,
    ChannelInput,
)
from store.errors import ValidationError, ValidationErrors
from store.models import (
    CHANNEL_KINDS,
    DELETED,
    MQLINK,
    SFTP,
    Application,
    Channel,
    ChannelApplication,
)

NEEDS_CERTIFICATE = frozenset(CHANNEL_KINDS) - {MQLINK}
_MQ_NAME = re.compile(r"^[A-Za-z0-9._/%]{1,48}$")


def mq_name_valid(value: str) -> bool:
    """Whether ``value`` is a queue (manager) name an MQLink channel accepts."""
    return bool(_MQ_NAME.match(value.strip()))


def application_codes() -> list[str]:
    return [a.code for a in Application.select().order_by(Application.position)]


def applications() -> tuple[ApplicationInfo, ...]:
    """The applications a channel can secure, in the portal's order."""
    return tuple(
        ApplicationInfo(a.code, a.name, tuple(a.file_codes.split(",")))
        for a in Application.select().order_by(Application.position)
    )


def check_channel_input(data: ChannelInput, now: datetime) -> dict[str, object]:
    """Validate a channel as entered; return the column values to store.

    Raises ``ValidationErrors`` naming every broken rule (key, certificate, applications...).
    """
    errors: list[ValidationError] = []
    values: dict[str, object] = {"kind": data.kind, "connection_type": data.connection_type}
    if data.kind not in CHANNEL_KINDS:
        raise ValidationError("channel.kind", "unknown channel kind", "kind", kind=data.kind)
    if data.kind == SFTP:
        if isinstance(data.ssh_key, SshPublicKey):
            values["ssh_key"] = data.ssh_key.openssh
            values["ssh_fingerprint"] = data.ssh_key.fingerprint
        elif not data.ssh_key or not data.ssh_key.strip():
            errors.append(ValidationError("ssh_key.required", "load the SSH public key", "ssh_key"))
        else:
            try:
                key = parse_ssh_public_key(data.ssh_key)
                values["ssh_key"] = key.openssh
                values["ssh_fingerprint"] = key.fingerprint
            except ValidationError as exc:
                exc.field = "ssh_key"
                errors.append(exc)
    if data.kind in NEEDS_CERTIFICATE:
        if not data.certificate:
            errors.append(
                ValidationError("certificate.required", "load the certificate", "certificate")
            )
        else:
            try:
                values["certificate"] = parse_certificate(
                    data.certificate, now=now.astimezone(UTC)
                ).der
            except ValidationError as exc:
                exc.field = "certificate"
                errors.append(exc)
    if data.kind == MQLINK:
        for name in ("mq_queue_manager", "mq_queue"):
            value = (getattr(data, name) or "").strip()
            if not value:
                errors.append(ValidationError("field.required", "this field is required", name))
            elif not _MQ_NAME.match(value):
                errors.append(
                    ValidationError("mq.name", "1 to 48 letters, digits or . _ / %", name)
                )
            values[name] = value
    known = set(application_codes())
    if not data.applications:
        errors.append(
            ValidationError(
                "applications.required", "select at least one application", "applications"
            )
        )
    unknown = [code for code in data.applications if code not in known]
    if unknown:
        errors.append(
            ValidationError(
                "applications.unknown",
                "unknown application",
                "applications",
                codes=",".join(unknown),
            )
        )
    if errors:
        raise ValidationErrors(errors)
    return values


def live_channels(sender_id: int) -> list[Channel]:
    return list(
        Channel.select()
        .where((Channel.sender == sender_id) & (Channel.status != DELETED))
        .order_by(Channel.id)
    )


def link_applications(channel: Channel, data: ChannelInput) -> None:
    """Make the channel's applications those of ``data`` and apply the preferred choices.

    Where another live channel of the sender secures the same application, the user must say
    which one is preferred (``data.preferred``); otherwise this channel is.
    """
    wanted = list(dict.fromkeys(data.applications))
    (
        ChannelApplication.delete()
        .where(
            (ChannelApplication.channel == channel.id)
            & ChannelApplication.application.not_in(wanted)
        )
        .execute()
    )
    existing = {link.application_id: link for link in channel.applications}
    others = _links_by_application(channel.sender_id, exclude=channel.id)
    errors: list[ValidationError] = []
    for code in wanted:
        link = existing.get(code) or ChannelApplication.create(
            channel=channel.id, application=code, preferred=False
        )
        rivals = others.get(code, [])
        choice = data.preferred_kind(code)
        if not rivals:
            choice = channel.kind
        elif choice is None:
            if code in existing:
                continue  # unchanged link: keep the preference as it stands
            errors.append(
                ValidationError(
                    "channel.preferred_required",
                    "choose the preferred channel for this application",
                    "preferred",
                    application=code,
                )
            )
            continue
        kinds = {rival.channel.kind: rival for rival in rivals}
        if choice != channel.kind and choice not in kinds:
            errors.append(
                ValidationError(
                    "channel.preferred_invalid",
                    "this channel does not secure the application",
                    "preferred",
                    application=code,
                    kind=choice,
                )
            )
            continue
        for rival in rivals:
            rival.preferred = rival.channel.kind == choice
            rival.save()
        link.preferred = choice == channel.kind
        link.save()
    if errors:
        raise ValidationErrors(errors)
    normalize_preferences(channel.sender_id)


def _links_by_application(
    sender_id: int, exclude: int | None = None
) -> dict[str, list[ChannelApplication]]:
    query = (
        ChannelApplication.select(ChannelApplication, Channel)
        .join(Channel)
        .where((Channel.sender == sender_id) & (Channel.status != DELETED))
    )
    if exclude is not None:
        query = query.where(Channel.id != exclude)
    grouped: dict[str, list[ChannelApplication]] = defaultdict(list)
    for link in query.order_by(Channel.id):
        grouped[link.application_id].append(link)
    return grouped


def normalize_preferences(sender_id: int) -> None:
    """Exactly one preferred channel per application among the sender's live channels."""
    for links in _links_by_application(sender_id).values():
        preferred = [link for link in links if link.preferred]
        keep = preferred[0] if preferred else _default_preferred(links)
        for link in links:
            should = link.id == keep.id
            if bool(link.preferred) != should:
                link.preferred = should
                link.save()


def _default_preferred(links: list[ChannelApplication]) -> ChannelApplication:
    order = {kind: i for i, kind in enumerate(CHANNEL_KINDS)}
    return min(links, key=lambda link: (order.get(link.channel.kind, 99), link.channel.id))


def certificate_summary(der: bytes | None) -> CertificateSummary | None:
    if not der:
        return None
    info = describe_certificate(load_certificate(der))
    return CertificateSummary(
        info.owner, info.company, info.issuer, info.expiry, info.serial_decimal, info.serial_hex
    )


def channel_info(row: Channel) -> ChannelInfo:
    names = {a.code: a.name for a in Application.select()}
    order = {a.code: a.position for a in Application.select()}
    preferred = {
        code: next(link.channel.kind for link in links if link.preferred)
        for code, links in _links_by_application(row.sender_id).items()
        if any(link.preferred for link in links)
    }
    links = sorted(row.applications, key=lambda link: order.get(link.application_id, 99))
    apps = tuple(
        ChannelApplicationInfo(
            link.application_id,
            names[link.application_id],
            bool(link.preferred),
            preferred.get(link.application_id, row.kind),
        )
        for link in links
    )
    key_type = row.ssh_key.split()[0] if row.ssh_key else None
    return ChannelInfo(
        id=row.id,
        kind=row.kind,
        status=row.status,
        connection_type=row.connection_type,
        ssh_key_type=key_type,
        ssh_fingerprint=row.ssh_fingerprint,
        certificate=certificate_summary(row.certificate),
        applications=apps,
        mq_queue_manager=row.mq_queue_manager,
        mq_queue=row.mq_queue,
        created_at=row.created_at,
        activated_at=row.activated_at,
        change_pending=bool(row.key_change_pending),
    )
