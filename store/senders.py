"""Messages structurés: register a sender, its contact person and channels; delete it all.

Every write is one transaction; the sender number is allocated inside an IMMEDIATE one so
concurrent registrations never share a number.
"""

from __future__ import annotations

from datetime import datetime

from peewee import IntegrityError, fn

from store.access import require_manager, require_role
from store.audit import record
from store.batchnames import INSTITUTION_NUMBER
from store.channels import (
    channel_info,
    check_channel_input,
    link_applications,
    live_channels,
    normalize_preferences,
)
from store.clock import local_now
from store.convert import sender_info
from store.db import db
from store.dto import ChannelInfo, ChannelInput, Overview, SenderInfo, SenderStatus
from store.errors import Conflict, NotFound, ValidationError, ValidationErrors
from store.models import (
    DELETED,
    PENDING,
    Application,
    Channel,
    ChannelApplication,
    ContactPerson,
    Sender,
)
from store.routing import fall_back_to_ebox
from store.rules import ContactData, check_contact, check_username

FIRST_SENDER_NUMBER = 100001
LAST_SENDER_NUMBER = int(INSTITUTION_NUMBER) - 1  # the institution's own is on acknowledgements


def sender_status(qualite_id: int) -> SenderStatus:
    sender = Sender.get_or_none(Sender.qualite == qualite_id)
    if sender is None:
        return SenderStatus(False, False, None, None, ())
    kinds = tuple(c.kind for c in live_channels(sender.id)) if sender.active else ()
    return SenderStatus(bool(sender.active), True, sender.technical_user, sender.number, kinds)


def username_available(name: str) -> bool:
    """Case is significant: ``Abcdefgh1`` and ``abcdefgh1`` are two different names."""
    return not Sender.select().where(Sender.technical_user == name).exists()


def _allocate_number() -> int:
    highest = Sender.select(fn.MAX(Sender.number)).scalar()
    number = FIRST_SENDER_NUMBER if highest is None else highest + 1
    if number > LAST_SENDER_NUMBER:
        raise Conflict("sender.numbers_exhausted", "no sender number left")
    return int(number)


def _contact_values(contact: ContactData) -> dict[str, str]:
    emails = [*contact.emails, "", "", ""][:3]
    return dict(
        last_name=contact.last_name,
        first_name=contact.first_name,
        title=contact.title,
        function=contact.function,
        language=contact.language,
        phone=contact.phone,
        fax=contact.fax,
        mobile=contact.mobile,
        email1=emails[0],
        email2=emails[1],
        email3=emails[2],
    )


def register_sender(
    actor_id: int,
    qualite_id: int,
    contact: ContactData,
    channel: ChannelInput,
    username: str | None = None,
    username_confirm: str | None = None,
    now: datetime | None = None,
) -> Overview:
    """Create (or bring back) the qualité's sender with its contact person and first channel.

    A qualité that once had a sender gets its number and technical user name back; the names
    given are then ignored. All of it is stored in one transaction, or nothing is.
    """
    now = now or local_now()
    errors: list[ValidationError] = []
    try:
        contact = check_contact(contact)
    except ValidationErrors as exc:
        errors.extend(exc.errors)
    values: dict[str, object] = {}
    try:
        values = check_channel_input(channel, now)
    except ValidationErrors as exc:
        errors.extend(exc.errors)
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        sender = Sender.get_or_none(Sender.qualite == qualite_id)
        if sender is not None and sender.active:
            raise Conflict(
                "sender.exists", "this qualité already has a sender", number=sender.number
            )
        if sender is None:
            try:
                name = check_username(username or "", username_confirm)
                if not username_available(name):
                    raise ValidationError(
                        "username.taken", "this user name already exists", "username", name=name
                    )
            except ValidationError as exc:
                errors.append(exc)
        if errors:
            raise ValidationErrors(errors)
        if sender is None:
            sender = Sender.create(
                qualite=qualite_id,
                number=_allocate_number(),
                technical_user=name,
                registered_on=now.date(),
            )
            action = "sender.register"
        else:
            sender.active, sender.deleted_at = True, None
            sender.save()
            action = "sender.reregister"
        ContactPerson.insert(sender=sender.id, **_contact_values(contact)).on_conflict(
            conflict_target=[ContactPerson.sender], update=_contact_values(contact)
        ).execute()
        row = _create_channel(sender, channel, values, now)
        record(
            action,
            actor_id,
            qualite_id,
            at=now,
            number=sender.number,
            technical_user=sender.technical_user,
            channel=row.kind,
            applications=list(channel.applications),
        )
    return _overview(sender)


def _create_channel(
    sender: Sender, data: ChannelInput, values: dict[str, object], now: datetime
) -> Channel:
    try:
        row = Channel.create(sender=sender.id, status=PENDING, created_at=now, **values)
    except IntegrityError as exc:
        raise Conflict(
            "channel.exists", "the sender already has a channel of this kind", kind=data.kind
        ) from exc
    link_applications(row, data)
    return row


def _active_sender(qualite_id: int) -> Sender:
    sender = Sender.get_or_none((Sender.qualite == qualite_id) & (Sender.active == True))  # noqa: E712
    if sender is None:
        raise NotFound("sender.none", "there is no active sender")
    return sender


def _live_channel(sender: Sender, kind: str) -> Channel:
    row = Channel.get_or_none(
        (Channel.sender == sender.id) & (Channel.kind == kind) & (Channel.status != DELETED)
    )
    if row is None:
        raise NotFound("channel.none", "the sender has no channel of this kind", kind=kind)
    return row


