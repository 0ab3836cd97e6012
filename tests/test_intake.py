"""Batch intake without the SFTP server: sets written into a home as an upload would leave
them, then ``on_upload`` (worker thread) or ``process_go`` (synchronous)."""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import pytest

from store import batches
from store.accounts import Account
from store.batchnames import format_name, split_name
from store.democreds import make_test_certificate
from store.errors import PermissionDenied
from store.models import BatchSet
from sync.intake import service
from sync.intake.acrf import parse_acrf
from sync.intake.checks import NAME_USED
from sync.intake.service import Intake, IntakeResult, Outcome
from tests.support.intake import DATA, NOW, TODAY, Partner, make_home
from tests.support.registration import person_id, qualite_id

pytestmark = pytest.mark.both_backends


def acrf(partner: Partner, result: IntakeResult) -> batches.BatchSetInfo:
    """The recorded set, after checking that its ACRF says the same."""
    ack = parse_acrf(result.ack_path.read_bytes())
    assert ack.file_name == result.batch.go_name
    assert ack.ticket == result.batch.ticket
    assert ack.errors == result.batch.error_codes
    assert ack.result == result.batch.result
    return result.batch


def process(partner: Partner, go: Path) -> IntakeResult:
    result = partner.intake.process_go(partner.account, go)
    assert result is not None
    return result


# -- accepted sets -------------------------------------------------------------------------


def test_prepared_set_in_intest_is_accepted_through_the_worker(
    partner: Partner, tmp_path: Path
) -> None:
    prepared = partner.write()
    with partner.intake:
        for path in prepared.paths:  # as the server would, after each upload
            partner.intake.on_upload(partner.account, path)
        assert partner.intake.wait_idle(10)
    assert partner.intake.failures == []
    (ack_name,) = partner.files("OUTTEST")
    assert ack_name == f"FO.ACRF.999999.{TODAY}.00001.T"
    ack = parse_acrf((partner.home / "OUTTEST" / ack_name).read_bytes())
    assert (ack.result, ack.errors, ack.file_name) == (1, (), prepared.go.name)
    assert partner.files("INTEST") == []
    kept = tmp_path / "intake" / "accepted" / f"{partner.account.sender_number:06d}" / ack.ticket
    assert sorted(p.name for p in kept.iterdir()) == sorted(p.name for p in prepared.paths)
    (row,) = batches.sender_batch_sets(partner.account.sender_id)
    assert row.status == "accepted" and row.ticket == ack.ticket and row.ack_name == ack_name
    assert (row.go_name, row.folder, row.env, row.purpose, row.file_date, row.sequence) == (
        prepared.go.name,
        "INTEST",
        "T",
        "DMFA",
        TODAY,
        "00001",
    )
    assert {f.name: f.size for f in row.files} == {p.name: p.stat().st_size for p in kept.iterdir()}
    assert row.total_bytes == sum(f.size for f in row.files)
    assert row.received_at == NOW and row.processed_at == NOW
    assert row.channel_id == partner.account.channel_id


def test_acrf_xml_has_the_exact_structure(partner: Partner) -> None:
    result = process(partner, partner.write(sequence="00000").go)
    data = result.ack_path.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<ACRF>")
    root = ET.fromstring(data)

    def shape(element: ET.Element) -> object:
        children = list(element)
        return (
            (element.tag, [shape(c) for c in children]) if children else (element.tag, element.text)
        )

    assert shape(root) == (
        "ACRF",
        [
            ("Form", [("Identification", "ACRF001")]),
            (
                "FileReference",
                [("FileName", result.batch.go_name), ("ReferenceNbr", result.batch.ticket)],
            ),
            ("ReceptionResult", [("ResultCode", "0"), ("ErrorID", "ACRF-127")]),
        ],
    )


