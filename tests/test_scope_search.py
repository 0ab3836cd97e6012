"""Rechercher utilisateurs from a scope kept in memory (``store.scope_search``): the same hits,
totals and order as the database's query, and every change seen at the next search — made in
this process, by SQL, or by another process — on both backends."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from peewee import Database

from store import personal, qualites, scope_search, users
from store.access import create_person, grant_role
from store.db import db, execute
from store.models import CO_GESTIONNAIRE, GESTIONNAIRE, UTILISATEUR, Organisation, Qualite, Role
from store.rules import kbo_check_digits
from tests.support.registration import person_id, qualite_id

pytestmark = pytest.mark.both_backends

TEXTS = (
    "",
    "e",
    "ma",
    "müller",
    "MULLER",
    "deja vu",
    "dupont",
    "dup ann",
    "anne dupont",
    "example.be",
    "@example",
    "zzzz",
    "x y z",
    "%",
    "_",
    "ursula le",
    "an an",
)
PAGES = ((0, 20), (0, 3), (4, 5), (30, 20))
Page = tuple[list[tuple[Any, ...]], int, bool]  # the hits, the total, whether more


def kbo(n: int) -> str:
    first8 = 20_000_000 + n
    return f"{first8:08d}{kbo_check_digits(first8):02d}"


@pytest.fixture
def scope(demo: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """dieter (gestionnaire local of the demo's organisations) made co-gestionnaire local of
    twelve more, with persons of like names (accents, case, the same name twice, one person
    in several organisations and in two qualités of one); every scope is kept in memory."""
    monkeypatch.setattr(scope_search, "LARGE_SCOPE", 2)
    dieter = person_id("dieter")
    names = [
        ("Anne", "Dupont"),
        ("anne", "dupont"),
        ("Hans", "Müller"),
        ("Déjà", "Vu"),
        ("Zoë", "Mullér"),
        ("Luc", "Maes"),
        ("Marie", "Dupont-Maes"),
        ("Ann", "Dupond"),
    ]
    people = [
        create_person(f"person{i}", "Secret12345", first, last, email=f"person{i}@example.be").id
        for i, (first, last) in enumerate(names)
    ]
    for n in range(12):
        org = Organisation.create(name=f"ORG {n % 5} SA", kbo=kbo(n), created_on=date(2020, 1, 1))
        q = Qualite.create(organisation=org, kind="employeur_onss", created_on=date(2020, 1, 1))
        grant_role(dieter, q.id, CO_GESTIONNAIRE)
        for k in range(3):
            grant_role(people[(n + k) % len(people)], q.id, UTILISATEUR)
        if n == 0:
            other = Qualite.create(
                organisation=org, kind="prestataire_services", created_on=date(2020, 1, 1)
            )
            grant_role(people[0], other.id, UTILISATEUR)
    yield dieter
    scope_search.forget()


def page(actor: int, text: str, offset: int = 0, limit: int = 20) -> Page:
    found = users.search_persons(actor, text, offset, limit)
    hits = [
        (h.person.login, h.qualite_id, h.role, h.organisation, h.qualite_kind) for h in found.hits
    ]
    return hits, found.total, found.more


def from_database(
    actor: int, text: str, offset: int, limit: int, monkeypatch: pytest.MonkeyPatch
) -> Page:
    with monkeypatch.context() as patch:
        patch.setattr(scope_search, "search", lambda *args: None)
        return page(actor, text, offset, limit)


def agree(actor: int, monkeypatch: pytest.MonkeyPatch, texts: tuple[str, ...] = TEXTS) -> None:
    for text in texts:
        for offset, limit in PAGES:
            from_memory = page(actor, text, offset, limit)
            assert from_memory == from_database(actor, text, offset, limit, monkeypatch), (
                text,
                offset,
            )
    kept, built = scope_search.kept(actor), scope_search.build(actor)
    assert kept is not None  # renewed in place, it is what a new one would be
    assert dataclasses.astuple(kept)[1:] == dataclasses.astuple(built)[1:]


def logins(actor: int, text: str) -> list[str]:
    return [h.person.login for h in users.search_persons(actor, text).hits]


def test_kept_scope_and_query_agree(scope: int, monkeypatch: pytest.MonkeyPatch) -> None:
    agree(scope, monkeypatch)
    assert set(logins(scope, "muller")) == {"person2", "person4"}
    assert logins(scope, "mullerhans") == []  # a word never spans two fields
    # The capped total: "more than" the cap, the next page still there.
    monkeypatch.setattr(users, "COUNT_CAP", 5)
    agree(scope, monkeypatch, ("", "e", "dupont"))
    first = users.search_persons(scope, "", 0, 3)
    assert (first.total, first.more) == (5, True)


def test_small_scopes_are_not_kept(demo: Database) -> None:
    dieter = person_id("dieter")
    assert [h.person.login for h in users.search_persons(dieter, "lec").hits] == ["ursula"]
    assert scope_search.kept(dieter) is None


def test_changes_are_seen_at_the_next_search(scope: int, monkeypatch: pytest.MonkeyPatch) -> None:
    dieter = scope
    agree(dieter, monkeypatch, ("", "dupont"))
    built = scope_search.kept(dieter)
    # A change outside the scope moves the generation on, nothing else.
    stranger = create_person("stranger", "Secret12345", "Sam", "Dupont").id
    org = Organisation.create(name="ELSEWHERE", kbo=kbo(99), created_on=date(2020, 1, 1))
    q = Qualite.create(organisation=org, kind="employeur_onss", created_on=date(2020, 1, 1))
    grant_role(stranger, q.id, GESTIONNAIRE)
    agree(dieter, monkeypatch, ("dupont",))
    after = scope_search.kept(dieter)
    assert after is not None and built is not None
    assert after.text is built.text and after.generation > built.generation
    # dieter made co-gestionnaire local there: its roles come in.
    grant_role(dieter, q.id, CO_GESTIONNAIRE)
    assert "stranger" in logins(dieter, "sam dupont")
    grant_role(dieter, q.id, UTILISATEUR)  # INSERT … ON CONFLICT DO UPDATE: no longer manager
    assert logins(dieter, "sam dupont") == []
    grant_role(dieter, q.id, CO_GESTIONNAIRE)
    assert "stranger" in logins(dieter, "sam dupont")
    agree(dieter, monkeypatch, ("", "dupont", "sam"))
    # A name changed: found by the new one only.
    personal.update_personal_data(
        person_id("person3"), personal.PersonalData("Mme", "Zoë", "Vu", "fr", "zoe@demo.be", "")
    )
    assert logins(dieter, "deja") == []
    assert set(logins(dieter, "zoe vu")) == {"person3"}
    agree(dieter, monkeypatch, ("", "zoe", "vu"))
    # A role given, changed, taken away; an organisation renamed (the order changes).
    users.give_access(dieter, qualite_id(), UTILISATEUR, "person5")
    users.change_role(
        dieter,
        qualite_id(),
        person_id("person5"),
        CO_GESTIONNAIRE,
        confirmed={person_id("colette")},
    )
    agree(dieter, monkeypatch, ("", "maes", "colette"))
    users.remove_access(dieter, qualite_id(), person_id("ursula"))
    assert logins(dieter, "ursula") == []
    qualites.update_qualite(
        dieter, qualite_id(), qualites.QualiteChanges("AAA FIRST", "0403.123.486", "1234567-49")
    )
    agree(dieter, monkeypatch, ("", "a"))
    # Written by SQL (what another program would do): the triggers mark it all the same.
    execute("UPDATE person SET search_text = 'nobody' WHERE login = 'person0'")
    assert "person0" not in logins(dieter, "anne")
    execute(
        "DELETE FROM qualite WHERE id IN (SELECT qualite_id FROM role WHERE person_id = ?)",
        (person_id("stranger"),),
    )
    assert logins(dieter, "sam") == []
    agree(dieter, monkeypatch, ("", "e"))
    # No longer co-gestionnaire local of an organisation: its roles go.
    first = Role.get((Role.person == dieter) & (Role.role == CO_GESTIONNAIRE))
    Role.update(role=UTILISATEUR).where(Role.id == first.id).execute()
    agree(dieter, monkeypatch, ("", "e"))


def test_another_process_changes_are_seen(scope: int, monkeypatch: pytest.MonkeyPatch) -> None:
    dieter = scope
    assert set(logins(dieter, "hans")) == {"person2"}
    target = db.obj.database  # the SQLite file, or the PostgreSQL URL
    code = (
        "import sys\n"
        "from store import personal\n"
        "from store.db import close_database, open_database\n"
        "from store.models import Person\n"
        "open_database(sys.argv[1])\n"
        "p = Person.get(Person.login == 'person2')\n"
        "personal.update_personal_data(p.id, personal.PersonalData("
        "'Mr', 'Johann', 'Müller', 'de', 'j@demo.be', ''))\n"
        "close_database()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(target)],
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert logins(dieter, "hans") == []
    assert set(logins(dieter, "johann")) == {"person2"}
    agree(dieter, monkeypatch, ("", "muller"))


def test_searches_typed_during_the_first_build_wait_for_it(
    scope: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    builds = []
    build = scope_search.build

    def slow_build(actor_id: int) -> scope_search.Snapshot:
        builds.append(actor_id)
        time.sleep(0.3)  # the first search's build, while more keys are typed
        return build(actor_id)

    monkeypatch.setattr(scope_search, "build", slow_build)
    results: dict[str, list[str]] = {}
    texts = ("m", "mu", "mul")
    threads = [
        threading.Thread(target=lambda t=text: results.update({t: logins(scope, t)}))
        for text in texts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert builds == [scope]
    for text in texts:
        expected = from_database(scope, text, 0, 20, monkeypatch)[0]
        assert results[text] == [hit[0] for hit in expected], text


def test_changes_nobody_searches_for_mark_nothing(demo: Database) -> None:
    from store.access import set_language
    from store.models import Person

    def generation() -> int:
        return int(execute("SELECT value FROM search_generation").fetchone()[0])

    before = generation()
    set_language(person_id("ursula"), "nl")
    Person.update(phone="+32 2 000 00 00").where(Person.login == "ursula").execute()
    Role.delete().where(Role.id == -1).execute()
    assert generation() == before  # no wait for the counter, no renewal anywhere
    Person.update(first_name="Ursule").where(Person.login == "ursula").execute()
    assert generation() > before


def count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The actors whose snapshot is built from now on, in turn (``scope_search.build``)."""
    builds: list[int] = []
    build = scope_search.build

    def counted(actor_id: int) -> scope_search.Snapshot:
        builds.append(actor_id)
        return build(actor_id)

    monkeypatch.setattr(scope_search, "build", counted)
    return builds


def test_many_changes_build_the_snapshot_again(scope: int, monkeypatch: pytest.MonkeyPatch) -> None:
    dieter = scope
    agree(dieter, monkeypatch, ("dupont",))
    builds = count_builds(monkeypatch)
    monkeypatch.setattr(scope_search, "PATCH_MAX", 0)  # any change of the scope: built again
    monkeypatch.setattr(scope_search, "REBUILD_SHARE", 10**6)
    personal.update_personal_data(
        person_id("person0"), personal.PersonalData("Mme", "Anna", "Dupont", "fr", "a@demo.be", "")
    )
    assert set(logins(dieter, "anna dupont")) == {"person0"}
    assert builds == [dieter]
    monkeypatch.setattr(scope_search, "PATCH_MAX", 200)
    monkeypatch.setattr(scope_search, "REBUILD_AFTER", 0)  # any change anywhere: built again
    org = Organisation.create(name="ELSEWHERE", kbo=kbo(98), created_on=date(2020, 1, 1))
    Qualite.create(organisation=org, kind="employeur_onss", created_on=date(2020, 1, 1))
    Organisation.update(name="ELSEWHERE SA").where(Organisation.id == org.id).execute()
    assert logins(dieter, "zzzz") == []
    assert builds == [dieter, dieter]
    agree(dieter, monkeypatch, ("", "dupont"))


def test_a_newline_in_a_search_text_is_no_end_of_entry(
    scope: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute("UPDATE person SET search_text = ? WHERE login = 'person5'", ("maes\nluc x",))
    agree(scope, monkeypatch, ("maes luc", "luc", "x maes"))
    found = users.search_persons(scope, "maes luc")
    assert {hit.person.login for hit in found.hits} >= {"person5"}
    assert len(found.hits) == len({(h.person.login, h.qualite_id) for h in found.hits})


@pytest.mark.postgresql_only("SQLite has one writer at a time: two transactions never interleave")
def test_changes_in_opposite_orders_do_not_deadlock(
    scope: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T1 renames person A, T2 person B, then T1 changes B (waiting for T2's row lock, as it
    would without the marks): T2 must not wait for T1 meanwhile. Before migration 0011 T2 waited
    for the counter T1 took at its first change: a deadlock, one of them failed. A search made
    while both are open misses neither change once they commit."""
    import threading
    import time

    import psycopg

    from store.text import person_search_text

    dieter = scope
    agree(dieter, monkeypatch, ("anne", "xavier"))
    a, b = person_id("person0"), person_id("person1")
    url = db.obj.database
    rename = "UPDATE person SET first_name = %s, search_text = %s WHERE id = %s"
    errors: list[BaseException] = []
    b_renamed, commit_t2 = threading.Event(), threading.Event()

    def connect() -> Any:
        return psycopg.connect(url, connect_timeout=10, options="-c lock_timeout=15000")

    with connect() as t1, connect() as t2:
        t1.execute(rename, ("Xavier", person_search_text("Dupont", "Xavier", "p0", ""), a))

        def second() -> None:
            try:
                t2.execute(rename, ("Yannick", person_search_text("x", "Yannick", "p1", ""), b))
                b_renamed.set()
                commit_t2.wait(20)
                t2.commit()
            except BaseException as exc:
                errors.append(exc)
                t2.rollback()

        def first() -> None:
            try:
                t1.execute("UPDATE person SET last_name = 'Zed' WHERE id = %s", (b,))
                t1.commit()
            except BaseException as exc:
                errors.append(exc)
                t1.rollback()

        threads = [threading.Thread(target=second), threading.Thread(target=first)]
        threads[0].start()
        t2_waited_for_none = b_renamed.wait(10)
        assert logins(dieter, "xavier") == []  # a search while both are open
        threads[1].start()
        t1_waited = False
        deadline = time.monotonic() + 10
        while not t1_waited and time.monotonic() < deadline and threads[1].is_alive():
            row = execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?",
                (t1.info.backend_pid,),
            ).fetchone()
            t1_waited = row is not None and row[0] == "Lock"
            time.sleep(0.02)
        commit_t2.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    assert t2_waited_for_none, "T2's change waited for T1's transaction"
    assert t1_waited  # the interleaving happened: T1 waited for T2's row
    assert set(logins(dieter, "xavier")) == {"person0"}
    assert set(logins(dieter, "yannick")) == {"person1"}
    agree(dieter, monkeypatch, ("", "xavier", "yannick", "anne"))


def test_the_scope_is_built_in_the_background_at_login(
    scope: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare`` (at login) builds a large scope in a thread of its own; a search made before
    it is ready queries the database at once instead of waiting; then the snapshot serves."""
    import threading
    import time

    dieter = scope
    started, release = threading.Event(), threading.Event()
    build = scope_search.build

    def slow_build(actor_id: int) -> scope_search.Snapshot:
        started.set()
        release.wait(20)  # the build under way while the manager searches
        return build(actor_id)

    monkeypatch.setattr(scope_search, "build", slow_build)
    assert scope_search.prepare(dieter, manager_roles=1) is None  # small: nothing, no thread
    assert not scope_search.preparing(dieter)
    with monkeypatch.context() as patch:  # as many under way as are kept: no more
        patch.setattr(scope_search, "KEEP", 0)
        assert scope_search.prepare(dieter, manager_roles=12) is None
    thread = scope_search.prepare(dieter, manager_roles=12)
    assert thread is not None
    try:
        assert scope_search.prepare(dieter) is None  # one build under way is enough
        assert started.wait(20) and scope_search.preparing(dieter)
        t0 = time.monotonic()
        before = page(dieter, "dupont")
        assert time.monotonic() - t0 < 10  # did not wait for the build (20 s)
        assert scope_search.kept(dieter) is None
        assert before == from_database(dieter, "dupont", 0, 20, monkeypatch)
    finally:
        release.set()
        thread.join(timeout=60)
    assert not thread.is_alive() and not scope_search.preparing(dieter)
    assert scope_search.kept(dieter) is not None
    assert scope_search.prepare(dieter) is None  # kept already
    with monkeypatch.context() as patch:  # from the snapshot now, not the database's query
        patch.setattr(users, "_search_query", lambda *args: pytest.fail("queried"))
        assert page(dieter, "dupont") == before
    agree(dieter, monkeypatch, ("", "dupont", "e"))


def test_a_failed_background_build_leaves_the_search_to_its_first_search(
    scope: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dieter = scope
    build = scope_search.build

    def failing(actor_id: int) -> scope_search.Snapshot:
        raise RuntimeError("the server went away")

    monkeypatch.setattr(scope_search, "build", failing)
    thread = scope_search.prepare(dieter)
    assert thread is not None
    thread.join(timeout=60)
    assert "not built in the background" in caplog.text
    assert scope_search.kept(dieter) is None and not scope_search.preparing(dieter)
    monkeypatch.setattr(scope_search, "build", build)
    agree(dieter, monkeypatch, ("dupont",))


def test_entries_of_organisations_found_in_the_bytes() -> None:
    """``entries_of`` finds an organisation's entries in the array's bytes: the same as one
    pass, never a match straddling two items (256 is 00 01 00…, 1 is 01 00 00…)."""
    import random
    from array import array

    rnd = random.Random(3)
    orgs = array("q", [rnd.choice((1, 256, 65536, 7, 2**40 + 1, 0)) for _ in range(3000)])
    for leaving in ({1}, {256}, {0}, {7, 65536}, {2**40 + 1, 1}, {5}, set(range(40))):
        expected = [i for i, org in enumerate(orgs) if org in leaving]
        assert scope_search.entries_of(orgs, leaving) == expected, leaving


@pytest.mark.parametrize("chunk", [1000, 1])
def test_many_changes_are_patched_until_a_large_part_of_the_scope(
    scope: int, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """More organisations changed than ``PATCH_MAX``, some of the scope's: which the actor
    manages is asked in bounded parts (or, past ``CHUNK``, from all they manage), and the
    scope's are renewed in place, not rebuilt — until more than a ``REBUILD_SHARE`` of the
    scope changed."""
    dieter = scope
    agree(dieter, monkeypatch, ("dupont",))
    builds = count_builds(monkeypatch)
    monkeypatch.setattr(scope_search, "PATCH_MAX", 1)
    monkeypatch.setattr(scope_search, "CHUNK", chunk)
    kept = scope_search.kept(dieter)
    assert kept is not None and len(kept.names) >= 12  # a quarter: 3 organisations or more
    first, second = sorted(kept.names)[:2]
    for n in range(95, 95 + len(kept.names)):  # more than the scope: from all dieter manages
        Organisation.create(name=f"ELSEWHERE {n}", kbo=kbo(n), created_on=date(2020, 1, 1))
    with db.atomic():
        Organisation.update(name="ELSEWHERE NOW").where(
            Organisation.name.startswith("ELSEWHERE")
        ).execute()
        Organisation.update(name="AAA ORG").where(Organisation.id == first).execute()
        Organisation.update(name="ZZZ ORG").where(Organisation.id == second).execute()
    statements: list[str] = []
    run = scope_search.execute

    def execute_seen(sql: str, params: Any = ()) -> Any:
        statements.append(sql)
        return run(sql, params)

    with monkeypatch.context() as patch:
        patch.setattr(scope_search, "execute", execute_seen)
        assert logins(dieter, "zzzz") == []
    everything = scope_search._MANAGED in statements  # all dieter manages, in one query
    assert everything == (chunk == 1)
    agree(dieter, monkeypatch, ("", "dupont", "e"))
    assert builds == [dieter]  # agree's own build only: the search patched
    # dieter made co-gestionnaire local of more organisations than a quarter of the scope
    # (and than PATCH_MAX): built anew.
    builds.clear()
    with db.atomic():
        for n in range(len(kept.names) // 4 + 1):
            org = Organisation.create(name=f"NEW {n}", kbo=kbo(80 + n), created_on=date(2020, 1, 1))
            q = Qualite.create(organisation=org, kind="employeur_onss", created_on=date(2020, 1, 1))
            grant_role(dieter, q.id, CO_GESTIONNAIRE)
    assert "dieter" in logins(dieter, "dieter")
    assert builds == [dieter]
    agree(dieter, monkeypatch, ("", "dieter", "e"))


def test_searches_among_concurrent_writers_miss_no_change(
    scope: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three threads rename persons and give and take roles in the scope (each in its own
    transactions, of two changes in random order; each its own two persons, so that they
    never wait for each other's rows) while another searches all along: once
    they are done, the snapshot renewed at each search is what a new build reads — no change
    committed while a search read was missed (on PostgreSQL the marks are taken at commit)."""
    import random
    import threading
    import time

    from store.db import thread_connection, write_transaction
    from store.text import person_search_text

    dieter = scope
    agree(dieter, monkeypatch, ("dupont",))
    kept = scope_search.kept(dieter)
    assert kept is not None
    people = [person_id(f"person{i}") for i in range(8)]
    qualites_ = [q.id for q in Qualite.select().where(Qualite.organisation.in_(list(kept.names)))]
    errors: list[BaseException] = []
    done = {"writes": 0, "searches": 0}
    end = time.monotonic() + 2.0

    def write(seed: int) -> None:
        rnd = random.Random(seed)
        with thread_connection():
            try:
                while time.monotonic() < end:
                    with write_transaction(serialised=False):
                        for person in rnd.sample(people[2 * seed : 2 * seed + 2], 2):
                            if rnd.random() < 0.5:
                                first = rnd.choice(("Anne", "Bea", "Cas", "Dirk"))
                                execute(
                                    "UPDATE person SET first_name = ?, search_text = ? "
                                    "WHERE id = ?",
                                    (
                                        first,
                                        person_search_text("x", first, str(person), ""),
                                        person,
                                    ),
                                )
                            else:
                                q = rnd.choice(qualites_)
                                execute(
                                    "DELETE FROM role WHERE person_id = ? AND qualite_id = ?",
                                    (person, q),
                                )
                                if rnd.random() < 0.6:
                                    execute(
                                        "INSERT INTO role (person_id, qualite_id, role) "
                                        "VALUES (?, ?, ?)",
                                        (person, q, UTILISATEUR),
                                    )
                    done["writes"] += 1
            except BaseException as exc:
                errors.append(exc)

    def search() -> None:
        rnd = random.Random(9)
        with thread_connection():
            try:
                while time.monotonic() < end:
                    logins(dieter, rnd.choice(("anne", "bea", "x", "", "dupont")))
                    done["searches"] += 1
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=search))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    assert done["writes"] >= 3 and done["searches"] >= 3, done
    agree(dieter, monkeypatch, ("", "anne", "bea", "x"))
