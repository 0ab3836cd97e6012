"""The intake's retries written in the database (``store.retries``) for the operators'
*Réception* in another process: attempts, last error and next try while a set fails, the
row gone once it is answered; the attempts counted on across intakes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import retries
from sync.intake.service import Intake
from tests.support.intake import NOW, Partner
from tests.support.registration import DEMO_USER
from tests.support.sftp_attack import wait_for

pytestmark = pytest.mark.both_backends


def test_a_failing_set_is_recorded_with_its_retries_and_cleared_once_answered(
    partner: Partner, tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the spool's folder should be\n")
    intake = Intake(partner.home.parent, blocked / "spool", now=lambda: NOW, rescan=None)
    go = partner.write().go
    with intake:
        before = time.time()
        intake.on_upload(partner.account, go)
        assert wait_for(lambda: retries.failing(), timeout=10)
        (first,) = retries.failing()
        assert (first.technical_user, first.sender_number, first.folder, first.name) == (
            DEMO_USER,
            partner.account.sender_number,
            "INTEST",
            go.name,
        )
        assert first.attempts == 1 and not first.temporary
        assert "NotADirectoryError" in first.last_error
        assert first.owner == intake.owner
        assert 0.5 <= first.next_try.timestamp() - before <= 3  # 1 s after the first attempt
        assert wait_for(lambda: retries.failing()[0].attempts >= 2, timeout=10)
        second = retries.failing()[0]
        assert second.next_try > first.next_try and second.first_failed_at == first.first_failed_at
        assert go.exists() and partner.files("OUTTEST") == []  # the GO waits in place
        blocked.unlink()  # the fault goes: the next attempt answers the set
        assert intake.wait_idle(15)
    assert partner.files("OUTTEST") != [] and not go.exists()
    assert retries.failing() == []


def test_attempts_go_on_counting_across_intakes(demo: SqliteDatabase) -> None:
    def fail(attempts: int, owner: str) -> int:
        return retries.record_failure(
            "user/INTEST/.DMFA.1", "user", 1, "INTEST", "GO.DMFA.1", attempts, True, "E", 1, owner
        )

    assert fail(1, "a") == 1
    assert fail(2, "a") == 2
    assert fail(1, "b") == 3  # a restarted intake starts at 1: the database says 3
    (row,) = retries.failing()
    assert row.owner == "b" and row.attempts == 3 and row.temporary
    retries.clear("user/INTEST/.DMFA.1")
    assert retries.failing() == []


async def test_reception_shows_a_real_intake_s_failing_set_until_it_is_answered(
    partner: Partner, tmp_path: Path
) -> None:
    from tests.support.clock import frozen_countdown
    from tests.support.pilot import settle
    from tests.support.portal import choose_in_menu, enter_portal
    from tests.support.screen import SIZE, page_text
    from tui.app import ExpeditoApp

    blocked = tmp_path / "blocked"
    blocked.write_text("in the way\n")
    intake = Intake(partner.home.parent, blocked / "spool", now=lambda: NOW, rescan=None)
    go = partner.write().go
    app = ExpeditoApp(demo=True, ansi=False, **frozen_countdown())
    with intake:
        intake.on_upload(partner.account, go)
        assert wait_for(lambda: retries.failing(), timeout=10)
        async with app.run_test(size=SIZE) as pilot:
            await enter_portal(pilot, "olivier")
            await choose_in_menu(pilot, "exploitation_reception")
            text = page_text(pilot)
            assert "Envois en échec, nouvel essai prévu : 1" in text
            assert f"INTEST/{go.name}" in text
            assert "tentative(s), prochain essai à" in text
            assert "erreur inattendue : NotADirectoryError" in text
            blocked.unlink()
            assert intake.wait_idle(15)
            await choose_in_menu(pilot, "exploitation_journal")
            await choose_in_menu(pilot, "exploitation_reception")  # shown again: read afresh
            await settle(pilot)
            assert "Envois en échec, nouvel essai prévu : 0" in page_text(pilot)
    assert not app.unexpected_errors
