"""Legacy scp (``scp -O``, OpenSSH's default before 9.0) served by the server itself under the
SFTP rules, and nothing else ever executed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sync.scp_server import ScpCommand, parse_command
from tests.interop_support import USER, BackOffice, back_office
from tests.support.sftp import openssh_options, write_out_file

__all__ = ["back_office"]  # the module's fixture


def options(bo: BackOffice) -> list[str]:
    return openssh_options(bo.key)


def scp(bo: BackOffice, *args: str) -> subprocess.CompletedProcess[str]:
    program = shutil.which("scp")
    assert program, "scp (openssh-client) is missing"
    return subprocess.run(
        [program, "-O", "-P", str(bo.port), *options(bo), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def ssh(bo: BackOffice, *command: str) -> subprocess.CompletedProcess[str]:
    program = shutil.which("ssh")
    assert program, "ssh (openssh-client) is missing"
    return subprocess.run(
        [program, "-p", str(bo.port), *options(bo), f"{USER}@127.0.0.1", *command],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("command", "parsed"),
    [
        (b"scp -t INTEST/", ScpCommand(True, False, ("INTEST/",))),
        (b"scp -v -p -d -t -- INTEST/", ScpCommand(True, True, ("INTEST/",))),
        (b"scp -pt INTEST", ScpCommand(True, True, ("INTEST",))),
        (b"scp -f OUTTEST/a OUTTEST/b", ScpCommand(False, False, ("OUTTEST/a", "OUTTEST/b"))),
        (b"scp -f 'OUTTEST/FO.*'", ScpCommand(False, False, ("OUTTEST/FO.*",))),
        (b"ls", None),
        (b"/usr/bin/scp -t INTEST", None),
        (b"scp -t", None),
        (b"scp -t -f INTEST", None),
        (b"scp -t INTEST; touch x", None),
        (b"scp -x -t IN", None),
        (b"scp -t 'INTEST", None),
        (b"sh -c 'scp -t INTEST'", None),
        (b"\xff", None),
    ],
)
def test_only_scp_t_and_f_are_understood(command: bytes, parsed: ScpCommand | None) -> None:
    assert parse_command(command) == parsed


def test_legacy_scp_keeps_the_sftp_rules(back_office: BackOffice, tmp_path: Path) -> None:
    local = tmp_path / "notes-legacy.txt"
    local.write_bytes(b"legacy\n" * 1000)
    home = back_office.home
    assert scp(back_office, str(local), f"{USER}@127.0.0.1:INTEST/").returncode == 0
    assert (home / "INTEST" / local.name).read_bytes() == local.read_bytes()
    for target in ("INTEST/", "OUTTEST/", "", "INTEST/sub/", "../"):
        refused = scp(back_office, str(local), f"{USER}@127.0.0.1:{target}")
        assert refused.returncode == 1, target  # never over a file, only into IN folders
    assert not (home / "OUTTEST" / local.name).exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inside.txt").write_text("x")
    assert scp(back_office, "-r", str(folder), f"{USER}@127.0.0.1:INTEST/").returncode == 1
    assert not (home / "INTEST" / "folder").exists()
    for source in (f"INTEST/{local.name}", "../../etc/passwd", "/etc/passwd", "OUTTEST/none"):
        refused = scp(back_office, f"{USER}@127.0.0.1:{source}", str(tmp_path / "got"))
        assert refused.returncode == 1, source
        assert not (tmp_path / "got").exists()


def test_legacy_scp_downloads_by_pattern_with_times(
    back_office: BackOffice, tmp_path: Path
) -> None:
    for name in ("FO.ACRF.999999.20260101.00001.T", "FO.ACRF.999999.20260101.00002.T"):
        write_out_file(back_office.services.config.homes_root, USER, "OUTTEST", name, name.encode())
    into = tmp_path / "inbox"
    into.mkdir()
    got = scp(back_office, "-p", f"{USER}@127.0.0.1:OUTTEST/FO.ACRF.999999.20260101.*", f"{into}/")
    assert got.returncode == 0, got.stderr
    assert sorted(p.read_text() for p in into.iterdir()) == [
        "FO.ACRF.999999.20260101.00001.T",
        "FO.ACRF.999999.20260101.00002.T",
    ]
    kept = back_office.home / "OUTTEST" / "FO.ACRF.999999.20260101.00001.T"
    assert int((into / kept.name).stat().st_mtime) == int(kept.stat().st_mtime)


@pytest.mark.parametrize(
    "command",
    [
        ("touch", "{marker}"),
        ("sh", "-c", "'touch {marker}'"),
        ("scp -t INTEST/; touch {marker}",),
        ("scp -f /etc/passwd; touch {marker}",),
        ("rsync", "--server", "-e.", ".", "INTEST/"),
    ],
)
def test_nothing_else_is_executed(
    back_office: BackOffice, tmp_path: Path, command: tuple[str, ...]
) -> None:
    marker = tmp_path / "executed"
    result = ssh(back_office, *(part.format(marker=marker) for part in command))
    assert result.returncode != 0
    assert not marker.exists()


def test_no_shell(back_office: BackOffice) -> None:
    program = shutil.which("ssh")
    assert program
    result = subprocess.run(
        [program, "-T", "-p", str(back_office.port), *options(back_office), f"{USER}@127.0.0.1"],
        input="touch /tmp/x\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
