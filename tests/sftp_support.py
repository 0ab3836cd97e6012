"""Running the real OpenSSH ``sftp`` client against the server under test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SFTP = shutil.which("sftp") or "/usr/bin/sftp"


def sftp_command(port: int, key: Path, user: str) -> list[str]:
    return [SFTP, "-b", "-", "-i", str(key), "-P", str(port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=10", f"{user}@127.0.0.1"]


def sftp(port: int, key: Path, user: str, commands: str, cwd: Path | None = None,
         timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``commands`` (one a line; a leading ``-`` lets batch mode go on after a failure)."""
    return subprocess.run(sftp_command(port, key, user), input=commands, capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)
