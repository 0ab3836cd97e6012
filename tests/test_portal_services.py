"""Gestion Qualité, Routing Module and Données personnelles, at the service layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import personal, qualites, routing, senders, users
from store.access import authenticate, session_for
from store.audit import entries
from store.democreds import DemoCredentials, make_test_certificate
from store.dto import ChannelInput
from store.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
    ValidationErrors,
)
from store.models import CO_GESTIONNAIRE, GESTIONNAIRE, UTILISATEUR, Role
from store.rules import check_login
from tests.support.registration import person_id, qualite_id, register_demo_sender

pytestmark = pytest.mark.both_backends


def roles() -> dict[str, str]:
    return {r.person.login: r.role for r in users.users_of(person_id("dieter"), qualite_id())}


def test_users_listed_managers_first(demo: SqliteDatabase) -> None:
    rows = users.users_of(person_id("ursula"), qualite_id())
    assert [(r.person.login, r.role) for r in rows] == [
        ("dieter", GESTIONNAIRE),
        ("colette", CO_GESTIONNAIRE),
        ("ursula", UTILISATEUR),
    ]


def test_give_access_existing_and_new(demo: SqliteDatabase) -> None:
    other = qualite_id("0876543270")
    row = users.give_access(
        person_id("dieter"), other, UTILISATEUR, "ursula.lecture@entreprise-demo.be"
    )
    assert row.person.login == "ursula"
    with pytest.raises(Conflict):
        users.give_access(person_id("dieter"), other, UTILISATEUR, "ursula")
    with pytest.raises(NotFound):
        users.give_access(person_id("dieter"), other, UTILISATEUR, "nobody@nowhere.be")
    new = users.NewPerson("newbie", "Secret12345", "Nina", "Nouveau", "nina@demo.be")
    users.give_access(person_id("dieter"), other, CO_GESTIONNAIRE, new_person=new)
    assert authenticate("newbie", "Secret12345").roles[0].role == CO_GESTIONNAIRE
    assert entries(other)[0].action == "role.grant"


def test_only_the_gestionnaire_changes_roles(demo: SqliteDatabase) -> None:
    for login in ("colette", "ursula"):
        with pytest.raises(PermissionDenied):
            users.change_role(person_id(login), qualite_id(), person_id("ursula"), CO_GESTIONNAIRE)
    assert roles()["ursula"] == UTILISATEUR


def test_one_co_gestionnaire_and_handing_over(demo: SqliteDatabase) -> None:
    dieter, q = person_id("dieter"), qualite_id()
    # Colette, the co-gestionnaire now, would become utilisateur: refused unless asked.
    with pytest.raises(Conflict) as info:
        users.change_role(dieter, q, person_id("ursula"), CO_GESTIONNAIRE)
    assert (info.value.code, info.value.params) == (
        "role.others_change",
        {"names": "Colette Gestion"},
    )
    assert roles()["colette"] == CO_GESTIONNAIRE
    planned = users.role_changes(users.users_of(dieter, q), person_id("ursula"), CO_GESTIONNAIRE)
    assert [(c.person.login, c.old, c.new) for c in planned] == [
        ("ursula", UTILISATEUR, CO_GESTIONNAIRE),
        ("colette", CO_GESTIONNAIRE, UTILISATEUR),
    ]
    done = users.change_role(
        dieter, q, person_id("ursula"), CO_GESTIONNAIRE, confirmed={person_id("colette")}
    )
    assert done == planned
    assert roles() == {"dieter": GESTIONNAIRE, "ursula": CO_GESTIONNAIRE, "colette": UTILISATEUR}
    # Handing over to the co-gestionnaire changes only the two of them: nothing to confirm.
    users.change_role(dieter, q, person_id("ursula"), GESTIONNAIRE)
    assert roles() == {"ursula": GESTIONNAIRE, "dieter": CO_GESTIONNAIRE, "colette": UTILISATEUR}
    # Handing over to a utilisateur makes the co-gestionnaire (not the actor) utilisateur.
    ursula = person_id("ursula")
    with pytest.raises(Conflict):
        users.change_role(ursula, q, person_id("colette"), GESTIONNAIRE)
    users.change_role(ursula, q, person_id("colette"), GESTIONNAIRE, confirmed={dieter})
    assert roles() == {"colette": GESTIONNAIRE, "ursula": CO_GESTIONNAIRE, "dieter": UTILISATEUR}


def test_a_new_co_gestionnaire_replaces_the_one_there_only_when_asked(
    demo: SqliteDatabase,
) -> None:
    dieter, q = person_id("dieter"), qualite_id()
    new = users.NewPerson("nina", "Secret12345", "Nina", "Nouveau", "nina@demo.be")
    with pytest.raises(Conflict) as info:
        users.give_access(dieter, q, CO_GESTIONNAIRE, new_person=new)
    assert (info.value.code, info.value.params) == ("role.co_taken", {"name": "Colette Gestion"})
    assert users.find_person("nina") is None  # nothing half-written
    with pytest.raises(Conflict):  # asked about someone else: still refused
        users.give_access(dieter, q, CO_GESTIONNAIRE, new_person=new, replace_co=dieter)
    users.give_access(dieter, q, CO_GESTIONNAIRE, new_person=new, replace_co=person_id("colette"))
    assert roles() == {
        "dieter": GESTIONNAIRE,
        "nina": CO_GESTIONNAIRE,
        "colette": UTILISATEUR,
        "ursula": UTILISATEUR,
    }


@pytest.mark.parametrize(
    ("login", "code"),
    [
        ("", "field.required"),
        ("nina nouveau", "login.spaces"),
        (" nina\t", "login.spaces"),
        ("nina@demo.be", "login.characters"),
        ("niña", "login.characters"),
        ("ni", "login.length"),
        ("n" * 51, "login.length"),
    ],
)
def test_logins_follow_rules_like_technical_user_names(
    demo: SqliteDatabase, login: str, code: str
) -> None:
    with pytest.raises(ValidationError) as info:
        check_login(login)
    assert info.value.code == code
    new = users.NewPerson(login, "Secret12345", "Nina", "Nouveau", "nina@demo.be")
    with pytest.raises(ValidationErrors) as many:
        users.give_access(person_id("dieter"), qualite_id(), UTILISATEUR, new_person=new)
    assert [e.code for e in many.value.errors] == [code]
    assert check_login("nina.nouveau-2_b") == "nina.nouveau-2_b"


def test_last_gestionnaire_cannot_go(demo: SqliteDatabase) -> None:
    dieter, q = person_id("dieter"), qualite_id()
    with pytest.raises(Conflict) as info:
        users.remove_access(dieter, q, dieter)
    assert info.value.code == "role.last_gestionnaire"
    with pytest.raises(Conflict):
        users.change_role(dieter, q, dieter, UTILISATEUR)
    assert Role.select().where(Role.role == GESTIONNAIRE, Role.qualite == q).count() == 1
    users.remove_access(dieter, q, person_id("ursula"))
    assert "ursula" not in roles()


def test_search_sees_only_the_managers_organisations(demo: SqliteDatabase) -> None:
    page = users.search_persons(person_id("dieter"), "lec")
    assert [h.person.login for h in page.hits] == ["ursula"]
    assert users.search_persons(person_id("dieter"), "").total == 4  # 3 + dieter's 2nd qualité
    # A plain utilisateur manages nothing and sees no one.
    assert users.search_persons(person_id("ursula"), "").total == 0
    paged = users.search_persons(person_id("dieter"), "", offset=1, limit=2)
    assert (len(paged.hits), paged.total) == (2, 4)


def test_search_counts_up_to_a_cap(demo: SqliteDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    dieter = person_id("dieter")
    monkeypatch.setattr(users, "COUNT_CAP", 2)
    first = users.search_persons(dieter, "", limit=1)
    assert (len(first.hits), first.total, first.more) == (1, 2, True)  # "more than 2"
    last = users.search_persons(dieter, "", offset=2, limit=1)
    assert (len(last.hits), last.total, last.more) == (1, 4, False)
    monkeypatch.setattr(users, "COUNT_CAP", 3)
    exact = users.search_persons(dieter, "", offset=1, limit=1)
    assert (exact.total, exact.more) == (4, False)


def test_search_takes_like_wildcards_literally(demo: SqliteDatabase) -> None:
    # PostgreSQL searches with LIKE (its trigram index): % and _ must not match everything.
    dieter = person_id("dieter")
    assert users.search_persons(dieter, "").total == 4
    for text in ("%", "_", "\\", "u%a", "ursul_"):
        assert users.search_persons(dieter, text).total == 0, text
    assert [h.person.login for h in users.search_persons(dieter, "ursul").hits] == ["ursula"]


def test_search_ignores_accents_and_case(demo: SqliteDatabase) -> None:
    from store.access import create_person, grant_role

    for login, first, last in (("hmuller", "Hans", "Müller"), ("dvu", "Déjà", "Vu")):
        grant_role(create_person(login, "Secret12345", first, last).id, qualite_id(), UTILISATEUR)
    dieter = person_id("dieter")
    for text, found in (
        ("muller", ["hmuller"]),
        ("MÜLLER", ["hmuller"]),
        ("deja", ["dvu"]),
        ("DÉJÀ", ["dvu"]),
        ("hans müller", ["hmuller"]),
        ("mullerhans", []),  # a word never spans two fields
        ("%", []),
        ("_", []),
    ):
        assert [h.person.login for h in users.search_persons(dieter, text).hits] == found, text
    # A change of name is searched at once.
    personal.update_personal_data(
        person_id("dvu"),
        personal.PersonalData("Mme", "Zoë", "Vu", "fr", "zoe@demo.be", ""),
    )
    assert [h.person.login for h in users.search_persons(dieter, "zoe").hits] == ["dvu"]
    assert users.search_persons(dieter, "deja").total == 0


def test_search_text_first_and_scope_first_agree(
    demo: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Text first (few persons contain the longest word of 3+ characters: the trigram index)
    # or scope first (many, or only shorter words): the same hits and total either way.
    dieter = person_id("dieter")
    texts = ("lec", "ursula", "ur", "u", "ursula le", '"ur', "demo.be", "zzzz", "e", "")

    def results() -> list[tuple[list[tuple[str, int]], int]]:
        out = []
        for text in texts:
            page = users.search_persons(dieter, text)
            out.append(([(h.person.login, h.qualite_id) for h in page.hits], page.total))
        return out

    text_first = results()
    monkeypatch.setattr(users, "TEXT_FIRST_MAX", 0)
    assert results() == text_first
    assert text_first[0][0] == text_first[1][0] == [("ursula", qualite_id())]
    assert [login for login, _ in text_first[2][0]] == ["ursula"]  # "ur": a short word
    assert text_first[7] == ([], 0)


def test_persons_stored_before_the_search_column_are_found(tmp_path: Path) -> None:
    from playhouse.migrations import Runner

    from store.db import MIGRATIONS_DIR, apply_migrations, close_database, open_database

    database = open_database(tmp_path / "old.sqlite3", migrate=False)
    try:
        Runner(database, directory=str(MIGRATIONS_DIR)).up(target="0003_sftp_sessions")
        database.execute_sql(
            "INSERT INTO person (login, password_hash, title, first_name, last_name, language,"
            " email, phone, password_changed_at, created_at) VALUES ('jmuller', 'x', 'Mr',"
            " 'Jürgen', 'MÜLLER', 'de', 'j@demo.be', '', '2026-01-01', '2026-01-01')"
        )
        assert "0005_person_search_text" in apply_migrations(database)
        text = database.execute_sql("SELECT search_text FROM person").fetchone()[0]
        assert text == "muller jurgen jmuller j@demo.be"
    finally:
        close_database()


def test_qualite_detail_changes_are_checked(demo: SqliteDatabase) -> None:
    dieter, q = person_id("dieter"), qualite_id()
    changed = qualites.update_qualite(
        dieter, q, qualites.QualiteChanges("ENTREPRISE DEMO SA", "0403.123.486", "1234567-49")
    )
    assert changed.organisation.name == "ENTREPRISE DEMO SA"
    with pytest.raises(ValidationErrors) as info:
        qualites.update_qualite(dieter, q, qualites.QualiteChanges("", "0403123487", "123456748"))
    assert {e.code for e in info.value.errors} == {
        "field.required",
        "kbo.check_digits",
        "onss.check_digits",
    }
    with pytest.raises(PermissionDenied):
        qualites.update_qualite(
            person_id("ursula"), q, qualites.QualiteChanges("X", "0403123486", "123456749")
        )
    assert qualites.qualite_detail(dieter, q).organisation.name == "ENTREPRISE DEMO SA"


def test_routing_defaults_choices_and_channel_deletion(
    demo: SqliteDatabase, demo_credentials: DemoCredentials
) -> None:
    dieter, q = person_id("dieter"), qualite_id()
    table = routing.routing_table(dieter, q)
    assert {(r.channel, r.is_default) for r in table} == {(routing.EBOX, True)}
    with pytest.raises(ValidationError) as info:
        routing.set_route(dieter, q, "dmfa_notifications", "SFTP")
    assert info.value.code == "routing.channel"  # no SFTP channel yet
    register_demo_sender(demo_credentials, now=None)
    senders.add_channel(
        dieter,
        q,
        ChannelInput(
            kind="MQLINK", applications=("chantier",), mq_queue_manager="QM1", mq_queue="Q.IN"
        ),
    )
    routing.set_route(dieter, q, "dmfa_notifications", "SFTP")
    routing.set_route(dieter, q, "chantier_answers", "MQLINK")
    with pytest.raises(PermissionDenied):
        routing.set_route(person_id("ursula"), q, "dimona_answers", "SFTP")
    senders.remove_channel(dieter, q, "MQLINK")
    routes = {r.flow: r.channel for r in routing.routing_table(dieter, q)}
    assert routes["dmfa_notifications"] == "SFTP" and routes["chantier_answers"] == routing.EBOX
    senders.delete_sender(dieter, q)
    assert {r.channel for r in routing.routing_table(dieter, q)} == {routing.EBOX}


def test_personal_data_validated(demo: SqliteDatabase) -> None:
    me = person_id("ursula")
    data = personal.PersonalData("Mme", "Ursula", "Lecture-Neuve", "nl", "u@demo.be", "025455080")
    assert personal.update_personal_data(me, data).last_name == "Lecture-Neuve"
    assert session_for(me).person.language == "nl"
    with pytest.raises(ValidationErrors) as info:
        personal.update_personal_data(me, personal.PersonalData("Sir", "", "X", "xx", "bad", "1"))
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("title", "contact.title"),
        ("first_name", "field.required"),
        ("language", "language.unknown"),
        ("email", "email.invalid"),
        ("phone", "phone.invalid"),
    }


def test_password_change(demo: SqliteDatabase) -> None:
    me = person_id("dieter")
    mine = authenticate("dieter", "demo")
    elsewhere = authenticate("dieter", "demo")
    with pytest.raises(AuthenticationFailed):
        personal.change_password(me, "wrong", "NewSecret123", "NewSecret123")
    for new, confirm, code in [
        ("Short1", "Short1", "password.too_short"),
        ("onlyletterslong", "onlyletterslong", "password.letters_digits"),
        ("dieter123456", "dieter123456", "password.contains_login"),
        ("NewSecret123", "NewSecret124", "password.mismatch"),
    ]:
        with pytest.raises(ValidationError) as info:
            personal.change_password(me, "demo", new, confirm)
        assert info.value.code == code
    refreshed = personal.change_password(me, "demo", "NewSecret123", "NewSecret123")
    assert personal.session_is_current(refreshed)
    assert not personal.session_is_current(elsewhere) and not personal.session_is_current(mine)
    assert authenticate("dieter", "NewSecret123").person.login == "dieter"
    with pytest.raises(AuthenticationFailed):
        authenticate("dieter", "demo")


def test_personal_certificate(demo: SqliteDatabase, demo_credentials: DemoCredentials) -> None:
    me = person_id("colette")
    assert personal.personal_certificate(me) is None
    summary = personal.register_personal_certificate(
        me, demo_credentials.certificate_pem.read_bytes()
    )
    assert summary.issuer == "SERIALNUMBER=200803, CN=Citizen CA, C=BE"
    assert personal.personal_certificate(me) == summary
    start = datetime.now(UTC) - timedelta(days=30)
    expired, _ = make_test_certificate(not_before=start, not_after=start + timedelta(days=1))
    from cryptography.hazmat.primitives.serialization import Encoding

    with pytest.raises(ValidationError) as info:
        personal.register_personal_certificate(me, expired.public_bytes(Encoding.DER))
    assert info.value.code == "certificate.expired"
    assert personal.personal_certificate(me) == summary  # the old one is kept
    personal.remove_personal_certificate(me)
    assert personal.personal_certificate(me) is None
    with pytest.raises(NotFound):
        personal.remove_personal_certificate(me)