def test_work_runs_on_the_worker_not_on_the_caller(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = partner.write()
    threads: list[str] = []
    original = partner.intake.process_gos

    def spy(tasks: Sequence[tuple[Account, Path]]) -> list[Outcome]:
        threads.append(threading.current_thread().name)
        return original(tasks)

    monkeypatch.setattr(partner.intake, "process_gos", spy)
    partner.intake.on_upload(partner.account, prepared.go)  # not started: only queued
    assert not partner.intake.wait_idle(0.05)
    assert partner.files("OUTTEST") == []
    with partner.intake:
        assert partner.intake.wait_idle(10)
    assert len(threads) == 1 and threads[0].startswith("expedito-intake-")
    assert len(partner.files("OUTTEST")) == 1


@pytest.mark.parametrize(
    "env, folder, out",
    [("R", "IN", "OUT"), ("T", "INTEST", "OUTTEST"), ("S", "INTEST-S", "OUTTEST-S")],
)
def test_each_environment_answers_in_its_out_folder(
    partner: Partner, env: str, folder: str, out: str
) -> None:
    result = process(partner, partner.write(env=env, folder=folder).go)
    assert result.accepted
    assert result.ack_path.parent == partner.home / out
    assert result.ack_path.name == f"FO.ACRF.999999.{TODAY}.00001.{env}"


def test_simulation_needs_no_signature(partner: Partner) -> None:
    prepared = partner.write(env="S", folder="INTEST-S", sign=False)
    assert prepared.signatures == ()
    assert process(partner, prepared.go).accepted


def test_a_set_in_several_parts_is_accepted(partner: Partner) -> None:
    prepared = partner.write(parts=(b"part one\n", b"part two\n", b"part three\n"))
    result = process(partner, prepared.go)
    assert result.accepted, result.error_codes
    assert len(result.batch.files) == 7


@pytest.mark.sqlite_only("the FS file's layouts: nothing of the database differs (CI time)")
@pytest.mark.parametrize("layout", ["single line", "CR", "CRLF", "LF"])
def test_signature_line_layouts(partner: Partner, layout: str) -> None:
    prepared = partner.write()
    (fs,) = prepared.signatures
    text = b"".join(fs.read_bytes().split())
    lines = [text[i : i + 76] for i in range(0, len(text), 76)]
    separator = {"single line": None, "CR": b"\r", "CRLF": b"\r\n", "LF": b"\n"}[layout]
    fs.write_bytes(text if separator is None else separator.join(lines) + separator)
    assert process(partner, prepared.go).accepted


# -- rejected sets: each rule broken alone -------------------------------------------------


def _rename(path: Path, parts: str | None = None, part: str | None = None) -> Path:
    """The file renamed with another PARTS or PART field."""
    name = split_name(path.name)
    target = path.with_name(
        format_name(
            name.kind,
            name.purpose,
            name.sender,
            name.date,
            name.sequence,
            name.env,
            name.parts if parts is None else parts,
            (name.part or None) if part is None else part,
        )
    )
    path.rename(target)
    return target


def _used_name(p: Partner) -> Path:
    assert process(p, p.write(sequence=7).go).accepted
    return p.write(sequence=7).go


def _beyond_count(p: Partner) -> Path:
    prepared = p.write()
    extra = prepared.data[0].with_name(prepared.data[0].name[:-1] + "2")
    extra.write_bytes(DATA)
    return prepared.go


def _missing_part(p: Partner) -> Path:
    prepared = p.write(parts=(b"one", b"two"))
    prepared.data[1].unlink()
    prepared.signatures[1].unlink()
    return prepared.go


def _other_certificate(p: Partner) -> Path:
    cert, key = make_test_certificate()
    return p.write(cert=cert, key=key).go


def _corrupted(p: Partner) -> Path:
    prepared = p.write()
    prepared.data[0].write_bytes(DATA.replace(b"20254", b"20253"))
    return prepared.go


def _fs_missing(p: Partner) -> Path:
    p.write().signatures[0].unlink()
    return (
        p.home
        / "INTEST"
        / format_name("GO", "DMFA", p.account.sender_number, TODAY, p.sequence, "T", 1)
    )


def _unknown_type(p: Partner) -> Path:
    prepared = p.write()
    (prepared.go.parent / prepared.data[0].name.replace("FI.", "FX.", 1)).write_bytes(b"x")
    return prepared.go


def _go_alone(p: Partner) -> Path:
    prepared = p.write()
    for path in (*prepared.data, *prepared.signatures):
        path.unlink()
    return prepared.go


REJECTIONS: dict[str, tuple[str, Callable[[Partner], Path]]] = {
    "sender of another": ("ACRF-108", lambda p: p.write(sender=p.account.sender_number + 1).go),
    "date of 7 digits": ("ACRF-109", lambda p: p.write(date="2026011").go),
    "impossible date": ("ACRF-110", lambda p: p.write(date="20260230").go),
    "date in the future": ("ACRF-111", lambda p: p.write(date="20260116").go),
    "sequence of 4": ("ACRF-112", lambda p: p.write(sequence="0001").go),
    "sequence not numeric": ("ACRF-113", lambda p: p.write(sequence="0000A").go),
    "sequence 00000": ("ACRF-127", lambda p: p.write(sequence="00000").go),
    "name already used": ("ACRF-133", _used_name),
    "part count not a digit": ("ACRF-114", lambda p: _rename(p.write().go, parts="X")),
    "part number 0": (
        "ACRF-115",
        lambda p: (
            _rename(p.write().data[0], part="0"),
            p.home
            / "INTEST"
            / format_name("GO", "DMFA", p.account.sender_number, TODAY, p.sequence, "T", 1),
        )[1],
    ),
    "part beyond the count": ("ACRF-116", _beyond_count),
    "environment X": ("ACRF-117", lambda p: p.write(env="X").go),
    "R outside IN": ("ACRF-118", lambda p: p.write(env="R", folder="INTEST").go),
    "T outside INTEST": ("ACRF-119", lambda p: p.write(env="T", folder="IN").go),
    "S outside INTEST-S": ("ACRF-126", lambda p: p.write(env="S", folder="INTEST").go),
    "GO counts 2 parts, FI 1": ("ACRF-120", lambda p: _rename(p.write().go, parts="2")),
    "part 2 of 2 missing": ("ACRF-120", _missing_part),
    "FS missing": ("ACRF-122", _fs_missing),
    "corrupted FI": ("ACRF-125", _corrupted),
    "other certificate": ("ACRF-153", _other_certificate),
    "purpose not secured": ("ACRF-154", lambda p: p.write(purpose="DUCN").go),
    "unknown type": ("ACRF-129", _unknown_type),
    "GO with no files": ("ACRF-130", _go_alone),
}


@pytest.mark.sqlite_only(
    "23 file checks; a rejection recorded on PostgreSQL is test_several_problems_are_all_named's "
    "and the other tests' (CI time)"
)
@pytest.mark.parametrize("case", list(REJECTIONS))
def test_each_broken_rule_is_named_in_the_acrf(partner: Partner, case: str, tmp_path: Path) -> None:
    code, build = REJECTIONS[case]
    go = build(partner)
    folder = go.parent.name
    before = set(partner.files(folder))
    set_files = {n for n in before if split_name(n).key == split_name(go.name).key}
    result = process(partner, go)
    batch = acrf(partner, result)
    assert batch.status == "rejected"
    assert batch.error_codes == (code,)
    assert batch.result == 0
    assert set(partner.files(folder)) == before - set_files  # nothing of the set stays
    rejected = tmp_path / "intake" / "rejected" / f"{partner.account.sender_number:06d}"
    assert {p.name for p in (rejected / str(batch.ticket)).iterdir()} == set_files
    assert BatchSet.get_by_id(batch.id).result == 0


def test_several_problems_are_all_named(partner: Partner) -> None:
    prepared = partner.write(parts=(b"one", b"two"))
    prepared.signatures[0].unlink()
    prepared.data[1].write_bytes(b"changed")
    result = process(partner, prepared.go)
    assert result.error_codes == ("ACRF-122", "ACRF-125")
    assert [e.file for e in result.batch.errors] == [p.name for p in prepared.data]


def test_go_name_problems_are_all_named_and_stop_the_checks(partner: Partner) -> None:
    prepared = partner.write(purpose="DUCN", date="20261399", sequence="12", env="R")
    prepared.signatures[0].unlink()
    result = process(partner, prepared.go)
    assert result.error_codes == ("ACRF-154", "ACRF-110", "ACRF-112", "ACRF-118")


def test_a_go_name_without_fields_is_still_answered(partner: Partner) -> None:
    go = partner.home / "INTEST" / "GO.DMFA"
    go.write_bytes(b"")
    result = process(partner, go)
    assert result.error_codes == ("ACRF-108", "ACRF-109", "ACRF-112", "ACRF-117", "ACRF-114")
    assert result.ack_path.name.endswith(".T")


# -- what is not processed, cancelled, or reused -------------------------------------------


def test_a_set_without_go_is_not_processed(partner: Partner) -> None:
    prepared = partner.write()
    with partner.intake:
        for path in (*prepared.data, *prepared.signatures):
            partner.intake.on_upload(partner.account, path)
        assert partner.intake.wait_idle(10)
    assert partner.files("OUTTEST") == []
    assert partner.files("INTEST") == sorted(
        p.name for p in (*prepared.data, *prepared.signatures, prepared.go)
    )
    assert BatchSet.select().count() == 0


def test_td_cancels_the_set(partner: Partner) -> None:
    prepared = partner.write()
    prepared.go.unlink()
    other = partner.write()  # another set, left alone
    td = prepared.go.with_name(prepared.go.name.replace("GO.", "TD.", 1))
    td.write_bytes(b"")
    with partner.intake:
        partner.intake.on_upload(partner.account, td)
        assert partner.intake.wait_idle(10)
    assert partner.files("INTEST") == sorted(p.name for p in other.paths)
    assert partner.files("OUTTEST") == []
    (row,) = batches.sender_batch_sets(partner.account.sender_id)
    assert row.status == "cancelled" and row.ticket is None and row.ack_name is None
    assert {f.name for f in row.files} == {
        td.name,
        prepared.data[0].name,
        prepared.signatures[0].name,
    }
    # a cancelled set does not use its name: it may be sent again
    partner.sequence -= 2
    assert process(partner, partner.write().go).accepted


def test_a_rejected_set_uses_its_name(partner: Partner) -> None:
    prepared = partner.write()
    prepared.signatures[0].unlink()
    assert process(partner, prepared.go).error_codes == ("ACRF-122",)
    partner.sequence -= 1
    assert process(partner, partner.write().go).error_codes == ("ACRF-133",)


def test_a_name_rejected_for_another_sender_number_uses_nothing(partner: Partner) -> None:
    assert process(partner, partner.write(sender=999998).go).error_codes == ("ACRF-108",)
    partner.sequence -= 1
    assert process(partner, partner.write().go).accepted


def test_other_files_in_in_are_left_alone(partner: Partner) -> None:
    (partner.home / "INTEST" / "notes.txt").write_text("hello")
    (partner.home / "INTEST" / "FI.garbage").write_text("x")
    assert process(partner, partner.write().go).accepted
    assert partner.files("INTEST") == ["FI.garbage", "notes.txt"]


def test_a_go_outside_the_accounts_in_folders_is_ignored(partner: Partner, tmp_path: Path) -> None:
    stranger = make_home(tmp_path / "homes", "someoneelse1")
    go = stranger / "INTEST" / "GO.DMFA.100001.20260115.00001.T.1"
    go.write_bytes(b"")
    assert partner.intake.process_go(partner.account, go) is None
    assert go.exists()
    out = partner.home / "OUT" / "GO.DMFA.100001.20260115.00001.T.1"
    out.write_bytes(b"")
    assert partner.intake.process_go(partner.account, out) is None


def test_tickets_and_acknowledgement_sequences_are_unique(partner: Partner) -> None:
    results = [process(partner, partner.write().go) for _ in range(3)]
    results.append(process(partner, partner.write(env="R", folder="IN").go))
    assert [r.batch.ticket for r in results] == [f"{n:012d}" for n in (1, 2, 3, 4)]
    assert [r.ack_path.name.split(".")[4:] for r in results] == [
        ["00001", "T"],
        ["00002", "T"],
        ["00003", "T"],
        ["00001", "R"],
    ]


def test_acknowledgement_sequence_restarts_each_day(partner: Partner) -> None:
    first = process(partner, partner.write().go)
    partner.intake._now = lambda: NOW.replace(day=16)
    second = process(partner, partner.write().go)
    assert first.ack_path.name == f"FO.ACRF.999999.{TODAY}.00001.T"
    assert second.ack_path.name == "FO.ACRF.999999.20260116.00001.T"


def _crash_in(
    partner: Partner, monkeypatch: pytest.MonkeyPatch, step: str, error: BaseException
) -> tuple[Path, batches.BatchSetInfo]:
    """Close a set and let ``step`` of the intake (a name in ``sync.intake.service``) fail
    with ``error``, as a crash there would: the GO's path and the set left pending."""
    prepared = partner.write()

    def crash(*args: object) -> None:
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(service, step, crash)
        with pytest.raises(type(error)):
            process(partner, prepared.go)
    (pending,) = batches.sender_batch_sets(partner.account.sender_id)
    assert pending.status == "pending"
    return prepared.go, pending


def _restart(partner: Partner) -> int:
    """The start-up scan of a new intake; how many sets it queued (all then processed)."""
    with partner.intake:
        queued = partner.intake.scan(partner.account)
        assert partner.intake.wait_idle(10)
    assert partner.intake.failures == []
    return queued


def test_a_crash_half_way_is_finished_with_the_same_decision(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    go, pending = _crash_in(
        partner, monkeypatch, "stage_acrf", OSError(28, "No space left on device")
    )
    assert go.exists()
    assert _restart(partner) == 1
    (done,) = batches.sender_batch_sets(partner.account.sender_id)
    assert done.status == "accepted" and done.ticket == pending.ticket
    assert partner.files("OUTTEST") == [pending.ack_name]
    assert partner.files("INTEST") == []


def test_a_crash_after_the_go_moved_out_is_finished_at_the_next_start(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GO was moved (last file), the process died before the set was marked processed:
    no GO is left to find, the start-up scan still finishes the set, without a second ACRF
    for the partner who fetched the first."""
    go, pending = _crash_in(partner, monkeypatch, "mark_processed_many", KeyboardInterrupt())
    assert not go.exists()
    assert partner.files("OUTTEST") == [pending.ack_name]
    (partner.home / "OUTTEST" / str(pending.ack_name)).unlink()  # fetched by the partner
    assert _restart(partner) == 1
    (done,) = batches.sender_batch_sets(partner.account.sender_id)
    assert done.status == "accepted" and done.ticket == pending.ticket
    assert partner.files("OUTTEST") == []
    kept = partner.intake.accepted_root / f"{partner.account.sender_number:06d}" / str(done.ticket)
    assert sorted(p.name for p in kept.iterdir()) == sorted(f.name for f in done.files)
    assert _restart(partner) == 0  # nothing is left to finish


def test_a_new_upload_of_a_crashed_set_s_name_gets_its_own_answer(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died after moving the GO out; while it was down the partner sent the same
    names again. The old set is closed as it was; the new one is checked on its own (the
    name is used: rejected, with its own ACRF), and the first set's files stay as kept."""
    go, pending = _crash_in(partner, monkeypatch, "mark_processed_many", KeyboardInterrupt())
    kept = (
        partner.intake.accepted_root / f"{partner.account.sender_number:06d}" / str(pending.ticket)
    )
    stored = {p.name: p.read_bytes() for p in kept.iterdir()}
    for name, data in stored.items():  # uploaded again under the same names
        (go.parent / name).write_bytes(data)
    assert _restart(partner) == 1
    first, second = sorted(batches.sender_batch_sets(partner.account.sender_id), key=lambda b: b.id)
    assert first.ticket == pending.ticket and first.status == "accepted"
    assert second.status == "rejected" and second.error_codes == (NAME_USED,)
    assert first.ack_name is not None and second.ack_name is not None
    assert sorted(partner.files("OUTTEST")) == sorted([first.ack_name, second.ack_name])
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == stored


def test_a_crashed_set_whose_go_the_partner_deleted_is_finished_with_its_acrf(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    go, _ = _crash_in(partner, monkeypatch, "stage_acrf", OSError(28, "No space left on device"))
    go.unlink()  # the partner deleted the GO before the restart
    assert _restart(partner) == 1
    (done,) = batches.sender_batch_sets(partner.account.sender_id)
    assert done.status == "accepted"
    assert partner.files("OUTTEST") == [done.ack_name]
    assert partner.files("INTEST") == []  # the FI and FS went with the set


def test_acrf_is_written_atomically_and_without_leftovers(partner: Partner) -> None:
    result = process(partner, partner.write().go)
    assert os.listdir(partner.intake.staging) == []
    assert [p.name for p in result.ack_path.parent.iterdir()] == [result.ack_path.name]


# -- listing -------------------------------------------------------------------------------


def test_list_batch_sets_newest_first_for_any_role(partner: Partner) -> None:
    for minute in range(3):
        partner.intake._now = partial(NOW.replace, minute=minute)
        process(partner, partner.write().go)
    for login in ("dieter", "ursula"):
        listed = batches.list_batch_sets(person_id(login), qualite_id(), limit=2)
        assert [b.sequence for b in listed] == ["00003", "00002"]
    assert [
        b.sequence
        for b in batches.list_batch_sets(person_id("dieter"), qualite_id(), limit=2, offset=2)
    ] == ["00001"]
    assert batches.list_batch_sets(person_id("dieter"), qualite_id("0876543270")) == []
    with pytest.raises(PermissionDenied):
        batches.list_batch_sets(person_id("colette"), qualite_id("0876543270"))


def test_many_gos_at_once_through_two_intakes_of_several_threads_each_answered_once(
    partner: Partner, tmp_path: Path
) -> None:
    """Two intakes (as two processes would: their own claims' owner) of four threads each,
    every GO of a burst handed to both while they work: one ACRF per set, one row, one
    ticket; nothing left."""
    other = Intake(tmp_path / "homes", now=lambda: NOW, rescan=None, threads=4)
    assert partner.intake.threads == other.threads == 4
    sets = [partner.write() for _ in range(40)]
    with partner.intake, other:
        for prepared in sets:  # members listed once for many GOs, GOs still arriving
            for _ in range(2):  # as the server and a rescan would: each thread its own GO
                partner.intake.on_upload(partner.account, prepared.go)
                other.on_upload(partner.account, prepared.go)
        assert partner.intake.wait_idle(60) and other.wait_idle(60)
    assert partner.intake.failures == [] and other.failures == []
    acks = [name for name in partner.files("OUTTEST") if name.startswith("FO.ACRF.")]
    answers = [parse_acrf((partner.home / "OUTTEST" / name).read_bytes()) for name in acks]
    assert sorted(a.file_name for a in answers) == sorted(p.go.name for p in sets)
    assert all(a.accepted for a in answers)
    assert len({a.ticket for a in answers}) == len(sets)
    rows = batches.sender_batch_sets(partner.account.sender_id, limit=100)
    assert sorted(r.go_name for r in rows) == sorted(p.go.name for p in sets)
    assert all(r.status == "accepted" for r in rows)
    assert partner.files("INTEST") == []
