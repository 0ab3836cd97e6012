"""``expedito batch prepare`` run as a command; what it writes is then accepted by the intake."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from peewee import SqliteDatabase

from store.clock import local_now
from store.democreds import DemoCredentials
from sync.intake.service import Intake
from tests.support.intake import make_home
from tests.support.registration import provisioned_account
from tests.support.repo import ROOT


def prepare(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXPEDITO_DB": str(tmp_path / "no-such.sqlite3")}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "batch", "prepare", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "dmfa.xml"
    path.write_bytes(b"<DmfA>\r\n" + b"  <Worker/>\r\n" * 2000 + b"</DmfA>\r\n")
    return path


def upload(written: list[Path], home: Path, folder: str) -> Path:
    """Copy the set into the home as an SFTP upload would, the GO last; return the GO."""
    for path in written:
        shutil.copy(path, home / folder / path.name)
    assert written[-1].name.startswith("GO.")
    return home / folder / written[-1].name


def test_prepared_set_is_accepted_and_the_next_sequence_follows(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path, data_file: Path
) -> None:
    account = provisioned_account(demo_credentials)
    home = make_home(tmp_path / "homes")
    out = tmp_path / "out"
    db = tmp_path / "expedito.sqlite3"
    common = (
        data_file,
        "--purpose",
        "DMFA",
        "--env",
        "T",
        "--key",
        demo_credentials.certificate_key,
        "--cert",
        demo_credentials.certificate_pem,
        "--out",
        out,
    )
    run = prepare(tmp_path, *common, "--db", db)
    assert run.returncode == 0, run.stderr
    written = [Path(line) for line in run.stdout.split()]
    today = f"{local_now():%Y%m%d}"
    stem = f"DMFA.{account.sender_number}.{today}.00001.T"
    assert [p.name for p in written] == [f"FI.{stem}.1.1", f"FS.{stem}.1.1", f"GO.{stem}.1"]
    assert "INTEST" in run.stderr
    result = Intake(tmp_path / "homes").process_go(account, upload(written, home, "INTEST"))
    assert result is not None and result.accepted, result and result.error_codes
    assert result.batch.ack_name is not None
    assert (home / "OUTTEST" / result.batch.ack_name).is_file()

    shutil.rmtree(out)  # the database alone knows 00001 is taken now
    again = prepare(tmp_path, *common, "--db", db)
    assert again.returncode == 0, again.stderr
    assert f"FI.DMFA.{account.sender_number}.{today}.00002.T.1.1" in again.stdout
    third = prepare(tmp_path, *common, "--db", db)  # and the output folder knows 00002
    assert ".00003.T.1.1" in third.stdout


def test_simulation_set_in_parts_without_signature(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path, data_file: Path
) -> None:
    account = provisioned_account(demo_credentials)
    home = make_home(tmp_path / "homes")
    run = prepare(
        tmp_path,
        data_file,
        "--purpose",
        "dimn",
        "--env",
        "S",
        "--parts",
        "3",
        "--db",
        tmp_path / "expedito.sqlite3",
        "--out",
        tmp_path / "out",
    )
    assert run.returncode == 0, run.stderr
    written = [Path(line) for line in run.stdout.split()]
    assert [p.name.split(".")[0] for p in written] == ["FI", "FI", "FI", "GO"]
    assert b"".join(p.read_bytes() for p in written[:3]) == data_file.read_bytes()
    result = Intake(tmp_path / "homes").process_go(account, upload(written, home, "INTEST-S"))
    assert result is not None and result.accepted, result and result.error_codes


def test_without_database_the_sender_is_needed(
    demo_credentials: DemoCredentials, tmp_path: Path, data_file: Path
) -> None:
    keys = ("--key", demo_credentials.certificate_key, "--cert", demo_credentials.certificate_der)
    run = prepare(tmp_path, data_file, "--purpose", "DMFA", "--env", "R", *keys, "--out", tmp_path)
    assert run.returncode == 2 and "--sender is needed" in run.stderr
    run = prepare(
        tmp_path,
        data_file,
        "--purpose",
        "DMFA",
        "--env",
        "R",
        *keys,
        "--out",
        tmp_path,
        "--sender",
        "123456",
        "--seq",
        "42",
        "--date",
        "20260115",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1].endswith("GO.DMFA.123456.20260115.00042.R.1")


def test_refusals(demo_credentials: DemoCredentials, tmp_path: Path, data_file: Path) -> None:
    base = (data_file, "--purpose", "DMFA", "--sender", "123456", "--out", tmp_path)
    unsigned = prepare(tmp_path, *base, "--env", "T")
    assert unsigned.returncode == 2 and "--key and --cert" in unsigned.stderr
    other_key = tmp_path / "other.key"
    other_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    mismatch = prepare(
        tmp_path,
        *base,
        "--env",
        "T",
        "--cert",
        demo_credentials.certificate_der,
        "--key",
        other_key,
    )
    assert mismatch.returncode == 2 and "not the private key" in mismatch.stderr
    ssh_key = prepare(
        tmp_path,
        *base,
        "--env",
        "T",
        "--cert",
        demo_credentials.certificate_der,
        "--key",
        demo_credentials.ssh_private_key,
    )
    assert ssh_key.returncode == 2 and "not a private key" in ssh_key.stderr
    purpose = prepare(
        tmp_path, data_file, "--purpose", "DM", "--env", "S", "--sender", "1", "--out", tmp_path
    )
    assert purpose.returncode == 2 and "--purpose" in purpose.stderr
