"""The sessions sshd serves for the OpenSSH front, read from ``/proc`` for the operators.

sshd runs each logged-in session in processes of the technical user's uid (privilege
separation: the monitor stays root), so the processes of the technical users' uids are the
sessions (``sshd_sessions``: two a session). For each: the user (its uid,
``sync.openssh.names``), since when (the process's start), the client's address (the TCP
socket it holds, found in ``/proc/net/tcp*``), the bytes from the kernel's I/O counters (in:
written to disk, the uploads; out: the rest written, the downloads), and the file it has open
in the home. ``OpenSSHFront`` publishes
them as the embedded server does (``sync.session_board``), so the *Sessions SFTP* page and
``expedito_sftp_sessions`` see them; ending one kills its process, as revocation does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from store.accounts import Account
from sync.openssh.accounts import is_ours

log = logging.getLogger("expedito.openssh")

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class SshdSession:
    """One session process (``sync.session_board.Session``)."""

    session_id: str
    account: Account | None
    address: str
    started_at: float
    bytes_in: int
    bytes_out: int
    current_file: str
    pid: int  # sshd's process of the user, holding the connection
    children: tuple[int, ...] = ()  # the internal-sftp it forked

    def close(self) -> None:
        """End the session: its processes are killed, as revocation does (sshd's monitor of
        it then closes the connection)."""
        for pid in (*self.children, self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _boot_time() -> float:
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def _peers() -> dict[str, str]:
    """``{socket inode: remote address}`` of the TCP connections (IPv4 and IPv6)."""
    found: dict[str, str] = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/net/{name}") as table:
                next(table, None)
                for line in table:
                    fields = line.split()
                    if len(fields) > 9:
                        found[fields[9]] = _address(fields[2].split(":")[0])
        except OSError:
            continue
    return found


def _address(hexed: str) -> str:
    """``/proc/net/tcp``'s address (host byte order, 32-bit words) as text."""
    raw = bytes.fromhex(hexed)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _uids(pid: str) -> tuple[int, ...]:
    """The real and effective uids of ``pid`` (sshd's session process may hold the user's in
    one only); empty when it has ended."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Uid:"):
                    return tuple(int(value) for value in line.split()[1:3])
    except (OSError, ValueError):
        return ()
    return ()


def _io(pid: str) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/io") as counters:
            return {k: int(v) for k, _, v in (line.partition(": ") for line in counters)}
    except (OSError, ValueError):
        return {}


@dataclass
class _Process:
    pid: str
    parent: str
    started: int  # clock ticks after boot
    account: Account


def _processes(
    accounts: Mapping[int, Account], strays: dict[int, list[int]] | None = None
) -> dict[str, _Process]:
    """The live processes of the technical users' uids; those of another uid of the
    technical users' range (``is_ours``: a user no longer live) added to ``strays``."""
    found: dict[str, _Process] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        uids = _uids(entry.name)
        account = next((a for uid in uids if (a := accounts.get(uid))), None)
        if account is None:
            if strays is not None:
                for uid in {uid for uid in uids if is_ours(uid)}:
                    strays.setdefault(uid, []).append(int(entry.name))
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if fields[0] not in ("Z", "X"):  # not ended, waiting for sshd to reap it
            found[entry.name] = _Process(entry.name, fields[1], int(fields[19]), account)
    return found


def _links(pid: str) -> list[str]:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    links = []
    for fd in fds:
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return links


def sshd_sessions(
    accounts: Mapping[int, Account], homes_root: Path, strays: dict[int, list[int]] | None = None
) -> list[SshdSession]:
    """The sessions of the technical users ``accounts`` gives by uid, oldest first.

    A session is two processes of the user: sshd's, holding the client's connection, and
    the child it forks for ``internal-sftp`` (in the chroot: the files). The address is the
    first's socket; the bytes are the child's (in: what it wrote to disk; out: what else it
    wrote, to sshd's pipe, for the client), the current file is the child's.

    ``strays`` (given): filled, from the same look at ``/proc``, with the pids of each other
    uid of the technical users' range, by uid."""
    if not accounts and strays is None:
        return []
    processes = _processes(accounts, strays)
    boot = _boot_time()
    peers: dict[str, str] | None = None
    found: list[SshdSession] = []
    for process in processes.values():
        if process.parent in processes:  # the sftp child of a session: counted with it
            continue
        address = ""
        for link in _links(process.pid):
            if link.startswith("socket:["):
                peers = _peers() if peers is None else peers
                address = peers.get(link[8:-1], "")
                if address:
                    break
        home = os.path.join(os.fspath(homes_root), process.account.technical_user) + os.sep
        current, bytes_in, bytes_out = "", 0, 0
        children = [child for child in processes.values() if child.parent == process.pid]
        for child in children:
            counters = _io(child.pid)
            bytes_in += counters.get("write_bytes", 0)
            bytes_out += max(0, counters.get("wchar", 0) - counters.get("write_bytes", 0))
            current = current or next(
                (os.path.basename(link) for link in _links(child.pid) if link.startswith(home)),
                "",
            )
        found.append(
            SshdSession(
                session_id=f"sshd-{process.pid}-{process.started}",
                account=process.account,
                address=address,
                started_at=boot + process.started / _TICKS,
                bytes_in=bytes_in,
                bytes_out=bytes_out,
                current_file=current,
                pid=int(process.pid),
                children=tuple(int(child.pid) for child in children),
            )
        )
    return sorted(found, key=lambda session: session.started_at)
