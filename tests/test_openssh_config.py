"""``expedito sshd-config``: the fragment, as the installed sshd reads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sync.openssh.sshd_config import (
    ALLOWED_REQUESTS,
    KNOWN_DENIED,
    Fragment,
    force_command,
    render,
    sftp_requests,
    sshd_version,
    unsafe_for_sshd,
)
from tests.support.repo import ROOT

SSHD = "/usr/sbin/sshd"


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "EXPEDITO_DB": "/nonexistent/expedito.sqlite3"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def sshd_accepts(fragment_text: str, tmp_path: Path) -> Path:
    """An ``sshd_config`` (with a host key of its own) that includes ``fragment_text``, checked
    by ``sshd -t`` without a word; its path."""
    fragment = tmp_path / "expedito.conf"
    fragment.write_text(fragment_text)
    host_key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    config = tmp_path / "sshd_config"
    config.write_text(f"HostKey {host_key}\nPidFile none\nInclude {fragment}\n")
    checked = subprocess.run(
        [SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    assert (checked.returncode, checked.stderr) == (0, "")
    return config


def test_the_installed_sshd_accepts_the_fragment(tmp_path: Path) -> None:
    db = tmp_path / "expedito.sqlite3"
    done = run_cli(
        "--db", db, "sshd-config", "--homes", tmp_path / "homes", "--port", "2299",
        "--keys", "command",
    )  # fmt: skip
    assert done.returncode == 0
    # /tmp is writable by everyone: sshd would refuse that chroot, and the command says so
    # (a checkout under /tmp adds the same warning for the AuthorizedKeysCommand)
    warnings = done.stderr.splitlines()
    assert all(line.startswith("expedito: warning: sshd will refuse the ") for line in warnings)
    chroot = f"expedito: warning: sshd will refuse the ChrootDirectory {tmp_path}"
    assert [line for line in warnings if line.startswith(chroot)], warnings
    text = done.stdout
    assert f"ChrootDirectory {tmp_path / 'homes'}/%u" in text
    assert f"--db {db} authorized-keys %u %U" in text
    # the quick start: the module as a script, without site
    keys_line = next(line for line in text.splitlines() if "AuthorizedKeysCommand " in line)
    assert f" -S -I {ROOT / 'tui' / 'keys_cli.py'} --db " in keys_line
    assert "Match Group expedito-sftp" in text
    # global lines before the Match block (sshd takes nothing global after one)
    assert text.index("MaxStartups") < text.index("Match Group")
    assert text.index("Port 2299") < text.index("Match Group")
    config = sshd_accepts(text, tmp_path)
    effective = subprocess.run(
        [SSHD, "-T", "-f", str(config), "-C", "user=nobody,host=h,addr=127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert "port 2299" in effective and "maxstartups 200:30:1000" in effective


def test_by_default_sshd_reads_the_key_files_the_front_keeps(tmp_path: Path) -> None:
    db = tmp_path / "expedito.sqlite3"
    done = run_cli("--db", db, "sshd-config", "--homes", tmp_path / "homes")
    assert done.returncode == 0
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert f"AuthorizedKeysFile {tmp_path / 'expedito-keys'}/%u" in lines  # beside the homes
    assert not [line for line in lines if line.startswith("AuthorizedKeysCommand")]
    assert "sshd will refuse the AuthorizedKeysFile" in done.stderr  # /tmp: not root-only
    given = run_cli(
        "--db", db, "sshd-config", "--homes", tmp_path / "homes", "--keys-dir", "/srv/keys"
    )  # fmt: skip
    assert "    AuthorizedKeysFile /srv/keys/%u\n" in given.stdout
    sshd_accepts(done.stdout, tmp_path)


def test_internal_sftp_gets_only_requests_it_knows() -> None:
    installed = sftp_requests()
    assert installed is not None and "open" in installed
    line = force_command(installed)
    allowed = line.split(" -p ")[1].split()[0].split(",")
    denied = line.split(" -P ")[1].split(",")
    assert set(allowed) <= installed and set(denied) <= installed
    assert not set(allowed) & set(denied)
    for request in ("mkdir", "symlink", "hardlink", "readlink"):
        assert request in denied
    assert "posix-rename" in allowed  # OpenSSH sftp's and rclone's rename
    # an older sshd without some requests: only those it knows are named
    old = frozenset({"open", "close", "read", "write", "stat", "remove", "symlink"})
    assert force_command(old) == (
        "internal-sftp -u 0777 -p open,close,read,write,remove,stat -P symlink"
    )
    assert not set(ALLOWED_REQUESTS) & set(KNOWN_DENIED)


def test_per_source_penalties_only_where_sshd_has_them(tmp_path: Path) -> None:
    common = Fragment(tmp_path, Path("/usr/bin/expedito"), tmp_path / "db")
    assert "\nPerSourcePenalties authfail:" in render(
        Fragment(**{**common.__dict__, "version": (9, 8)})
    )
    older = render(Fragment(**{**common.__dict__, "version": (9, 2)}))
    assert "\nPerSourcePenalties" not in older
    assert "# PerSourcePenalties: needs OpenSSH 9.8 or later (this sshd: 9.2)." in older
    version = sshd_version()
    assert version is not None and version >= (7, 0)


def test_paths_sshd_refuses_are_found(tmp_path: Path) -> None:
    assert unsafe_for_sshd(Path("/usr/sbin/sshd")) is None
    assert unsafe_for_sshd(Path("/srv/not/made/yet")) is None
    assert unsafe_for_sshd(tmp_path / "homes") in (Path("/tmp"), tmp_path, tmp_path.parent)
    safe = tmp_path / "x"
    safe.mkdir(mode=0o755)
    os.chmod(safe, 0o775)
    assert unsafe_for_sshd(safe / "homes") == safe


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    for args in (
        ("sshd-config",),
        ("sshd-config", "--homes", tmp_path, "--port", "99999"),
        ("sshd-config", "--homes", tmp_path, "--command", tmp_path / "nothing"),
    ):
        done = run_cli(*args)
        assert (done.returncode, done.stdout) == (2, "")
        assert len(done.stderr.splitlines()) == 1, done.stderr
