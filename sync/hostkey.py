"""The SFTP server's host key: an Ed25519 key made on first start and kept (mode 0600)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from store.db import data_dir

HOST_KEY_NAME = "ssh_host_ed25519_key"


def default_host_key_path() -> Path:
    return data_dir() / HOST_KEY_NAME


def load_or_create_host_key(path: str | os.PathLike[str] | None = None) -> paramiko.PKey:
    """Load the host key at ``path``, creating it first if missing.

    The key is written under a temporary name and linked into place, so two processes
    starting together end up with one key, and nobody reads a half-written file.
    """
    target = Path(path) if path is not None else default_host_key_path()
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption())
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            with contextlib.suppress(FileExistsError):  # another process was quicker
                os.link(temporary, target)
        finally:
            os.unlink(temporary)
    if target.stat().st_mode & 0o077:
        target.chmod(0o600)
    return paramiko.Ed25519Key(filename=str(target))


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint as OpenSSH shows it: ``SHA256:…`` (base64, no padding)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_key_fingerprint(path: str | os.PathLike[str] | None = None) -> str:
    """The fingerprint to show on the overview page (creates the key if needed)."""
    key = load_or_create_host_key(path)
    return f"{key.get_name()} {fingerprint(key)}"
