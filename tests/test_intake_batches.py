"""The intake's batches: GOs that wait together are claimed, recorded and marked processed in
one transaction each, their ACRFs synced together; what one set of a batch meets (a claim
held elsewhere, a bad signature, a failure of its own) stays its own, and a crash in the
middle of a batch leaves every set to be finished once."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from store import batches, claims
from store.accounts import Account
from sync.intake import service
from sync.intake.acrf import parse_acrf
from sync.intake.checks import NAME_USED
from sync.intake.prepare import PreparedSet
from sync.intake.service import Intake, Outcome
from tests.support.intake import NOW, Partner

pytestmark = pytest.mark.both_backends


def _answers(partner: Partner) -> dict[str, tuple[int, tuple[str, ...], str]]:
    """Each ACRF in OUTTEST by the GO it answers: result, errors, ticket (one per GO)."""
    out = partner.home / "OUTTEST"
    acks = [parse_acrf((out / n).read_bytes()) for n in os.listdir(out) if n.startswith("FO.")]
    found = {a.file_name: (a.result, a.errors, a.ticket) for a in acks}
    assert len(found) == len(acks)  # none twice
    return found


def _key(partner: Partner, prepared: PreparedSet) -> str:
    return f"{partner.account.technical_user}/INTEST/{prepared.go.name[2:]}"


def test_a_backlog_is_answered_in_batches_each_set_once(partner: Partner) -> None:
    sets = [partner.write() for _ in range(30)]
    sizes: list[int] = []
    original = partner.intake.process_gos

    def spy(tasks: Sequence[tuple[Account, Path]]) -> list[Outcome]:
        sizes.append(len(tasks))
        return original(tasks)

    partner.intake.process_gos = spy  # type: ignore[method-assign]
    for prepared in sets:  # queued before the workers start: a backlog
        partner.intake.on_upload(partner.account, prepared.go)
    with partner.intake:
        assert partner.intake.wait_idle(30)
    assert sum(sizes) == 30 and max(sizes) > 1
    answers = _answers(partner)
    assert sorted(answers) == sorted(p.go.name for p in sets)
    assert all(result == 1 for result, _, _ in answers.values())
    assert len({ticket for _, _, ticket in answers.values()}) == 30
    assert partner.files("INTEST") == []
    rows = batches.sender_batch_sets(partner.account.sender_id, limit=100)
    assert len(rows) == 30 and all(r.status == "accepted" for r in rows)


def test_a_lone_go_is_answered_at_once_while_the_workers_wait(partner: Partner) -> None:
    with partner.intake:
        prepared = partner.write()
        partner.intake.on_upload(partner.account, prepared.go)
        assert partner.intake.wait_idle(10)
        assert list(_answers(partner)) == [prepared.go.name]


def test_what_one_set_of_a_batch_meets_stays_its_own(partner: Partner) -> None:
    """In one batch: a set another live intake holds (left to it), a set whose FS is not
    the FI's signature (rejected), the same name twice (the second rejected as used), and
    good sets (accepted)."""
    good = [partner.write() for _ in range(3)]
    held = partner.write()
    bad = partner.write(parts=(b"<DmfA>another</DmfA>",))
    bad.signatures[0].write_bytes(good[0].signatures[0].read_bytes())
    assert claims.claim(_key(partner, held), "elsewhere:1:live", 60)
    results = partner.intake.process_gos(
        [(partner.account, p.go) for p in (*good[:2], held, bad, good[2])]
    )
    assert results[2] is None and held.go.exists()
    assert [isinstance(r, service.IntakeResult) for r in results] == [1, 1, 0, 1, 1]
    answers = _answers(partner)
    assert held.go.name not in answers
    assert [answers[p.go.name][0] for p in good] == [1, 1, 1]
    assert answers[bad.go.name][0] == 0 and answers[bad.go.name][1] != ()
    again = partner.write(sequence=good[0].go.name.split(".")[4])
    (result,) = partner.intake.process_gos([(partner.account, again.go)])
    assert isinstance(result, service.IntakeResult) and result.error_codes == (NAME_USED,)


def test_a_failure_of_one_set_of_a_batch_is_retried_alone(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sets = [partner.write() for _ in range(4)]
    stage = service.stage_acrf
    victim = sets[1].go.name

    def failing(target: Path, ack: service.Acknowledgement, *args: object) -> object:
        if ack.file_name == victim:
            raise OSError(28, "No space left on device")
        return stage(target, ack, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "stage_acrf", failing)
    results = partner.intake.process_gos([(partner.account, p.go) for p in sets])
    assert isinstance(results[1], OSError)
    assert [isinstance(r, service.IntakeResult) for r in results] == [1, 0, 1, 1]
    assert sets[1].go.exists() and victim not in _answers(partner)
    monkeypatch.setattr(service, "stage_acrf", stage)
    (retried,) = partner.intake.process_gos([(partner.account, sets[1].go)])
    assert isinstance(retried, service.IntakeResult) and retried.accepted
    assert sorted(_answers(partner)) == sorted(p.go.name for p in sets)
    assert partner.files("INTEST") == []


def test_a_set_the_database_refuses_fails_alone_its_batch_recorded(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording one set of a batch fails for a reason of its own (not a locked database):
    the others are recorded each in a transaction of its own and answered."""
    sets = [partner.write() for _ in range(3)]
    record = batches._record
    victim = sets[1].go.name

    def refusing(decision: batches.Decision) -> batches.BatchSetInfo:
        if decision.new.go_name == victim:
            raise ValueError("refused")
        return record(decision)

    monkeypatch.setattr(batches, "_record", refusing)
    results = partner.intake.process_gos([(partner.account, p.go) for p in sets])
    assert isinstance(results[1], ValueError)
    assert [isinstance(r, service.IntakeResult) for r in results] == [1, 0, 1]
    assert sorted(_answers(partner)) == sorted([sets[0].go.name, sets[2].go.name])
    assert sets[1].go.exists()
    key = _key(partner, sets[1])
    assert claims.claim_many([key], "elsewhere:1:live", 60) == {key}  # its claim given up


