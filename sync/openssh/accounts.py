"""The system accounts of the technical users, and the chroot homes sshd requires.

Two ways to keep the accounts, the operator's choice:

- :class:`ExtraUsers` writes Debian's ``libnss-extrausers`` files (``passwd``, ``group``,
  ``shadow`` in ``/var/lib/extrausers``; ``nsswitch.conf`` then lists ``extrausers`` after
  ``files``): each file rewritten atomically (temporary file, fsync, rename) when it changes,
  its lines for other uids kept as they are. No ``useradd`` on a hot path, thousands of users
  in one write.
- :class:`UserAdd` runs ``groupadd``/``useradd``/``userdel`` for each change (``/etc/passwd``).

Either way the names, uids and groups are :mod:`sync.openssh.names`'s, the password field is
``*`` (no password, not locked: sshd refuses a locked account's key), the home ``/`` (inside
the chroot) and the shell ``nologin``. A name the machine already has for another uid is left
alone (logged): ``authorized-keys`` then gives it no key.

:func:`lay_out` gives a home the owners and modes that let the kernel enforce what POSIX can
of the folder rules, whoever serves: the home root-owned (``ChrootDirectory``), the folders
owned by root with the user's private group — IN folders ``0770`` (write; the umask of
``internal-sftp`` makes uploads mode 0000, unreadable by their writer), OUT folders ``0770``
(read, delete: the acknowledgements are ``0644``). POSIX cannot let a user delete in a
folder without letting it create there, nor stop it deleting its own upload in IN, and the
SFTP request list cannot either: a file written in an OUT folder is removed by the front as
soon as it is closed (:mod:`sync.openssh.front`), and deleting one's own upload before the
intake takes it stays possible with OpenSSH.

:func:`end_sessions` ends a revoked user's sessions: every process running as its uid (the
sshd session processes) is killed.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import signal
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from store.batchnames import HOME_FOLDERS
from sync.homes import ensure_home, home_of
from sync.openssh.names import GROUP, SHELL, UID_BASE

log = logging.getLogger("expedito.openssh")

EXTRAUSERS_DIR = Path("/var/lib/extrausers")
UID_SPAN = 100_000_000  # uids UID_BASE+1 … UID_BASE+UID_SPAN are the technical users'
HOME_MODE = 0o750
FOLDER_MODE = 0o770


def is_ours(uid: int) -> bool:
    return UID_BASE < uid <= UID_BASE + UID_SPAN


class SystemAccounts(Protocol):
    """Keeps the system accounts equal to ``{name: uid}``."""

    def managed(self) -> dict[str, int]:
        """The technical users' accounts there are now."""
        ...

    def apply(self, wanted: Mapping[str, int]) -> tuple[list[str], list[str]]:
        """Add what is missing, remove what is not wanted: ``(added, removed)``."""
        ...


def _taken_by_other(name: str, uid: int) -> bool:
    """Does the machine (``/etc/passwd``, any NSS source) know ``name`` with another uid?"""
    try:
        return pwd.getpwnam(name).pw_uid != uid
    except KeyError:
        return False


