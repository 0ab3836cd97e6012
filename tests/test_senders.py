"""Registering a sender, its channels and preferences, deleting and coming back."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from peewee import IntegrityError, SqliteDatabase

from store import audit, senders
from store.access import grant_role
from store.db import db
from store.democreds import DemoCredentials
from store.dto import ChannelInput
from store.errors import Conflict, PermissionDenied, ValidationError, ValidationErrors
from store.models import (
    ACTIVE,
    DELETED,
    PENDING,
    Channel,
    ChannelApplication,
    ContactPerson,
    Organisation,
    Qualite,
    Sender,
)
from tests.support.database import make_inserts_fail
from tests.support.registration import (
    CONTACT,
    person_id,
    qualite_id,
    register_demo_sender,
    sftp_input,
)
from tests.support.registration import REGISTERED_AT as NOW

pytestmark = pytest.mark.both_backends


def test_register_stores_everything(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    overview = register_demo_sender(demo_credentials)
    assert overview.sender.number == senders.FIRST_SENDER_NUMBER
    assert overview.sender.technical_user == "EXPDEMOENTREPRISE"
    assert overview.sender.registered_on == NOW.date()
    assert overview.contact == CONTACT
    (channel,) = overview.channels
    assert (channel.kind, channel.status, channel.ssh_key_type) == ("SFTP", PENDING, "ssh-ed25519")
    assert channel.ssh_fingerprint and channel.ssh_fingerprint.startswith("SHA256:")
    assert channel.certificate is not None
    assert channel.certificate.issuer == "SERIALNUMBER=200803, CN=Citizen CA, C=BE"
    assert [(a.code, a.preferred) for a in channel.applications] == [
        ("dmfa", True),
        ("dimona", True),
    ]
    assert Sender.select().count() == 1 and Channel.select().count() == 1
    assert audit.entries(qualite_id())[0].action == "sender.register"


def test_plain_user_is_refused_by_the_service(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    with pytest.raises(PermissionDenied) as info:
        register_demo_sender(demo_credentials, login="ursula")
    assert info.value.code == "role.manager_required"
    assert Sender.select().count() == 0


def test_co_manager_may_register(demo: SqliteDatabase, demo_credentials: DemoCredentials) -> None:
    assert register_demo_sender(demo_credentials, login="colette").sender.active


def test_every_error_is_reported_and_nothing_stored(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    with pytest.raises(ValidationErrors) as info:
        senders.register_sender(
            person_id("dieter"),
            qualite_id(),
            replace(CONTACT, phone=""),
            sftp_input(demo_credentials, applications=(), ssh_key="garbage"),
            "short",
            "short",
            now=NOW,
        )
    codes = {e.code for e in info.value.errors}
    assert {"field.required", "applications.required", "username.length"} <= codes
    assert any(e.field == "ssh_key" for e in info.value.errors)
    assert Sender.select().count() == 0 and ContactPerson.select().count() == 0


def test_usernames_are_case_sensitive_and_unique(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials, name="Abcdefgh1")
    other = qualite_id("0876543270")
    # Same letters, other case: a different name, accepted.
    overview = senders.register_sender(
        person_id("dieter"),
        other,
        CONTACT,
        sftp_input(demo_credentials),
        "abcdefgh1",
        "abcdefgh1",
        now=NOW,
    )
    assert overview.sender.technical_user == "abcdefgh1"
    assert overview.sender.number == senders.FIRST_SENDER_NUMBER + 1


def test_duplicate_username_refused(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials, name="Abcdefgh1")
    other = qualite_id("0876543270")
    with pytest.raises(ValidationErrors) as info:
        senders.register_sender(
            person_id("dieter"),
            other,
            CONTACT,
            sftp_input(demo_credentials),
            "Abcdefgh1",
            "Abcdefgh1",
            now=NOW,
        )
    assert [e.code for e in info.value.errors] == ["username.taken"]


def test_second_registration_conflicts(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    with pytest.raises(Conflict):
        register_demo_sender(demo_credentials, name="Another123")


def test_failure_half_way_leaves_nothing(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    # The channel's application list names one that does not exist: the sender row and the
    # contact person are written first inside the transaction, then everything is undone.
    Channel.insert  # noqa: B018 - the model exists
    bad = ChannelInput(
        kind="SFTP",
        applications=("dmfa",),
        ssh_key=demo_credentials.ssh_public_key.read_text(),
        certificate=demo_credentials.certificate_der.read_bytes(),
    )
    make_inserts_fail("channel_application", "disk full")
    with pytest.raises(Exception, match="disk full"):
        senders.register_sender(
            person_id("dieter"),
            qualite_id(),
            CONTACT,
            bad,
            "EXPDEMOENTREPRISE",
            "EXPDEMOENTREPRISE",
            now=NOW,
        )
    assert Sender.select().count() == 0
    assert ContactPerson.select().count() == 0
    assert Channel.select().count() == 0


def test_racing_registrations_get_different_numbers(
    tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    from store.db import close_database, open_database
    from store.demo import PERSONS, seed_demo
    from store.models import Person
    from store.passwords import hash_password

    open_database(tmp_path / "race.sqlite3")
    seed_demo()
    try:
        manager = person_id("dieter")
        hashed = hash_password("x")
        qualites = []
        for i in range(8):
            org = Organisation.create(name=f"ORG {i}", kbo=f"{i:010d}", created_on=NOW.date())
            q = Qualite.create(organisation=org, kind="employeur_onss", created_on=NOW.date())
            grant_role(manager, q.id, "gestionnaire_local")
            qualites.append(q.id)
        assert Person.select().count() == len(PERSONS) and hashed
        results: list[int] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(len(qualites))

        def run(q: int, i: int) -> None:
            try:
                barrier.wait()
                ov = senders.register_sender(
                    manager,
                    q,
                    CONTACT,
                    sftp_input(demo_credentials),
                    f"RaceUser{i:02d}",
                    f"RaceUser{i:02d}",
                    now=NOW,
                )
                results.append(ov.sender.number)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(q, i)) for i, q in enumerate(qualites)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(results) == len(set(results)) == len(qualites)
    finally:
        close_database()


def test_delete_then_register_again_keeps_number_and_name(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    first = register_demo_sender(demo_credentials)
    Channel.update(status=ACTIVE, provisioned_key=Channel.ssh_key).execute()
    senders.delete_sender(person_id("dieter"), qualite_id(), now=NOW)
    row = Channel.get()
    assert (row.status, row.provisioned_key) == (DELETED, None)
    status = senders.sender_status(qualite_id())
    assert (status.has_active_sender, status.had_sender) == (False, True)
    assert senders.overview(person_id("dieter"), qualite_id()) is None
    # The contact person is kept too: registering again starts from it (managers only).
    assert senders.kept_contact(person_id("dieter"), qualite_id()) == CONTACT
    with pytest.raises(PermissionDenied):
        senders.kept_contact(person_id("ursula"), qualite_id())
    again = senders.register_sender(
        person_id("dieter"),
        qualite_id(),
        replace(CONTACT, first_name="Ann"),
        sftp_input(demo_credentials),
        None,
        None,
        now=NOW,
    )
    assert again.sender.number == first.sender.number
    assert again.sender.technical_user == "EXPDEMOENTREPRISE"
    assert again.contact and again.contact.first_name == "Ann"
    assert [c.status for c in again.channels] == [PENDING]
    # the database keeps one live channel per sender and kind; the removed one does not count
    live = Channel.get(Channel.status == PENDING)
    with pytest.raises(IntegrityError), db.atomic():
        Channel.insert(
            sender=live.sender_id, kind=live.kind, status=ACTIVE, created_at=NOW
        ).execute()
    assert Channel.select().count() == 2


def test_preferred_channel_required_then_kept_consistent(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    manager, q = person_id("dieter"), qualite_id()
    ftp = ChannelInput(
        kind="FTP",
        applications=("dmfa", "chomage"),
        certificate=demo_credentials.certificate_der.read_bytes(),
    )
    with pytest.raises(ValidationErrors) as info:
        senders.add_channel(manager, q, ftp, now=NOW)
    assert [(e.code, e.params) for e in info.value.errors] == [
        ("channel.preferred_required", {"application": "dmfa"})
    ]
    assert Channel.select().count() == 1  # nothing half-written
    ftp = ChannelInput(
        kind="FTP",
        applications=("dmfa", "chomage"),
        certificate=demo_credentials.certificate_der.read_bytes(),
        preferred=(("dmfa", "FTP"),),
    )
    info_ftp = senders.add_channel(manager, q, ftp, now=NOW)
    assert {(a.code, a.preferred) for a in info_ftp.applications} == {
        ("dmfa", True),
        ("chomage", True),
    }
    overview = senders.overview(manager, q)
    assert overview is not None
    sftp = next(c for c in overview.channels if c.kind == "SFTP")
    assert {(a.code, a.preferred, a.preferred_kind) for a in sftp.applications} == {
        ("dmfa", False, "FTP"),
        ("dimona", True, "SFTP"),
    }
    # Removing the preferred channel hands the preference back to SFTP.
    senders.remove_channel(manager, q, "FTP", now=NOW)
    links = ChannelApplication.select().join(Channel).where(Channel.status != DELETED)
    assert {(link.application_id, bool(link.preferred)) for link in links} == {
        ("dmfa", True),
        ("dimona", True),
    }


def test_update_contact_and_channel(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    manager, q = person_id("dieter"), qualite_id()
    senders.update_contact(
        manager, q, replace(CONTACT, function="Directeur IT", emails=("a@b.be", "c@d.be"))
    )
    overview = senders.overview(manager, q)
    assert overview and overview.contact
    assert overview.contact.function == "Directeur IT"
    assert overview.contact.emails == ("a@b.be", "c@d.be")
    updated = senders.update_channel(
        manager, q, sftp_input(demo_credentials, applications=("chantier",)), now=NOW
    )
    assert [a.code for a in updated.applications] == ["chantier"]
    with pytest.raises(PermissionDenied):
        senders.update_contact(person_id("ursula"), q, CONTACT)


def test_mqlink_needs_queue_names(demo: SqliteDatabase, demo_credentials: DemoCredentials) -> None:
    register_demo_sender(demo_credentials)
    with pytest.raises(ValidationErrors) as info:
        senders.add_channel(
            person_id("dieter"),
            qualite_id(),
            ChannelInput(
                kind="MQLINK", applications=("chantier",), mq_queue_manager="", mq_queue="bad queue"
            ),
        )
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("mq_queue_manager", "field.required"),
        ("mq_queue", "mq.name"),
    }


def test_expired_certificate_refused_on_channel(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    with pytest.raises(ValidationErrors) as info:
        senders.register_sender(
            person_id("dieter"),
            qualite_id(),
            CONTACT,
            sftp_input(demo_credentials),
            "EXPDEMOENTREPRISE",
            "EXPDEMOENTREPRISE",
            now=datetime(2040, 1, 1),
        )
    assert [(e.field, e.code) for e in info.value.errors] == [
        ("certificate", "certificate.expired")
    ]
    assert not isinstance(info.value, ValidationError) or Sender.select().count() == 0


def test_account_lookup_follows_provisioning_and_revocation(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    from store.accounts import (
        account_is_live,
        channel_file_codes,
        find_account,
        provisioned_accounts,
    )
    from store.cycles import activate_channels

    register_demo_sender(demo_credentials)
    key = demo_credentials.ssh_public_key.read_text()
    assert find_account("EXPDEMOENTREPRISE", key) is None  # not provisioned yet
    assert provisioned_accounts() == []
    channel = Channel.get()
    assert activate_channels([channel.id], NOW) == [(channel.id, "SFTP", PENDING)]
    account = find_account("EXPDEMOENTREPRISE", key)
    assert account is not None and account.sender_number == senders.FIRST_SENDER_NUMBER
    assert provisioned_accounts() == [account]
    assert find_account("expdemoentreprise", key) is None  # case matters
    assert channel_file_codes(channel.id) == {"DMFA", "DMWA", "DMRQ", "DIMN"}
    assert account_is_live(channel.id)
    senders.delete_sender(person_id("dieter"), qualite_id(), now=NOW)
    assert not account_is_live(channel.id)
    assert find_account("EXPDEMOENTREPRISE", key) is None


def test_applications_in_portal_order(demo: SqliteDatabase) -> None:
    from store.channels import applications

    apps = applications()
    assert [a.code for a in apps] == ["dmfa", "drs", "chomage", "dimona", "chantier"]
    assert apps[0].name == "Déclaration multifonctionnelle DmfA"
    assert apps[0].file_codes == ("DMFA", "DMWA", "DMRQ")


def test_a_parsed_key_is_stored_as_parsed(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wizard parses the key once, when it is loaded; the checks and the save use that."""
    from store import channels
    from store.credentials import parse_ssh_public_key

    key = parse_ssh_public_key(demo_credentials.ssh_public_key.read_bytes())

    def parsed_again(data: bytes | str) -> None:
        raise AssertionError("the key was parsed again")

    monkeypatch.setattr(channels, "parse_ssh_public_key", parsed_again)
    senders.register_sender(
        person_id("dieter"),
        qualite_id(),
        CONTACT,
        sftp_input(demo_credentials, ssh_key=key),
        "EXPDEMOENTREPRISE",
        "EXPDEMOENTREPRISE",
        now=NOW,
    )
    channel = Channel.get()
    assert (channel.ssh_key, channel.ssh_fingerprint) == (key.openssh, key.fingerprint)


def test_channel_input_gives_the_stored_channel_back(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    manager, q = person_id("dieter"), qualite_id()
    stored = senders.channel_input(person_id("ursula"), q, "SFTP")  # reading is allowed
    assert stored.kind == "SFTP" and stored.applications == ("dmfa", "dimona")
    assert stored.certificate == demo_credentials.certificate_der.read_bytes()
    assert (
        isinstance(stored.ssh_key, str)
        and stored.ssh_key.split()[:2] == demo_credentials.ssh_public_key.read_text().split()[:2]
    )
    assert dict(stored.preferred) == {"dmfa": "SFTP", "dimona": "SFTP"}
    # Stored back unchanged, it is accepted as is.
    assert senders.update_channel(manager, q, stored, now=NOW).kind == "SFTP"
    with pytest.raises(Exception) as info:
        senders.channel_input(manager, q, "FTP")
    assert getattr(info.value, "code", None) == "channel.none"
