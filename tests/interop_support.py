"""One back office per test module for the client tests: a real SQLite file with the demo
data, the demo sender provisioned, and the services (SFTP server on a loopback port, batch
intake) as ``expedito serve`` runs them; signed sets to upload and their answers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paramiko
import pytest

from store.batches import BatchSetInfo, sender_batch_sets
from store.batchnames import OUT_FOLDER_OF
from store.clock import local_now
from store.db import close_database, open_database
from store.democreds import DemoCredentials
from sync.intake.acrf import Acknowledgement, parse_acrf
from sync.intake.prepare import write_set
from sync.services import ServiceConfig, Services
from tests.service_support import provisioning
from tests.support.clock import FakeClock
from tests.support.credentials import signing_pair
from tests.support.registration import DEMO_USER, register_demo_sender

USER = DEMO_USER
FILE_TIME = 1_767_225_600  # the local files' times: 2026-01-01 00:00 UTC
DATA = b"<DmfA>\n" + b"  <Worker/>\n" * 400 + b"</DmfA>\n"


@dataclass
class BackOffice:
    services: Services
    creds: DemoCredentials
    sender_number: int
    sender_id: int
    work: Path
    uploads: list[Path]  # what the server handed to the intake, in order
    sequence: int = field(default=0)

    @property
    def port(self) -> int:
        return self.services.sftp_address[1]

    @property
    def home(self) -> Path:
        return self.services.config.homes_root / USER

    @property
    def key(self) -> Path:
        return self.creds.ssh_private_key

    def new_set(self, env: str = "T") -> list[Path]:
        """A valid signed set (FI, FS, GO: the upload order) in a fresh local folder."""
        self.sequence += 1
        cert, key = signing_pair(self.creds)
        out = self.work / f"outbox-{self.sequence:05d}"
        today = local_now().strftime("%Y%m%d")
        prepared = write_set(
            out,
            [DATA],
            purpose="DMFA",
            sender=self.sender_number,
            date=today,
            sequence=self.sequence,
            env=env,
            cert=cert,
            key=key,
        )
        files = [*prepared.data, *prepared.signatures, prepared.go]
        for path in files:  # so that a client's preserved times can be told from "now"
            os.utime(path, (FILE_TIME, FILE_TIME))
        return files

    @contextmanager
    def paramiko(self) -> Iterator[paramiko.SFTPClient]:
        """A paramiko SFTP session as the demo sender's technical user."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(
            "127.0.0.1",
            self.port,
            USER,
            key_filename=str(self.key),
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        try:
            sftp = client.open_sftp()
            yield sftp
            sftp.close()
        finally:
            client.close()

    def sets_of(self, go_name: str) -> list[BatchSetInfo]:
        return [b for b in sender_batch_sets(self.sender_id) if b.go_name == go_name]

    def answer(
        self, go_name: str, folder: str = "INTEST", timeout: float = 30
    ) -> tuple[BatchSetInfo, Acknowledgement]:
        """Wait until the set of ``go_name`` is answered; its one record and its ACRF (read
        on disk). Fails unless the set was recorded once and its ACRF is in the OUT folder."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.services.intake.wait_idle(max(0.1, deadline - time.monotonic()))
            found = self.sets_of(go_name)
            if found and found[0].ack_name:
                break
            assert time.monotonic() < deadline, f"no answer for {go_name}"
            time.sleep(0.05)
        assert len(found) == 1, f"{go_name} answered {len(found)} times"
        (batch,) = found
        assert batch.ack_name is not None
        ack = parse_acrf((self.home / OUT_FOLDER_OF[folder] / batch.ack_name).read_bytes())
        return batch, ack


@pytest.fixture(scope="module")
def back_office(
    tmp_path_factory: pytest.TempPathFactory, demo_credentials: DemoCredentials
) -> Iterator[BackOffice]:
    """The demo sender registered, the services started with a fake clock after the
    registration (their first cycle provisions the channel); one per test module."""
    from store.demo import seed_demo

    work = tmp_path_factory.mktemp("back-office")
    open_database(work / "expedito.sqlite3")
    try:
        seed_demo()
        registered = local_now() - timedelta(minutes=5)
        overview = register_demo_sender(demo_credentials, now=registered)
        assert overview.sender is not None
        uploads: list[Path] = []
        config = ServiceConfig(
            homes_root=work / "homes",
            port=0,
            clock=FakeClock(datetime.now(UTC)),
            host_key_path=work / "ssh_host_ed25519_key",
            on_upload=lambda account, path: uploads.append(path),
        )
        with provisioning(config) as services:
            yield BackOffice(
                services,
                demo_credentials,
                overview.sender.number,
                overview.sender.id,
                work,
                uploads,
            )
    finally:
        close_database()