class ExtraUsers:
    """``libnss-extrausers``' files in ``directory``."""

    def __init__(self, directory: Path = EXTRAUSERS_DIR) -> None:
        self.directory = Path(directory)

    def _lines(self, name: str) -> list[str]:
        try:
            return (self.directory / name).read_text().splitlines()
        except FileNotFoundError:
            return []

    def managed(self) -> dict[str, int]:
        found = {}
        for line in self._lines("passwd"):
            fields = line.split(":")
            if len(fields) >= 7 and fields[2].isdigit() and is_ours(int(fields[2])):
                found[fields[0]] = int(fields[2])
        return found

    def apply(self, wanted: Mapping[str, int]) -> tuple[list[str], list[str]]:
        before = self.managed()
        keep = {
            name: uid
            for name, uid in sorted(wanted.items(), key=lambda item: item[1])
            if is_ours(uid) and not (name not in before and _in_files(name, uid))
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        passwd = [line for line in self._lines("passwd") if not _our_line(line, 2)]
        passwd += [f"{name}:x:{uid}:{uid}:Expedito {name}:/:{SHELL}" for name, uid in keep.items()]
        group = [
            line
            for line in self._lines("group")
            if not _our_line(line, 2) and not line.startswith(f"{GROUP}:")
        ]
        group.append(f"{GROUP}:x:{UID_BASE}:{','.join(keep)}")
        group += [f"{name}:x:{uid}:" for name, uid in keep.items()]
        shadow = [
            line
            for line in self._lines("shadow")
            if (named := line.split(":")[0]) not in before and named not in keep
        ]
        # no password ("*"), not locked, no password ageing: an empty last change (0 would
        # be "change it at the next login", which pam_unix's account check makes sshd end
        # every session for)
        shadow += [f"{name}:*:::::::" for name in keep]
        self._write("passwd", passwd, 0o644)
        self._write("group", group, 0o644)
        self._write("shadow", shadow, 0o640)
        added = sorted(set(keep) - set(before))
        removed = sorted(set(before) - set(keep))
        return added, removed

    def _write(self, name: str, lines: list[str], mode: int) -> None:
        """Replace the file atomically, and only when its text changes."""
        target = self.directory / name
        text = "".join(f"{line}\n" for line in lines)
        try:
            if target.read_text() == text:
                return
        except FileNotFoundError:
            pass
        temporary = self.directory / f".{name}.expedito-{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def _our_line(line: str, field: int) -> bool:
    fields = line.split(":")
    return len(fields) > field and fields[field].isdigit() and is_ours(int(fields[field]))


def _in_files(name: str, uid: int) -> bool:
    """A name the machine's own files give another uid (logged, left alone)."""
    if _taken_by_other(name, uid):
        log.warning("system account %s exists with another uid: not made for Expedito", name)
        return True
    return False


def nss_reads_extrausers(nsswitch: Path = Path("/etc/nsswitch.conf")) -> bool:
    """Does the ``passwd`` line of ``nsswitch.conf`` list ``extrausers``?"""
    try:
        lines = nsswitch.read_text().splitlines()
    except OSError:
        return False
    return any(
        line.split(":", 1)[0].strip() == "passwd" and "extrausers" in line.split(":", 1)[1]
        for line in lines
        if ":" in line and not line.lstrip().startswith("#")
    )


class UserAdd:
    """``groupadd``, ``useradd`` and ``userdel``: the accounts in ``/etc/passwd``."""

    def managed(self) -> dict[str, int]:
        return {entry.pw_name: entry.pw_uid for entry in pwd.getpwall() if is_ours(entry.pw_uid)}

    def apply(self, wanted: Mapping[str, int]) -> tuple[list[str], list[str]]:
        before = self.managed()
        added, removed = [], []
        for name in sorted(set(before) - set(wanted)):
            _run("userdel", "-f", name)  # -f: even while its sessions end
            if _group_exists(name):
                _run("groupdel", name)
            removed.append(name)
        if set(wanted) - set(before) and not _group_exists(GROUP):
            _run("groupadd", "-g", str(UID_BASE), GROUP)
        for name, uid in sorted(wanted.items()):
            if name in before or not is_ours(uid) or _taken_by_other(name, uid):
                if name not in before and is_ours(uid):
                    log.warning("system account %s exists with another uid: left alone", name)
                continue
            if not _group_exists(name):
                _run("groupadd", "-g", str(uid), name)
            _run(
                "useradd", "-M", "-d", "/", "-s", SHELL, "-u", str(uid), "-g", str(uid),
                "-G", GROUP, "-p", "*", "-c", f"Expedito {name}", name,
            )  # fmt: skip
            added.append(name)
        return added, removed

    def remove_all(self) -> list[str]:
        """Remove every technical user's account and the group (tests, uninstalling)."""
        _, removed = self.apply({})
        if _group_exists(GROUP):
            _run("groupdel", GROUP)
        return removed


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise OSError(f"{command[0]} {command[-1]}: {done.stderr.strip() or done.returncode}")


def lay_out(homes_root: Path, name: str, uid: int) -> None:
    """The home of ``name`` (made where missing) with the chroot's owners and modes.

    Idempotent. The homes root must be root's and writable by no one else (sshd checks every
    directory above the chroot): it is made so.
    """
    root = Path(homes_root)
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    ensure_home(root, name)
    info = os.stat(root)
    if info.st_uid != 0 or info.st_mode & 0o022:
        os.chown(root, 0, -1)
        os.chmod(root, info.st_mode & 0o755)
    home = home_of(root, name)
    _own(home, uid, HOME_MODE)
    for folder in HOME_FOLDERS:
        _own(home / folder, uid, FOLDER_MODE)


def _own(path: Path, gid: int, mode: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if (info.st_uid, info.st_gid) != (0, gid):
            os.fchown(fd, 0, gid)
        if info.st_mode & 0o7777 != mode:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _processes_of(uid: int) -> list[int]:
    """The pids whose real or effective uid is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as status:
                uids = next(line for line in status if line.startswith("Uid:")).split()[1:3]
        except (OSError, StopIteration):
            continue
        if str(uid) in uids:
            found.append(int(entry.name))
    return found


def written_by(uid: int, path: Path) -> bool:
    """Does a process of ``uid`` (a session of the partner) hold ``path`` open for writing?"""
    target = os.fspath(path)
    for pid in _processes_of(uid):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next(line for line in info if line.startswith("flags:")).split()[1]
            except (OSError, StopIteration):
                continue
            if int(flags, 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                return True
    return False


def end_sessions(uid: int, sig: int = signal.SIGKILL) -> int:
    """Kill every process whose real or effective uid is ``uid`` (a revoked user's sshd
    session processes); returns how many were signalled."""
    return end_processes(uid, _processes_of(uid), sig)


def end_processes(uid: int, pids: Iterable[int], sig: int = signal.SIGKILL) -> int:
    """Signal those of ``pids`` that still run as ``uid`` (real or effective), checked through
    a pidfd so that a pid reused meanwhile by another process is never signalled; returns
    how many were."""
    signalled = 0
    for pid in pids:
        try:
            fd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # ended meanwhile
            continue
        except OSError:  # no pidfd (Linux before 5.3): checked, then signalled by pid
            fd = None
        try:
            # the pidfd holds the process seen: if the pid now names another, it has ended
            # and the signal below fails
            with open(f"/proc/{pid}/status") as status:
                uids = next(line for line in status if line.startswith("Uid:")).split()[1:3]
            if str(uid) in uids:
                if fd is None:
                    os.kill(pid, sig)
                else:
                    signal.pidfd_send_signal(fd, sig)
                signalled += 1
        except (OSError, StopIteration):
            continue
        finally:
            if fd is not None:
                os.close(fd)
    return signalled
