"""The demo's second qualité (*SECRETARIAT DEMO*) as one that has sent for a while: a
registered sender, an active SFTP channel, and a few received sets, accepted and rejected.

So *Aperçu*, *Envois reçus* and the Routing Module's batch channels can be tried at once
after ``expedito --demo``, while *ENTREPRISE DEMO* stays to be registered with the demo key
and certificate. The channel has its own SSH key and certificate, made here (the demo files
stay *ENTREPRISE DEMO*'s); only their public parts are kept.

``seed_demo_sender`` is idempotent: it does nothing once the qualité has (or had) a sender.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from store.access import role_in
from store.batches import BatchError, BatchFile, NewBatchSet, mark_processed, record_acknowledged
from store.clock import local_now
from store.cycles import activate_channels
from store.demo import ORGANISATIONS
from store.democreds import citizen_ca_name, make_test_certificate, signature_subject_name
from store.dto import ChannelInput
from store.models import GESTIONNAIRE, Organisation, Person, Qualite, Sender
from store.rules import ContactData
from store.senders import register_sender

SECRETARIAT_KBO = ORGANISATIONS[1][1]
TECHNICAL_USER = "SECRETARIATDEMO"
CONTACT = ContactData(
    last_name="Secrétariat",
    first_name="Sophie",
    title="Mme",
    function="Responsable des envois",
    language="fr",
    phone="025455090",
    emails=("envois@secretariat-demo.be",),
)
APPLICATIONS = ("dmfa", "dimona")
SIGNATURE_MISSING = "ACRF-122"  # sync.intake.checks.SIGNATURE_MISSING (store never imports sync)
# (days before today, purpose, environment, sequence, problems): what the intake answered.
SETS = (
    (6, "DMFA", "T", 1, ()),
    (5, "DMFA", "T", 2, (SIGNATURE_MISSING,)),
    (4, "DMFA", "R", 1, ()),
    (2, "DIMN", "R", 1, ()),
    (1, "DIMN", "R", 2, ()),
)
FOLDERS = {"R": "IN", "T": "INTEST", "S": "INTEST-S"}


def _qualite_id() -> int | None:
    row = (
        Qualite.select(Qualite.id)
        .join(Organisation)
        .where(Organisation.kbo == SECRETARIAT_KBO)
        .first()
    )
    return int(row.id) if row is not None else None


def _gestionnaire(qualite_id: int) -> int | None:
    for person in Person.select(Person.id).order_by(Person.id):
        if role_in(person.id, qualite_id) == GESTIONNAIRE:
            return int(person.id)
    return None


def _channel_input(now: datetime) -> ChannelInput:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    ssh_key = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    certificate, _ = make_test_certificate(
        subject=signature_subject_name("Sophie", "Secrétariat", "80010100012"),
        issuer=citizen_ca_name(),
        not_before=now.astimezone(UTC) - timedelta(days=30),
        not_after=now.astimezone(UTC) + timedelta(days=3 * 365),
    )
    return ChannelInput(
        kind="SFTP",
        applications=APPLICATIONS,
        ssh_key=f"{ssh_key} sophie@secretariat-demo",
        certificate=certificate.public_bytes(serialization.Encoding.DER),
    )


def seed_demo_sender(now: datetime | None = None) -> int | None:
    """Register *SECRETARIAT DEMO*'s sender (as its gestionnaire local), activate its SFTP
    channel as the sync cycle would, and record its received sets; returns the sender
    number, or None when there was nothing to do (already there, or no demo data)."""
    now = now or local_now()
    qualite_id = _qualite_id()
    if qualite_id is None or Sender.get_or_none(Sender.qualite == qualite_id) is not None:
        return None
    actor = _gestionnaire(qualite_id)
    if actor is None:
        return None
    registered = now - timedelta(days=7)
    overview = register_sender(
        actor,
        qualite_id,
        CONTACT,
        _channel_input(registered),
        TECHNICAL_USER,
        TECHNICAL_USER,
        now=registered,
    )
    (channel,) = overview.channels
    activate_channels([channel.id], registered + timedelta(minutes=30))
    number = overview.sender.number
    for days, purpose, env, sequence, problems in SETS:
        received = now - timedelta(days=days)
        _record_set(
            overview.sender.id, channel.id, number, received, purpose, env, sequence, problems
        )
    return number


def _record_set(
    sender_id: int,
    channel_id: int,
    number: int,
    received: datetime,
    purpose: str,
    env: str,
    sequence: int,
    problems: tuple[str, ...],
) -> None:
    day: date = received.date()
    stem = f"{purpose}.{number:06d}.{day:%Y%m%d}.{sequence:05d}.{env}"
    go = f"GO.{stem}.1"
    files = [BatchFile(f"FI.{stem}.1.1", 48_213 + 997 * sequence)]
    if SIGNATURE_MISSING not in problems:
        files.append(BatchFile(f"FS.{stem}.1.1", 3_118))
    files.append(BatchFile(go, 0))
    new = NewBatchSet(
        sender_id=sender_id,
        channel_id=channel_id,
        go_name=go,
        folder=FOLDERS[env],
        env=env,
        purpose=purpose,
        file_date=f"{day:%Y%m%d}",
        sequence=f"{sequence:05d}",
        files=tuple(files),
        received_at=received,
    )
    errors = [BatchError(code, f"FI.{stem}.1.1") for code in problems]
    recorded = record_acknowledged(new, errors, env, day, number)
    mark_processed(recorded.id, at=received + timedelta(seconds=2))
