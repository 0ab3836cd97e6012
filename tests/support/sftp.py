"""The SFTP server under test on a loopback port, and the real OpenSSH ``sftp`` client run
against it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from store.accounts import Account, provisioned_accounts
from store.batchnames import OUT_FOLDERS
from store.democreds import DemoCredentials
from sync.cycle import run_cycle
from sync.homes import FILE_MODE, ensure_home, home_of, part_name
from sync.hostkey import load_or_create_host_key
from sync.limits import ServerLimits
from sync.proxy_protocol import Network
from sync.schedule import current_slot
from sync.sftp_server import SFTPService
from tests.support.registration import DEMO_USER

SFTP = shutil.which("sftp") or "/usr/bin/sftp"


def openssh_options(key: Path) -> list[str]:
    """The OpenSSH clients' options in every test: the key alone, any host key trusted, never
    a prompt, errors only, a bounded connect."""
    return [
        "-i",
        str(key),
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
    ]


def sftp_command(port: int, key: Path, user: str, *options: str) -> list[str]:
    """``sftp`` in batch mode (commands on stdin), with the key alone, trusting the host;
    ``options`` before the destination (e.g. ``bind_to(address)``, ``-c CIPHER``)."""
    return [
        SFTP,
        "-b",
        "-",
        "-P",
        str(port),
        *openssh_options(key),
        *options,
        f"{user}@127.0.0.1",
    ]


def bind_to(address: str) -> tuple[str, str]:
    """The client's option to connect from ``address`` (a loopback one: 127.0.0.0/8), as
    partners' hosts would come from addresses of their own."""
    return ("-o", f"BindAddress={address}")


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


def sftp_shell(
    port: int, key: Path, user: str, cwd: Path | None = None, options: Sequence[str] = ()
) -> subprocess.Popen[str]:
    """``sftp`` reading its commands from a pipe left open: the session stays logged in until
    stdin closes or the server ends it (``write_command`` sends one)."""
    return subprocess.Popen(
        sftp_command(port, key, user, *options),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def write_command(shell: subprocess.Popen[str], command: str) -> None:
    assert shell.stdin is not None
    shell.stdin.write(command + "\n")
    shell.stdin.flush()


def ssh_child(shell: subprocess.Popen[str]) -> int:
    """The pid of the ``ssh`` process ``sftp`` talks through (its connection to the server)."""
    children = Path(f"/proc/{shell.pid}/task/{shell.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def process_ended(pid: int) -> bool:
    """Whether ``pid`` has exited (gone, or a zombie its parent has not reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return status.rpartition(")")[2].split()[0] in ("Z", "X")


def provision(homes: Path, make_homes: bool = True) -> None:
    """Run the sync cycle of the current slot: pending SFTP channels become accounts. The
    cycle makes no home (a user's first login does); with ``make_homes`` they are made
    below ``homes`` as that first login would, for tests that put files there first."""
    now = datetime.now(UTC)
    assert run_cycle(current_slot(now), homes, lambda: now).status == "done"
    if make_homes:
        for account in provisioned_accounts():
            ensure_home(homes, account.technical_user)


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

    def provision(self, make_homes: bool = True) -> None:
        provision(self.homes, make_homes)

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


def start_server(
    tmp_path: Path, limits: ServerLimits | None = None, proxy_sources: Sequence[Network] = ()
) -> Server:
    """The server on a free loopback port, its homes and host key in ``tmp_path``."""
    homes = tmp_path / "homes"
    key = load_or_create_host_key(tmp_path / "host_key")
    service = SFTPService(
        homes, key, port=0, limits=limits or ServerLimits(), proxy_sources=proxy_sources
    )
    server = Server(homes, service)
    service.on_upload = lambda account, path: server.uploads.append((account, path))
    service.start()
    return server


def write_out_file(
    homes_root: str | os.PathLike[str], technical_user: str, folder: str, name: str, data: bytes
) -> Path:
    """Put a file in one of the user's OUT folders, atomically and never over another one
    (as the intake leaves its answers: what a partner finds to read and delete).

    The bytes go to a hidden temporary name first (hidden from SFTP listings) and are then
    linked to ``name``; ``FileExistsError`` if ``name`` is already there.
    """
    if folder not in OUT_FOLDERS:
        raise ValueError(f"not an OUT folder: {folder!r}")
    if not name or name.startswith(".") or "/" in name or "\0" in name:
        raise ValueError(f"not a plain file name: {name!r}")
    directory = home_of(homes_root, technical_user) / folder
    temporary = directory / part_name(name)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.link(temporary, directory / name)
    finally:
        os.unlink(temporary)
    return directory / name
