"""A real small disk for the tests of a full or read-only one: a tmpfs of its own (mounting
needs root; elsewhere the test is skipped, saying why), filled up or remounted read-only.
The ``tmpfs`` fixture of ``tests/conftest.py`` is :func:`mounted_tmpfs`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SIZE = "2m"
"""Room for a migrated database with the demo data set, and little more."""


@contextmanager
def mounted_tmpfs(mount: Path, size: str = SIZE) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``mount`` (made here), unmounted afterwards."""
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the disk of ``folder`` up with one file, ``filler``; its path (unlink it for room)."""
    filler = folder / "filler"
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True, check=False
    )
    return filler


def read_only(mount: Path) -> None:
    """Remount ``mount`` read-only."""
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
