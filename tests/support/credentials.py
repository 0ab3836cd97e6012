"""Keys and certificates a test makes for itself (the demo ones come from the
``demo_credentials`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from store.democreds import DEMO_SERIAL, DemoCredentials, citizen_ca_name, make_test_certificate
from store.signing import SigningKey, key_usage
from sync.intake.prepare import load_certificate, load_private_key

ENCRYPTION_ONLY = key_usage("key_encipherment")
"""The key usage of a certificate that cannot sign: refused for files and for the portal."""


def new_ssh_key(directory: Path, name: str = "other_ed25519") -> tuple[Path, str]:
    """A fresh ed25519 key pair: the private key file (0600) and the public key line."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = directory / name
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    private.chmod(0o600)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    (directory / f"{name}.pub").write_text(public + "\n")
    return private, public


def fixed_certificate(
    directory: Path,
    name: str = "signature.cer",
    not_after: datetime = datetime(2040, 3, 26, 12, 0, tzinfo=UTC),
) -> Path:
    """A signature certificate with fixed serial and dates (DER), issued by "Citizen CA"."""
    cert, _ = make_test_certificate(
        issuer=citizen_ca_name(),
        serial=DEMO_SERIAL,
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=not_after,
    )
    path = directory / name
    path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return path


def signing_pair(creds: DemoCredentials) -> tuple[x509.Certificate, SigningKey]:
    """The demo signature certificate and its private key, to sign sets with."""
    return load_certificate(creds.certificate_der), load_private_key(creds.certificate_key)
