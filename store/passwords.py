"""Slow salted password hashes with scrypt (``hashlib``'s, from OpenSSL: the same derivation
as cryptography's ``Scrypt``, without loading that library at login)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P, LENGTH = 2**14, 8, 1, 32


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) refuses parameters above N=2**14, r=8
    memory = 128 * r * (n + p + 2)
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=min(2 * memory, 2**31 - 1),
        dklen=LENGTH,
    )


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _derive(password, salt, N, R, P)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def unmatchable_hash() -> str:
    """A stored hash in today's format that no password matches (its digest is 32 zero
    bytes): verifying against it costs what verifying a real one costs, without a derivation
    to make it (one at import made the login derive twice, and glibc kept the second's
    16 MiB buffer for the rest of the session)."""
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(bytes(16)).decode()}${b64(bytes(LENGTH)).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)
