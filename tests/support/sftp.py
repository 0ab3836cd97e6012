"""The SFTP server under test on a loopback port, and the real OpenSSH ``sftp`` client run
against it."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from store.accounts import Account
from store.democreds import DemoCredentials
from sync.cycle import run_cycle
from sync.homes import home_of
from sync.hostkey import load_or_create_host_key
from sync.limits import ServerLimits
from sync.schedule import current_slot
from sync.sftp_server import SFTPService
from tests.support.registration import DEMO_USER

SFTP = shutil.which("sftp") or "/usr/bin/sftp"


def sftp_command(port: int, key: Path, user: str) -> list[str]:
    """``sftp`` in batch mode (commands on stdin), with the key alone, trusting the host."""
    return [
        SFTP,
        "-b",
        "-",
        "-i",
        str(key),
        "-P",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
        f"{user}@127.0.0.1",
    ]


def sftp(
    port: int, key: Path, user: str, commands: str, cwd: Path | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``commands`` (one a line; a leading ``-`` lets batch mode go on after a failure)."""
    return subprocess.run(
        sftp_command(port, key, user),
        input=commands,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def provision(homes: Path) -> None:
    """Run the sync cycle of the current slot: pending SFTP channels become accounts, each
    with its home below ``homes``."""
    now = datetime.now(UTC)
    assert run_cycle(current_slot(now), homes, lambda: now).status == "done"


class Server:
    """A running ``SFTPService`` with its homes, and every upload it reported."""

    def __init__(self, homes: Path, service: SFTPService) -> None:
        self.homes = homes
        self.service = service
        self.uploads: list[tuple[Account, Path]] = []

    @property
    def port(self) -> int:
        return self.service.address[1]

    @property
    def home(self) -> Path:
        """The demo user's home."""
        return home_of(self.homes, DEMO_USER)

    def provision(self) -> None:
        provision(self.homes)

    def sftp(
        self,
        creds: DemoCredentials,
        commands: str,
        cwd: Path | None = None,
        user: str = DEMO_USER,
        key: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``sftp`` as ``user`` (the demo user) with ``key`` (the demo private key)."""
        return sftp(self.port, key or creds.ssh_private_key, user, commands, cwd=cwd)


def start_server(tmp_path: Path, limits: ServerLimits | None = None) -> Server:
    """The server on a free loopback port, its homes and host key in ``tmp_path``."""
    homes = tmp_path / "homes"
    key = load_or_create_host_key(tmp_path / "host_key")
    service = SFTPService(homes, key, port=0, limits=limits or ServerLimits())
    server = Server(homes, service)
    service.on_upload = lambda account, path: server.uploads.append((account, path))
    service.start()
    return server
