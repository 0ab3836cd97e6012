"""``expedito batch send`` end to end: the command in a subprocess, the back-office services
(SFTP server, intake) on a real SQLite file: an accepted set, a rejected one with its
ErrorIDs explained in the user's language, a server that does not answer in time, a wrong
host key; ``expedito batch show`` on the ACRF kept."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from peewee import SqliteDatabase

from store.batches import sender_batch_sets
from store.democreds import DemoCredentials
from sync.hostkey import fingerprint
from tests.service_support import USER, Provisioned, provisioned_services

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def running(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[Provisioned]:
    yield from provisioned_services(demo_credentials, tmp_path)


def known_hosts(running: Provisioned, keys: tuple[paramiko.PKey, ...] | None = None) -> Path:
    path = running.work / "known_hosts"
    keys = keys if keys is not None else running.services.host_keys
    path.write_text(
        "".join(f"[127.0.0.1]:{running.port} {key.get_name()} {key.get_base64()}\n" for key in keys)
    )
    return path


def send(
    running: Provisioned, *extra: str, purpose: str = "DMFA", hosts: Path | None = None
) -> subprocess.CompletedProcess[str]:
    data = running.work / "dmfa.xml"
    data.write_bytes(b"<DmfA>\n" + b"  <Worker/>\n" * 200 + b"</DmfA>\n")
    home = running.work / "user-home"
    home.mkdir(exist_ok=True)
    creds = running.creds
    command = [
        sys.executable,
        "-m",
        "tui.cli",
        "--db",
        str(running.db_path),
        "batch",
        "send",
        str(data),
        "--purpose",
        purpose,
        "--env",
        "T",
        "--host",
        "127.0.0.1",
        "--port",
        str(running.port),
        "--user",
        USER,
        "--identity",
        str(creds.ssh_private_key),
        "--key",
        str(creds.certificate_key),
        "--cert",
        str(creds.certificate_pem),
        "--out",
        str(running.work / "outbox"),
        "--known-hosts",
        str(hosts or known_hosts(running)),
        *extra,
    ]
    env = {**os.environ, "HOME": str(home), "LANG": "fr_BE.UTF-8"}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_an_accepted_set(running: Provisioned) -> None:
    result = send(running)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Envoyé : GO.DMFA.") and "dans INTEST" in lines[0]
    assert lines[1].startswith("Accepté : GO.DMFA.") and "ticket 0000000000" in lines[1]
    assert "signature du service vérifiée" in result.stdout
    (batch,) = sender_batch_sets(running.sender_id)
    assert batch.status == "accepted" and batch.ack_name is not None
    outbox = running.work / "outbox"
    kept = sorted(p.name.split(".")[0] for p in outbox.iterdir() if "ACRF" in p.name)
    assert kept == ["FO", "FS", "GO"]
    # batch show reads the kept ACRF and checks its signature again
    show = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--db",
            str(running.db_path),
            "batch",
            "show",
            str(outbox / batch.ack_name),
            "--lang",
            "en",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(running.work / "user-home")},
    )
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith(f"Accepted: {batch.go_name}, ticket {batch.ticket}")
    assert "the service's signature verified" in show.stdout
    # the next send takes the next sequence (the outbox remembers the names)
    # (and --progress draws Rich's bar, here on a pipe: its last state)
    again = send(running, "--lang", "en", "--progress")
    assert again.returncode == 0, again.stderr
    assert ".00002.T" in again.stdout and "Accepted" in again.stdout
    assert "GO.DMFA." in again.stderr and "━" in again.stderr


def test_a_rejected_set_explains_each_error(running: Provisioned) -> None:
    result = send(running, "--lang", "nl", purpose="DUCN")  # not secured on the channel
    assert result.returncode == 1, result.stderr
    assert "Geweigerd: GO.DUCN." in result.stdout
    assert "  ACRF-154  De toepassing is niet beveiligd op dit kanaal" in result.stdout
    (batch,) = sender_batch_sets(running.sender_id)
    assert batch.status == "rejected" and batch.error_codes == ("ACRF-154",)


def test_a_server_that_does_not_answer_in_time(running: Provisioned) -> None:
    running.services.intake.stop()  # nobody answers
    result = send(running, "--timeout", "2")
    assert result.returncode == 2
    assert "no acknowledgement for GO.DMFA." in result.stderr and "in time" in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.split(".")[0] for p in sorted(os.listdir(running.home / "INTEST"))] == [
        "FI",
        "FS",
        "GO",
    ]  # it was sent all the same


def test_a_wrong_host_key_sends_nothing(running: Provisioned) -> None:
    stranger = running.work / "stranger"
    stranger.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
        )
    )
    hosts = known_hosts(running, (paramiko.Ed25519Key(filename=str(stranger)),))
    result = send(running, hosts=hosts)
    assert result.returncode == 2
    assert "WRONG HOST KEY" in result.stderr and "nothing was sent" in result.stderr
    assert not (running.home / "INTEST").exists() or os.listdir(running.home / "INTEST") == []
    assert sender_batch_sets(running.sender_id) == []
    # a host missing from known_hosts is refused too, with what to do
    empty = running.work / "empty_known_hosts"
    empty.write_text("")
    missing = send(running, hosts=empty)
    assert missing.returncode == 2 and "is not in" in missing.stderr
    # the fingerprint 'serve' prints is enough instead
    ed = next(k for k in running.services.host_keys if k.get_name() == "ssh-ed25519")
    wrong = send(running, "--host-key-fingerprint", "SHA256:" + "A" * 43, hosts=empty)
    assert wrong.returncode == 2 and "WRONG HOST KEY" in wrong.stderr
    right = send(running, "--host-key-fingerprint", fingerprint(ed), "--no-wait", hosts=empty)
    assert right.returncode == 0, right.stderr
    assert right.stdout.startswith("Envoyé : GO.DMFA.")


def test_bad_input_is_one_line(running: Provisioned, tmp_path: Path) -> None:
    result = send(running, "--identity", str(tmp_path / "nokey"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--identity" in result.stderr
