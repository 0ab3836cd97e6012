"""Memory stays bounded by the file size limits, not by the files: ``batch prepare`` of a
300 MB input and the intake's check of the 300 MB FI it wrote each stay far below the file's
size (peak resident memory of the process, measured by the kernel)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from store.democreds import DemoCredentials
from tests.support.repo import ROOT

pytestmark = pytest.mark.slow

SIZE = 300 * 1024 * 1024
LIMIT_KB = 150 * 1024  # the interpreter with cryptography and peewee is about 50 MB

PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(done.stderr)
sys.stdout.write(done.stdout)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

VERIFY = """
import sys
from pathlib import Path
from cryptography import x509
from sync.intake.checks import check_signature
cert = x509.load_pem_x509_certificate(Path(sys.argv[3]).read_bytes())
print(check_signature(Path(sys.argv[1]), Path(sys.argv[2]), cert))
"""


def peak(*command: str | Path) -> tuple[int, int]:
    """Run ``command`` in a fresh parent; its exit status and peak RSS in KB."""
    run = subprocess.run(
        [sys.executable, "-c", PEAK, *map(str, command)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    code, kilobytes = run.stdout.split()[-2:]
    assert int(code) == 0, run.stderr
    return int(code), int(kilobytes)


def test_a_300_mb_set_is_prepared_and_verified_in_bounded_memory(
    tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    data = tmp_path / "big.xml"
    with data.open("wb") as handle:
        block = os.urandom(1 << 20)
        for _ in range(SIZE >> 20):
            handle.write(block)
    out = tmp_path / "out"
    _, prepared = peak(
        sys.executable,
        "-m",
        "tui.cli",
        "batch",
        "prepare",
        data,
        "--purpose",
        "DMFA",
        "--env",
        "T",
        "--sender",
        "100001",
        "--key",
        demo_credentials.certificate_key,
        "--cert",
        demo_credentials.certificate_pem,
        "--out",
        out,
    )
    assert prepared < LIMIT_KB, f"batch prepare peaked at {prepared // 1024} MB"
    (fi,) = out.glob("FI.*")
    (fs,) = out.glob("FS.*")
    assert fi.stat().st_size == SIZE
    data.unlink()
    verify = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK,
            sys.executable,
            "-c",
            VERIFY,
            fs,
            fi,
            demo_credentials.certificate_pem,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    *said, last = verify.stdout.strip().split("\n")
    assert said == ["None"], verify  # verified: no error identifier
    code, kilobytes = last.split()
    assert code == "0" and int(kilobytes) < LIMIT_KB, f"verification peaked at {kilobytes} KB"
