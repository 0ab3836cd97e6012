"""End to end: the back-office services (worker, SFTP server, intake) on a real SQLite file,
a set prepared by ``expedito batch prepare``, uploaded with the OpenSSH ``sftp`` client, and
its acknowledgement fetched from the OUT folder the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store.batches import RESULT_ACCEPTED, RESULT_REJECTED, sender_batch_sets
from store.democreds import DemoCredentials
from sync.homes import ensure_home
from sync.intake.acrf import Acknowledgement, parse_acrf
from sync.services import Services
from tests.service_support import Provisioned, provisioned_services
from tests.support.registration import DEMO_USER
from tests.support.repo import ROOT
from tests.support.sftp import sftp


class Running(Provisioned):
    """The services with the demo sender provisioned, and what a partner does with them."""

    def prepare(self, *extra: str) -> list[Path]:
        """``expedito --db … batch prepare`` (a subprocess); the files it wrote, GO last."""
        data = self.work / "dmfa.xml"
        data.write_bytes(b"<DmfA>\n" + b"  <Worker/>\n" * 500 + b"</DmfA>\n")
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui.cli",
                "--db",
                str(self.db_path),
                "batch",
                "prepare",
                str(data),
                "--purpose",
                "DMFA",
                "--key",
                str(self.creds.certificate_key),
                "--cert",
                str(self.creds.certificate_pem),
                "--out",
                str(self.work / "outbox"),
                *extra,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        return [Path(line) for line in run.stdout.split()]

    def upload(self, files: list[Path], folder: str) -> None:
        """One sftp session: ``put`` every file into ``folder``, in order (the GO last)."""
        commands = f"cd {folder}\n" + "".join(f'put "{path}"\n' for path in files)
        result = sftp(self.port, self.creds.ssh_private_key, DEMO_USER, commands)
        assert result.returncode == 0, result.stderr
        assert self.services.intake.wait_idle(30)
        assert not self.services.intake.failures

    def fetch(self, folder: str, name: str) -> Acknowledgement:
        """``get`` the file from ``folder`` with the sftp client and parse it as an ACRF."""
        target = self.work / "inbox"
        target.mkdir(exist_ok=True)
        result = sftp(
            self.port,
            self.creds.ssh_private_key,
            DEMO_USER,
            f"cd {folder}\nget {name}\n",
            cwd=target,
        )
        assert result.returncode == 0, result.stderr
        return parse_acrf((target / name).read_bytes())


@pytest.fixture
def running(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[Running]:
    """The demo sender registered (pending), then the services started with a fake clock
    after the registration: the worker's first cycle provisions the channel."""
    for provisioned in provisioned_services(demo_credentials, tmp_path):
        yield Running(**vars(provisioned))


def test_a_prepared_set_uploaded_with_sftp_is_accepted(running: Running) -> None:
    files = running.prepare("--env", "T")
    go = files[-1].name
    assert [p.name.split(".")[0] for p in files] == ["FI", "FS", "GO"]
    running.upload(files, "INTEST")

    (batch,) = sender_batch_sets(running.sender_id)
    assert (batch.go_name, batch.folder, batch.env, batch.result) == (
        go,
        "INTEST",
        "T",
        RESULT_ACCEPTED,
    )
    assert batch.processed_at is not None and batch.ticket and batch.ack_name
    assert [f.name for f in batch.files] == [p.name for p in files]
    ack = running.fetch("OUTTEST", batch.ack_name)
    assert (ack.result, ack.file_name, ack.ticket, ack.errors) == (1, go, batch.ticket, ())
    assert os.listdir(running.home / "INTEST") == []  # the set left the home
    spool = running.services.intake.accepted_root / f"{running.sender_number:06d}"
    assert sorted(os.listdir(spool / batch.ticket)) == sorted(p.name for p in files)


def test_a_set_for_another_sender_is_rejected_through_the_server(running: Running) -> None:
    other = 999_999 if running.sender_number != 999_999 else 999_998
    files = running.prepare("--env", "T", "--sender", str(other))
    running.upload(files, "INTEST")

    (batch,) = sender_batch_sets(running.sender_id)
    assert batch.result == RESULT_REJECTED and batch.ack_name
    assert "ACRF-108" in batch.error_codes
    ack = running.fetch("OUTTEST", batch.ack_name)
    assert (ack.result, ack.file_name) == (0, files[-1].name)
    assert "ACRF-108" in ack.errors
    assert os.listdir(running.home / "INTEST") == []


def test_a_test_set_uploaded_to_in_is_answered_in_out(running: Running) -> None:
    files = running.prepare("--env", "T")
    running.upload(files, "IN")

    (batch,) = sender_batch_sets(running.sender_id)
    assert (batch.folder, batch.env, batch.result) == ("IN", "T", RESULT_REJECTED)
    assert batch.ack_name
    ack = running.fetch("OUT", batch.ack_name)
    assert ack.result == 0 and ack.file_name == files[-1].name
    assert "ACRF-119" in ack.errors  # T outside INTEST
    listing = sftp(running.port, running.creds.ssh_private_key, DEMO_USER, "ls OUTTEST\n")
    assert batch.ack_name not in listing.stdout


def test_a_go_left_in_a_home_is_processed_at_start(running: Running, tmp_path: Path) -> None:
    """A set closed while no intake ran (a crash): the next start finds and answers it."""
    running.services.stop_in_thread()
    files = running.prepare("--env", "T")
    ensure_home(running.home.parent, DEMO_USER)  # as the user's login made it
    for path in files:  # as the server would have left them
        (running.home / "INTEST" / path.name).write_bytes(path.read_bytes())
    again = Services(running.services.config)
    again.start_in_thread()
    try:
        assert again.intake.wait_idle(30) and not again.intake.failures
        (batch,) = sender_batch_sets(running.sender_id)
        assert batch.result == RESULT_ACCEPTED and batch.ack_name
        assert (running.home / "OUTTEST" / batch.ack_name).is_file()
        assert os.listdir(running.home / "INTEST") == []
    finally:
        again.stop_in_thread()


def test_a_second_copy_whose_port_is_taken_leaves_the_homes_alone(running: Running) -> None:
    """The first copy holds the port; a GO waits in a home (its intake has not seen it yet,
    as between an upload and its queue): a second copy fails to listen and touches nothing."""
    files = running.prepare("--env", "T")
    ensure_home(running.home.parent, DEMO_USER)  # as the user's login made it
    for path in files:  # written behind the first copy's back
        (running.home / "INTEST" / path.name).write_bytes(path.read_bytes())
    config = replace(
        running.services.config, port=running.port, host_key_path=running.work / "other_host_key"
    )
    second = Services(config)
    with pytest.raises(OSError):
        second.start_in_thread()
    assert sorted(os.listdir(running.home / "INTEST")) == sorted(p.name for p in files)
    assert sender_batch_sets(running.sender_id) == []
