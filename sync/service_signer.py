"""The service's own signing certificate: it signs every acknowledgement (``FS.ACRF.…``).

As the social security's back office does, Expedito signs its outgoing files with a
certificate of its own. Made on first start and kept, like the SFTP host key
(``service_signing.key``, mode 0600, and ``service_signing.cer``, DER, next to it), or given
by the operator (``expedito serve --service-cert CERT --service-key KEY``). The certificate
is published in the database (:mod:`store.service_certificate`) so the portal pages of any
process show it and partners can download it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from store.signing import SIGNATURE_KEY_USAGE, SigningKey, sign_detached
from sync.credential_files import publish_once, read_certificate, read_private_key

SERVICE_KEY_NAME = "service_signing.key"
SERVICE_CERT_NAME = "service_signing.cer"
SUBJECT_CN = "Expedito - Messages structures (999999)"
VALIDITY = timedelta(days=3 * 365)


class ServiceSignerError(ValueError):
    """The operator's certificate or key cannot be used; the message says why."""


@dataclass(frozen=True)
class ServiceSigner:
    certificate: x509.Certificate
    key: SigningKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def sign(self, data: bytes) -> bytes:
        """A detached CMS signature of ``data`` (base64, as partners' FS files)."""
        return sign_detached(data, self.certificate, self.key)


def load_or_create_service_signer(
    cert_path: Path, key_path: Path, create: bool = True
) -> ServiceSigner:
    """The signer at ``cert_path``/``key_path``; both are made first when missing and
    ``create`` (the default paths), else :class:`ServiceSignerError`."""
    if create:
        if not key_path.exists():
            made = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            publish_once(
                key_path,
                made.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                0o600,
            )
        if not cert_path.exists():
            made_cert = _self_signed(read_private_key(key_path, ServiceSignerError))
            publish_once(cert_path, made_cert.public_bytes(serialization.Encoding.DER), 0o644)
    certificate = read_certificate(cert_path, ServiceSignerError)
    key = read_private_key(key_path, ServiceSignerError)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != certificate.public_key().public_bytes(der, spki):
        raise ServiceSignerError(f"{key_path} is not the private key of {cert_path}")
    return ServiceSigner(certificate, key)


def _self_signed(key: SigningKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Expedito"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        ]
    )
    now = datetime.now(UTC).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(SIGNATURE_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