def channel_input(actor_id: int, qualite_id: int, kind: str) -> ChannelInput:
    """The channel as stored, in the form *Données du canal* edits (to modify it)."""
    require_role(actor_id, qualite_id)
    row = _live_channel(_active_sender(qualite_id), kind)
    links = list(
        ChannelApplication.select()
        .join(Application)
        .where(ChannelApplication.channel == row.id)
        .order_by(Application.position)
    )
    return ChannelInput(
        kind=row.kind,
        applications=tuple(link.application_id for link in links),
        ssh_key=row.ssh_key,
        certificate=bytes(row.certificate) if row.certificate else None,
        connection_type=row.connection_type,
        preferred=tuple((link.application_id, row.kind) for link in links if link.preferred),
        mq_queue_manager=row.mq_queue_manager,
        mq_queue=row.mq_queue,
    )


def overview(actor_id: int, qualite_id: int) -> Overview | None:
    """The *Aperçu des données de configuration*, or None when there is no active sender."""
    require_role(actor_id, qualite_id)
    sender = Sender.get_or_none((Sender.qualite == qualite_id) & (Sender.active == True))  # noqa: E712
    return _overview(sender) if sender else None


def _overview(sender: Sender) -> Overview:
    channels = tuple(channel_info(c) for c in live_channels(sender.id)) if sender.active else ()
    return Overview(sender_info(sender), _contact_of(sender.id), channels)


def _contact_of(sender_id: int) -> ContactData | None:
    row = ContactPerson.get_or_none(ContactPerson.sender == sender_id)
    if row is None:
        return None
    emails = tuple(e for e in (row.email1, row.email2, row.email3) if e)
    return ContactData(
        row.last_name,
        row.first_name,
        row.title,
        row.function,
        row.language,
        row.phone,
        row.fax,
        row.mobile,
        emails,
    )


def kept_contact(actor_id: int, qualite_id: int) -> ContactData | None:
    """The contact person last registered for the qualité, kept when its structured messaging
    was deleted: registering again starts from it (None when there never was one)."""
    require_manager(actor_id, qualite_id)
    sender = Sender.get_or_none(Sender.qualite == qualite_id)
    return _contact_of(sender.id) if sender is not None else None


def update_contact(
    actor_id: int, qualite_id: int, contact: ContactData, now: datetime | None = None
) -> ContactData:
    contact = check_contact(contact)
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        sender = _active_sender(qualite_id)
        ContactPerson.insert(sender=sender.id, **_contact_values(contact)).on_conflict(
            conflict_target=[ContactPerson.sender], update=_contact_values(contact)
        ).execute()
        record("contact.update", actor_id, qualite_id, at=now, **_contact_values(contact))
    return contact


def add_channel(
    actor_id: int, qualite_id: int, channel: ChannelInput, now: datetime | None = None
) -> ChannelInfo:
    """*Ajout d'un canal*: a further channel for an existing sender."""
    now = now or local_now()
    values = check_channel_input(channel, now)
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        sender = _active_sender(qualite_id)
        row = _create_channel(sender, channel, values, now)
        record(
            "channel.add",
            actor_id,
            qualite_id,
            at=now,
            kind=row.kind,
            applications=list(channel.applications),
        )
    return channel_info(row)


def update_channel(
    actor_id: int, qualite_id: int, channel: ChannelInput, now: datetime | None = None
) -> ChannelInfo:
    """Change a channel's key, certificate, queues or applications.

    A new SSH key takes effect at the next synchronisation (the old one works until then);
    the certificate and applications at once.
    """
    now = now or local_now()
    values = check_channel_input(channel, now)
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        sender = _active_sender(qualite_id)
        row = _live_channel(sender, channel.kind)
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        link_applications(row, channel)
        record(
            "channel.update",
            actor_id,
            qualite_id,
            at=now,
            kind=row.kind,
            applications=list(channel.applications),
        )
    return channel_info(row)


def remove_channel(actor_id: int, qualite_id: int, kind: str, now: datetime | None = None) -> None:
    """Remove one channel; its access ends at once and preferences move to another channel."""
    now = now or local_now()
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        sender = _active_sender(qualite_id)
        row = _live_channel(sender, kind)
        _revoke(row, now)
        normalize_preferences(sender.id)
        fall_back_to_ebox(qualite_id, [kind])
        record("channel.remove", actor_id, qualite_id, at=now, kind=kind)


def _revoke(row: Channel, now: datetime) -> None:
    # the only place a channel is removed: ``status`` and ``deleted_at`` go together (the
    # unique index of one live channel per kind reads ``deleted_at``, migration 0009)
    row.status, row.deleted_at, row.provisioned_key = DELETED, now, None
    row.save()


def delete_sender(actor_id: int, qualite_id: int, now: datetime | None = None) -> SenderInfo:
    """*Suppression de l'envoi par messages structurés*: every channel goes, access ends now.

    The sender number and technical user name are kept for a later return.
    """
    now = now or local_now()
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        sender = _active_sender(qualite_id)
        for row in live_channels(sender.id):
            _revoke(row, now)
        fall_back_to_ebox(qualite_id)
        sender.active, sender.deleted_at = False, now
        sender.save()
        record("sender.delete", actor_id, qualite_id, at=now, number=sender.number)
    return sender_info(sender)
