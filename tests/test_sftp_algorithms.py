"""What the SFTP server offers in the handshake: AES-GCM and AES-CTR with SHA-2 MACs only, an
Ed25519 and an RSA host key (SHA-2 signatures), a banner without the library's name; and the
exit-status 0 that ends an SFTP session."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paramiko
import pytest

from sync.hostkey import fingerprint
from tests.interop_support import USER, BackOffice, back_office

__all__ = ["back_office"]  # the module's fixture


@contextmanager
def handshake(bo: BackOffice, **options: Any) -> Iterator[paramiko.Transport]:
    """A paramiko client transport after key exchange, with ``options`` (SecurityOptions)."""
    transport = paramiko.Transport(socket.create_connection(("127.0.0.1", bo.port), 10))
    security = transport.get_security_options()
    for name, value in options.items():
        setattr(security, name, value)
    try:
        transport.start_client(timeout=10)
        yield transport
    finally:
        transport.close()


def refused(bo: BackOffice, **options: Any) -> bool:
    try:
        with handshake(bo, **options):
            return False
    except paramiko.SSHException:
        return True


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [
        ("aes128-gcm@openssh.com", "hmac-sha2-256"),
        ("aes256-gcm@openssh.com", "hmac-sha2-256"),
        ("aes128-ctr", "hmac-sha2-256"),
        ("aes256-ctr", "hmac-sha2-512"),
        ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
        ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),
    ],
)
def test_aes_gcm_and_ctr_with_sha2_macs_are_offered(
    back_office: BackOffice, cipher: str, mac: str
) -> None:
    with handshake(back_office, ciphers=(cipher,), digests=(mac,)) as transport:
        transport.auth_publickey(USER, paramiko.Ed25519Key(filename=str(back_office.key)))
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        assert sorted(sftp.listdir("/")) == sorted(
            ["IN", "INTEST", "INTEST-S", "OUT", "OUTTEST", "OUTTEST-S"]
        )
        assert transport.remote_cipher == cipher  # type: ignore[attr-defined]  # not in types-paramiko
        if not cipher.endswith("-gcm@openssh.com"):
            assert transport.remote_mac == mac  # type: ignore[attr-defined]  # not in types-paramiko


@pytest.mark.parametrize(
    "options",
    [
        {"digests": ("hmac-sha1",)},
        {"digests": ("hmac-md5",)},
        {"digests": ("hmac-sha1-96",)},
        {"ciphers": ("aes128-cbc",)},
        {"ciphers": ("3des-cbc",)},
        {"ciphers": ("aes192-ctr",)},
        {"key_types": ("ecdsa-sha2-nistp256",)},
    ],
)
def test_weak_or_unknown_algorithms_are_not_offered(
    back_office: BackOffice, options: dict[str, Any]
) -> None:
    if "digests" in options:  # a MAC is only negotiated with a non-AEAD cipher
        options = {**options, "ciphers": ("aes128-ctr",)}
    assert refused(back_office, **options)


def test_ed25519_and_rsa_host_keys_with_the_fingerprints_shown(back_office: BackOffice) -> None:
    shown = back_office.services.host_key_fingerprints
    assert [line.split()[0] for line in shown] == ["ssh-ed25519", "ssh-rsa"]
    seen = []
    for algorithm in ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"):
        with handshake(back_office, key_types=(algorithm,)) as transport:
            key = transport.get_remote_server_key()
            seen.append(f"{key.get_name()} {fingerprint(key)}")
            assert transport.host_key_type == algorithm
    assert seen == [shown[0], shown[1], shown[1]]


def test_openssh_sees_both_host_keys(back_office: BackOffice) -> None:
    keyscan = shutil.which("ssh-keyscan")
    assert keyscan, "ssh-keyscan (openssh-client) is missing"
    result = subprocess.run(
        [keyscan, "-p", str(back_office.port), "-t", "ed25519,rsa", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    types = sorted(line.split()[1] for line in result.stdout.splitlines() if line.strip())
    assert types == ["ssh-ed25519", "ssh-rsa"], result.stderr


def test_the_banner_does_not_name_the_library(back_office: BackOffice) -> None:
    with socket.create_connection(("127.0.0.1", back_office.port), 10) as sock:
        banner = sock.makefile("rb").readline().decode().strip()
    assert banner == "SSH-2.0-Expedito"
    assert "paramiko" not in banner.lower()


def test_an_sftp_session_ends_with_exit_status_0(back_office: BackOffice) -> None:
    with handshake(back_office) as transport:
        transport.auth_publickey(USER, paramiko.Ed25519Key(filename=str(back_office.key)))
        channel = transport.open_session()
        channel.invoke_subsystem("sftp")
        sftp = paramiko.SFTPClient(channel)
        assert "OUTTEST" in sftp.listdir("/")
        channel.shutdown_write()  # the client's EOF: the subsystem ends normally
        assert channel.status_event.wait(10), "no exit-status"
        assert channel.recv_exit_status() == 0