@pytest.mark.parametrize("step", ["sync_files", "mark_processed_many"])
def test_a_crash_in_the_middle_of_a_batch_leaves_each_set_answered_once(
    partner: Partner, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """The process dies while a batch is synced to disk or marked processed (the ACRFs are
    out then, or not yet): a new intake's start-up scan finishes each set with its recorded
    decision, one ACRF each, the same ticket."""
    sets = [partner.write() for _ in range(6)]

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(service, step, crash)
        with pytest.raises(KeyboardInterrupt):
            partner.intake.process_gos([(partner.account, p.go) for p in sets])
    pending = batches.sender_batch_sets(partner.account.sender_id, limit=100)
    assert len(pending) == 6 and all(b.status == "pending" for b in pending)
    tickets = {b.go_name: b.ticket for b in pending}
    restarted = Intake(partner.home.parent, now=lambda: NOW, rescan=None)
    with restarted:
        assert restarted.scan(partner.account) == 6
        assert restarted.wait_idle(20)
    assert restarted.failures == []
    answers = _answers(partner)
    assert sorted(answers) == sorted(p.go.name for p in sets)
    assert {go: ticket for go, (_, _, ticket) in answers.items()} == tickets
    done = batches.sender_batch_sets(partner.account.sender_id, limit=100)
    assert len(done) == 6 and all(b.status == "accepted" for b in done)
    assert partner.files("INTEST") == []
    assert os.listdir(partner.intake.staging) == []


def test_two_intakes_taking_batches_of_one_backlog_answer_each_set_once(
    partner: Partner, tmp_path: Path
) -> None:
    other = Intake(tmp_path / "homes", now=lambda: NOW, rescan=None, batch=7)
    sets = [partner.write() for _ in range(60)]
    for prepared in sets:
        partner.intake.on_upload(partner.account, prepared.go)
        other.on_upload(partner.account, prepared.go)
    starters = [threading.Thread(target=i.start) for i in (partner.intake, other)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join(10)
    try:
        assert partner.intake.wait_idle(60) and other.wait_idle(60)
    finally:
        partner.intake.stop()
        other.stop()
    assert partner.intake.failures == [] and other.failures == []
    answers = _answers(partner)
    assert sorted(answers) == sorted(p.go.name for p in sets)
    assert len({ticket for _, _, ticket in answers.values()}) == 60
    rows = batches.sender_batch_sets(partner.account.sender_id, limit=200)
    assert len(rows) == 60 and all(r.status == "accepted" for r in rows)
