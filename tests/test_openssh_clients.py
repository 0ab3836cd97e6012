"""Every client of tests/test_interop_clients.py does the whole job through the OpenSSH front
(real sshd + internal-sftp with the generated fragment, real system accounts, the intake
following the folders) — but legacy ``scp -O``, which needs a shell the front never gives."""

from __future__ import annotations

import pwd
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.clock import local_now
from store.db import close_database, open_database
from store.democreds import DemoCredentials
from sync.services import ServiceConfig
from tests.interop_support import USER, BackOffice
from tests.service_support import provisioning
from tests.support import openssh
from tests.support.clock import FakeClock
from tests.support.registration import register_demo_sender
from tests.test_interop_clients import CLIENTS, Client, whole_job

pytestmark = pytest.mark.slow

NOT_WITH_OPENSSH = ("openssh-scp-legacy", "openssh-scp-legacy-p")  # exec "scp -t": no shell


@dataclass
class OpenSSHBackOffice(BackOffice):
    sshd_port: int = 0
    homes_root: Path = Path()

    @property
    def port(self) -> int:
        return self.sshd_port

    @property
    def home(self) -> Path:
        return self.homes_root / USER


@pytest.fixture(scope="module")
def back_office(
    tmp_path_factory: pytest.TempPathFactory, demo_credentials: DemoCredentials
) -> Iterator[OpenSSHBackOffice]:
    from store.demo import seed_demo

    work = tmp_path_factory.mktemp("openssh-back-office")
    db = work / "expedito.sqlite3"
    open_database(db)
    try:
        seed_demo()
        overview = register_demo_sender(demo_credentials, now=local_now() - timedelta(minutes=5))
        with openssh.site() as site, openssh.system_accounts() as accounts:
            homes = site / "homes"
            config = ServiceConfig(
                homes_root=homes,
                clock=FakeClock(datetime.now(UTC)),  # its first cycle provisions the channel
                host_key_path=site / "ssh_host_ed25519_key",  # sshd's too (PuTTY pins it)
                spool_root=site / "intake",
                front="openssh",
                system_accounts=accounts,
            )
            with provisioning(config) as services:
                assert openssh.wait_for(lambda: USER in {e.pw_name for e in pwd.getpwall()})
                with openssh.sshd(site, db, homes, config.host_key_path) as port:
                    yield OpenSSHBackOffice(
                        services, demo_credentials, overview.sender.number,
                        overview.sender.id, work, [], sshd_port=port, homes_root=homes,
                    )  # fmt: skip
    finally:
        close_database()


@pytest.fixture
def client(request: pytest.FixtureRequest, back_office: OpenSSHBackOffice) -> Iterator[Client]:
    made = CLIENTS[request.param](back_office)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize(
    "client", [name for name in CLIENTS if name not in NOT_WITH_OPENSSH], indirect=True
)
def test_the_whole_job_through_sshd(client: Client) -> None:
    whole_job(client)
