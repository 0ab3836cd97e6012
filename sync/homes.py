"""The SFTP homes: ``<homes_root>/<technical_user>/`` holding the six folders.

Users write in the IN folders (IN production, INTEST test, INTEST-S simulation) and read and
delete in the OUT folders, where the intake leaves its acknowledgements; the folders are
:mod:`store.batchnames`'s.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

from store.batchnames import HOME_FOLDERS, OUT_FOLDERS

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


def home_of(homes_root: str | os.PathLike[str], technical_user: str) -> Path:
    """The home of ``technical_user`` (names are 8-20 letters and digits: safe as a folder)."""
    if not technical_user.isalnum() or not technical_user.isascii():
        raise ValueError(f"not a technical user name: {technical_user!r}")
    return Path(homes_root) / technical_user


def ensure_home(homes_root: str | os.PathLike[str], technical_user: str) -> bool:
    """Create the home and its six folders where missing; True when something was created.

    Idempotent, so a cycle killed half-way can simply run again. Plain ``mkdir`` calls (no
    ``makedirs``/``stat`` round trips): this is most of a cycle's cost.
    """
    home = os.fspath(home_of(homes_root, technical_user))
    created = False
    try:
        os.mkdir(home, HOME_MODE)
        created = True
    except FileExistsError:
        pass
    for folder in HOME_FOLDERS:
        try:
            os.mkdir(os.path.join(home, folder), HOME_MODE)
            created = True
        except FileExistsError:
            pass
    return created


def write_out_file(
    homes_root: str | os.PathLike[str], technical_user: str, folder: str, name: str, data: bytes
) -> Path:
    """Put a file in one of the user's OUT folders, atomically and never over another one.

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
