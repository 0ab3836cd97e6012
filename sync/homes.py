"""The SFTP homes: ``<homes_root>/<technical_user>/`` holding the six folders.

Users write in the IN folders (IN production, INTEST test, INTEST-S simulation) and read and
delete in the OUT folders, where the intake leaves its acknowledgements; the folders are
:mod:`store.batchnames`'s.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import platformdirs

from store.batchnames import HOME_FOLDERS

HOME_MODE = 0o750
FILE_MODE = 0o640


_PART = re.compile(r"\..+\.part-[0-9a-f]{12}")


def part_name(name: str) -> str:
    """The hidden name a file is written under before it is linked to ``name``: the server's
    own, never shown to a client nor usable by one (see ``is_part_name``)."""
    return f".{name}.part-{os.urandom(6).hex()}"


def is_part_name(name: str) -> bool:
    return _PART.fullmatch(name) is not None


def default_homes_root() -> Path:
    return Path(platformdirs.user_data_dir("expedito", appauthor=False)) / "homes"


def check_homes_root(homes_root: Path) -> None:
    """Make ``homes_root`` if missing and check a file can be made in it; ``ValueError``
    (one line for the user) when not: ``/proc``, a read-only disk, a file in the way."""
    probe = homes_root / f".expedito-check-{os.getpid()}"
    try:
        homes_root.mkdir(parents=True, exist_ok=True)
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise ValueError(
            f"--homes {homes_root}: the SFTP homes cannot be made there "
            f"({exc.strerror or exc}): give a directory you can write"
        ) from None


def home_of(homes_root: str | os.PathLike[str], technical_user: str) -> Path:
    """The home of ``technical_user`` (names are 8-20 letters and digits: safe as a folder)."""
    if not technical_user.isalnum() or not technical_user.isascii():
        raise ValueError(f"not a technical user name: {technical_user!r}")
    return Path(homes_root) / technical_user


def ensure_home(homes_root: str | os.PathLike[str], technical_user: str) -> bool:
    """Create the home and its six folders where missing; True when something was created.

    Made at the user's login (``sync.sftp_server``) and by the OpenSSH front (``sync.openssh``),
    never by the cycle. Idempotent and safe when two sessions of the same user make it at
    once: each ``mkdir`` either makes its folder or finds it there, so whoever returns has
    all seven. Plain ``mkdir`` calls, no ``stat`` first: a later login costs seven
    ``EEXIST`` (microseconds). ``OSError`` when a folder is neither there nor can be made
    (a full or read-only disk, a file in the way).
    """
    home = os.fspath(home_of(homes_root, technical_user))
    created = False
    for path in (home, *(os.path.join(home, folder) for folder in HOME_FOLDERS)):
        try:
            os.mkdir(path, HOME_MODE)
            created = True
        except FileExistsError:
            if not os.path.isdir(path):
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", path) from None
        except OSError:
            if not os.path.isdir(path):  # a read-only disk says so even for what exists
                raise
    return created
