"""OpenSSH's sshd as the SFTP front, for the tests: a site directory sshd accepts for chroots
(root's, not under /tmp), the technical users' real system accounts (removed afterwards), and
sshd itself on a free loopback port with the fragment of ``expedito sshd-config`` — never the
machine's own sshd, config or port 22. Everything started is stopped, everything made removed.
"""

from __future__ import annotations

import fcntl
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sync.openssh.accounts import EXTRAUSERS_DIR, ExtraUsers, UserAdd, end_sessions
from sync.openssh.sshd_config import quick_keys_command
from tests.support.repo import ROOT

SSHD = "/usr/sbin/sshd"
LOCK = Path(tempfile.gettempdir()) / "expedito-openssh-tests.lock"
EXTRAUSERS_LIBRARY = Path("/usr/lib/libnss_extrausers.so.2")  # Debian's libnss-extrausers


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def site() -> Iterator[Path]:
    """A directory whose every parent is root's and writable by no one else (sshd's rule for
    a chroot and for the AuthorizedKeysCommand): in /srv, removed at the end."""
    path = Path("/srv") / f"expedito-test-{secrets.token_hex(4)}"
    path.mkdir(mode=0o755, parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def exclusive(wait: float = 300.0) -> Iterator[None]:
    """One test at a time on the machine with technical users' uids (``pytest -n 2`` runs
    modules side by side; the accounts are the machine's, and the front kills every process
    of a uid it revokes): a lock file, waited for at most ``wait`` seconds."""
    with LOCK.open("a") as lock:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{LOCK} held for {wait:.0f} s"
                time.sleep(0.2)
        yield


@contextmanager
def system_accounts(wait: float = 300.0) -> Iterator[UserAdd]:
    """Real accounts (``useradd``), all removed at the end with their processes; one test at a
    time (``exclusive``)."""
    with exclusive(wait):
        keeper = UserAdd()
        assert keeper.managed() == {}, "this machine already has Expedito accounts: not touched"
        try:
            yield keeper
        finally:
            for uid in keeper.managed().values():
                end_sessions(uid)
            time.sleep(0.2)
            keeper.remove_all()
            assert keeper.managed() == {}


@contextmanager
def extrausers(site: Path, wait: float = 300.0) -> Iterator[ExtraUsers]:
    """The accounts as ``libnss-extrausers`` files in ``site/extrausers`` (``sshd(...,
    extrausers=...)`` shows them to sshd alone as /var/lib/extrausers), their processes ended
    at the end; one test at a time (``exclusive``). The machine's own files are not touched."""
    assert EXTRAUSERS_LIBRARY.exists(), "apt-get install libnss-extrausers (.ci/run does)"
    directory = site / "extrausers"
    directory.mkdir(mode=0o755)
    with exclusive(wait):
        keeper = ExtraUsers(directory)
        try:
            yield keeper
        finally:
            for uid in keeper.managed().values():
                end_sessions(uid)


def nsswitch_with_extrausers(text: str) -> str:
    """``nsswitch.conf``'s text with ``extrausers`` after ``files`` on the ``passwd``,
    ``group`` and ``shadow`` lines, as the README tells an operator to write it."""
    lines = []
    for line in text.splitlines():
        database, colon, sources = line.partition(":")
        if colon and database.strip() in ("passwd", "group", "shadow"):
            words = sources.split()
            if "extrausers" not in words:
                at = words.index("files") + 1 if "files" in words else 0
                words.insert(at, "extrausers")
            line = f"{database}:{' '.join(words)}"
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def in_own_namespace(site: Path, extrausers: Path, command: list[str]) -> list[str]:
    """``command`` in a mount namespace of its own where ``extrausers`` is /var/lib/extrausers
    and ``nsswitch.conf`` reads it: the accounts resolve through libnss-extrausers for that
    process and its children only (sshd, its sessions, PAM, the AuthorizedKeysCommand),
    never for the rest of the machine, and nothing is left to restore."""
    nsswitch = site / "nsswitch.conf"
    nsswitch.write_text(nsswitch_with_extrausers(Path("/etc/nsswitch.conf").read_text()))
    script = (
        'mount --bind "$1" "$2" && mount --bind "$3" /etc/nsswitch.conf && shift 3 && exec "$@"'
    )
    return [
        "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
        str(extrausers), str(EXTRAUSERS_DIR), str(nsswitch), *command,
    ]  # fmt: skip


@contextmanager
def sshd(
    site: Path,
    db: Path,
    homes: Path,
    host_key: Path | None = None,
    keys: str = "file",
    extrausers: Path | None = None,
) -> Iterator[int]:
    """sshd with the generated fragment on a free loopback port, with ``host_key`` (default:
    one made in the site), the keys read from the front's files (``keys="command"``: from
    ``expedito authorized-keys`` at each login); with ``extrausers``, the accounts read from
    that directory's libnss-extrausers files (``in_own_namespace``); killed at the end."""
    port = free_port()
    # sshd runs an AuthorizedKeysCommand only from directories root owns and no one else may
    # write: the checkout may be anywhere (/tmp), so a root-owned wrapper in the site, that
    # starts as the fragment's default does (the module as a script, python3 -S -I)
    command = site / "expedito"
    quick = " ".join(quick_keys_command(Path(db)))
    command.write_text(f'#!/bin/sh\nexec {quick} "$@"\n')
    command.chmod(0o755)
    made = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(db), "sshd-config", "--homes", str(homes),
         "--port", str(port), "--command", str(command), "--keys", keys],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    fragment = site / "expedito.conf"
    fragment.write_text(made.stdout)
    if host_key is None:
        host_key = site / "ssh_host_ed25519_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
            check=True, timeout=30,
        )  # fmt: skip
    config = site / "sshd_config"
    config.write_text(
        # UsePAM yes: Debian's default (the account check of pam_unix runs)
        f"ListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile none\nUsePAM yes\n"
        f"LogLevel VERBOSE\nInclude {fragment}\n"
        # as in Debian's sshd_config: sshd answers a subsystem request only for a name it
        # knows; the fragment's ForceCommand then runs internal-sftp instead
        "Subsystem sftp /usr/lib/openssh/sftp-server\n"
    )
    privsep = Path("/run/sshd")  # sshd's privilege separation directory
    made_privsep = not privsep.exists()
    privsep.mkdir(mode=0o755, exist_ok=True)
    log = (site / "sshd.log").open("w")
    started = [SSHD, "-D", "-e", "-f", str(config)]
    if extrausers is not None:
        started = in_own_namespace(site, extrausers, started)
    process = subprocess.Popen(started, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: listening(port) or process.poll() is not None, 20)
        assert process.poll() is None, (site / "sshd.log").read_text()
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()
        if made_privsep:
            privsep.rmdir()
