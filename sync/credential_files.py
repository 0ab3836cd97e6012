"""A certificate or a private key read from a file someone names (DER or PEM): the partner's
for ``expedito prepare``, the service's for ``expedito send``, the operator's for the service's
own signer. Each failure is one line naming the file, raised as the caller's own error.

And the files of the keys and certificates the service makes for itself on first start (host
keys, its signer), written once whoever starts at the same time (:func:`publish_once`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from store.signing import SigningKey

Error = Callable[[str], Exception]
"""The caller's error class, given the line to say."""


def read_certificate(path: Path, error: Error) -> x509.Certificate:
    data = _read(path, error)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise error(f"{path}: not a certificate (DER or PEM)") from None


def read_private_key(path: Path, error: Error) -> SigningKey:
    """An unencrypted RSA or EC key: the kinds that sign a set or an acknowledgement."""
    data = _read(path, error)
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, None)
        else:
            key = serialization.load_der_private_key(data, None)
    except TypeError:
        raise error(f"{path}: the key is encrypted; decrypt it first") from None
    except ValueError:
        raise error(f"{path}: not a private key (PEM or DER)") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise error(f"{path}: an RSA or EC key is needed to sign")
    return key


def _read(path: Path, error: Error) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from None


def publish_once(target: Path, data: bytes, mode: int) -> None:
    """``data`` as ``target`` (mode ``mode``), unless another process was quicker: written
    under a temporary name and linked into place, so that two processes starting together
    end up with one file, and nobody reads a half-written one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with contextlib.suppress(FileExistsError):  # another process was quicker
            os.link(temporary, target)
    finally:
        os.unlink(temporary)
