"""The OpenSSH front's key files: one ``authorized_keys`` file per live technical user.

sshd reads them as ``AuthorizedKeysFile <dir>/%u`` (the fragment's default): no process per
login, where ``AuthorizedKeysCommand`` starts ``expedito authorized-keys`` twice per login.
Each file holds exactly what ``expedito authorized-keys USER UID`` prints (the ``restrict``
option, :func:`store.keys.authorized_line`), is written atomically (a temporary file in the
same directory, fsync, rename) and only when its text changes, root's and ``0644`` (sshd reads
it as the user; StrictModes wants it and every directory above it owned by root or the user
and writable by no one else). The directory is made ``0755``.

Fail closed: :meth:`KeyFiles.keep` removes every file there whose name is not a user it is
given, so a file left by an earlier run, or by hand, for a user who is not live never stays.
The front calls it before it ends a revoked user's sessions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("expedito.openssh")

DIR_MODE = 0o755
FILE_MODE = 0o644
_TEMPORARY = ".expedito-"


class KeyFiles:
    """The files in ``directory``: ``{user: its authorized_keys lines}``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def names(self) -> set[str]:
        try:
            return {entry.name for entry in os.scandir(self.directory)}
        except FileNotFoundError:
            return set()

    def remove_others(self, keep: set[str]) -> list[str]:
        """Remove every file whose name is not in ``keep`` (temporary files too): the
        removed users, sorted."""
        removed = []
        for name in sorted(self.names() - keep):
            try:
                os.unlink(self.directory / name)
            except FileNotFoundError:
                continue
            except IsADirectoryError:
                log.error("openssh: %s is a directory: not a key file", self.directory / name)
                continue
            if not name.startswith(_TEMPORARY):
                removed.append(name)
        return removed

    def keep(self, wanted: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
        """Make the directory hold exactly ``wanted``'s files: others removed first, then
        those missing or different written. ``(written, removed)``."""
        removed = self.remove_others(set(wanted))
        self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        info = os.stat(self.directory)
        if info.st_mode & 0o7777 != DIR_MODE:
            os.chmod(self.directory, DIR_MODE)
        written = []
        for name, lines in sorted(wanted.items()):
            if self._write(name, "".join(f"{line}\n" for line in lines)):
                written.append(name)
        return written, removed

    def _write(self, name: str, text: str) -> bool:
        target = self.directory / name
        try:
            with open(target) as current:
                if current.read() == text and os.fstat(current.fileno()).st_mode & 0o7777 == (
                    FILE_MODE
                ):
                    return False
        except FileNotFoundError:
            pass
        temporary = self.directory / f"{_TEMPORARY}{name}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fchmod(handle.fileno(), FILE_MODE)
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return True
