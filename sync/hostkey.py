"""The SFTP server's host keys: Ed25519 and RSA (3072 bits), made on first start and kept
(mode 0600) side by side, e.g. ``ssh_host_ed25519_key`` and ``ssh_host_rsa_key``.

Ed25519 is the key every current client picks; the RSA key (signed with rsa-sha2-256/512
only, see :mod:`sync.sftp_algorithms`) is for clients without Ed25519 host keys.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from store.db import data_dir
from sync.credential_files import publish_once

HOST_KEY_NAME = "ssh_host_ed25519_key"
RSA_BITS = 3072  # what ssh-keygen makes by default


def default_host_key_path() -> Path:
    return data_dir() / HOST_KEY_NAME


def rsa_key_path(path: str | os.PathLike[str]) -> Path:
    """Where the RSA key lives beside the Ed25519 key at ``path``: ``ssh_host_rsa_key`` next
    to ``ssh_host_ed25519_key``, else ``NAME_rsa``."""
    target = Path(path)
    if "ed25519" in target.name:
        return target.with_name(target.name.replace("ed25519", "rsa"))
    return target.with_name(f"{target.name}_rsa")


def _ed25519_pem() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def _rsa_pem() -> bytes:
    return rsa.generate_private_key(65537, RSA_BITS).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def _ensure(target: Path, make: Callable[[], bytes]) -> None:
    """Write a new key at ``target`` unless there is one (two processes starting together
    end up with one key: ``publish_once``)."""
    if not target.exists():
        publish_once(target, make(), 0o600)
    if target.stat().st_mode & 0o077:
        target.chmod(0o600)


def load_or_create_host_key(path: str | os.PathLike[str] | None = None) -> paramiko.PKey:
    """The Ed25519 host key at ``path``, created first if missing."""
    target = Path(path) if path is not None else default_host_key_path()
    _ensure(target, _ed25519_pem)
    return paramiko.Ed25519Key(filename=str(target))


def load_or_create_host_keys(
    path: str | os.PathLike[str] | None = None,
) -> tuple[paramiko.PKey, ...]:
    """The Ed25519 key at ``path`` and the RSA key beside it, each created first if missing."""
    ed = load_or_create_host_key(path)
    target = rsa_key_path(path if path is not None else default_host_key_path())
    _ensure(target, _rsa_pem)
    return ed, paramiko.RSAKey(filename=str(target))


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint as OpenSSH shows it: ``SHA256:…`` (base64, no padding)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def describe(key: paramiko.PKey) -> str:
    """``ssh-ed25519 SHA256:…``: the key's type and fingerprint, as printed and shown."""
    return f"{key.get_name()} {fingerprint(key)}"


def host_key_fingerprints(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """``describe`` of each host key already made at ``path`` (Ed25519) and beside it (RSA):
    what the overview shows; creates nothing."""
    found: list[str] = []
    for target, kind in ((Path(path), paramiko.Ed25519Key), (rsa_key_path(path), paramiko.RSAKey)):
        if target.is_file():
            found.append(describe(kind(filename=str(target))))
    return tuple(found)
