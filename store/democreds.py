"""Demo credentials: an SSH key pair and an eID-like signature certificate with its key.

``write_demo_credentials`` gives a demo (or a first-time user) files to load in the wizard and
to sign batch files with. ``make_test_certificate`` builds certificates with chosen fields for
tests and for the demo's small "Citizen CA".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from store.credentials import parse_certificate, parse_ssh_public_key
from store.errors import ValidationError
from store.signing import SIGNATURE_KEY_USAGE, SigningKey, key_usage

DEMO_SERIAL = 0x1000000000000B7A21DF5C29
SSH_KEY_NAME = "expedito_demo_ed25519"
CERTIFICATE_NAME = "expedito_demo_signature"
CA_NAME = "expedito_demo_citizen_ca"

CA_KEY_USAGE = key_usage("key_cert_sign", "crl_sign")


def citizen_ca_name() -> x509.Name:
    """C=BE, CN=Citizen CA, SERIALNUMBER=200803 in ASN.1 order (displayed the other way)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Citizen CA"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "200803"),
        ]
    )


def signature_subject_name(
    given_name: str = "Didier", surname: str = "Expéditeur", national_number: str = "71715100070"
) -> x509.Name:
    """An eID signature certificate's subject: C, CN "<names> (Signature)", SN, GN, serial."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname} (Signature)"),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, national_number),
        ]
    )


def make_test_certificate(
    *,
    subject: x509.Name | None = None,
    issuer: x509.Name | None = None,
    issuer_key: SigningKey | None = None,
    key: SigningKey | None = None,
    serial: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_usage: x509.KeyUsage | None = SIGNATURE_KEY_USAGE,
    ca: bool = False,
) -> tuple[x509.Certificate, SigningKey]:
    """A certificate and its private key with the fields asked for.

    Defaults: an eID-like signature subject, self-signed, a new EC P-256 key, a random serial,
    valid from a day ago for three years, KeyUsage digitalSignature + nonRepudiation
    (``key_usage=None`` leaves the extension out). Give ``issuer`` and ``issuer_key`` to have
    it signed by a CA.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = subject or signature_subject_name()
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(public)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    return builder.sign(issuer_key or key, hashes.SHA256()), key


def make_citizen_ca(now: datetime | None = None) -> tuple[x509.Certificate, SigningKey]:
    """A small self-signed stand-in for the Belgian "Citizen CA"."""
    start = (now or datetime.now(UTC)) - timedelta(days=30)
    return make_test_certificate(
        subject=citizen_ca_name(),
        key=ec.generate_private_key(ec.SECP384R1()),
        not_before=start,
        not_after=start + timedelta(days=10 * 365),
        key_usage=CA_KEY_USAGE,
        ca=True,
    )


@dataclass(frozen=True)
class DemoCredentials:
    """Where the demo credentials are."""

    ssh_private_key: Path
    ssh_public_key: Path
    certificate_der: Path
    certificate_pem: Path
    certificate_key: Path
    ca_certificate: Path


def write_demo_credentials(
    directory: Path, now: datetime | None = None, valid_from: datetime | None = None
) -> DemoCredentials:
    """Create the demo credentials in ``directory``, keeping those already there and valid
    (at ``now`` and, if given, already at ``valid_from``: tests whose clock is frozen in the
    past use the same files as those on the real clock)."""
    moment = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    creds = DemoCredentials(
        ssh_private_key=directory / SSH_KEY_NAME,
        ssh_public_key=directory / f"{SSH_KEY_NAME}.pub",
        certificate_der=directory / f"{CERTIFICATE_NAME}.cer",
        certificate_pem=directory / f"{CERTIFICATE_NAME}.pem",
        certificate_key=directory / f"{CERTIFICATE_NAME}.key",
        ca_certificate=directory / f"{CA_NAME}.cer",
    )
    if not _ssh_pair_valid(creds):
        _write_ssh_pair(creds)
    start = min(valid_from, moment - timedelta(days=1)) if valid_from else None
    if not (
        _certificate_valid(creds, moment) and (start is None or _certificate_valid(creds, start))
    ):
        _write_certificate(creds, moment, start)
    return creds


def _write_ssh_pair(creds: DemoCredentials) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    _write(creds.ssh_private_key, private, private=True)
    _write(creds.ssh_public_key, public + b" expedito-demo\n")


def _write_certificate(
    creds: DemoCredentials, now: datetime, start: datetime | None = None
) -> None:
    start = start or now - timedelta(days=1)
    ca, ca_key = make_citizen_ca(start)
    cert, key = make_test_certificate(
        issuer=ca.subject,
        issuer_key=ca_key,
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        serial=DEMO_SERIAL,
        not_before=start,
        not_after=now + timedelta(days=3 * 365),
    )
    pem = serialization.Encoding.PEM
    _write(creds.ca_certificate, ca.public_bytes(serialization.Encoding.DER))
    _write(creds.certificate_der, cert.public_bytes(serialization.Encoding.DER))
    _write(creds.certificate_pem, cert.public_bytes(pem))
    _write(
        creds.certificate_key,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        private=True,
    )


def _ssh_pair_valid(creds: DemoCredentials) -> bool:
    try:
        key = serialization.load_ssh_private_key(creds.ssh_private_key.read_bytes(), None)
        public = parse_ssh_public_key(creds.ssh_public_key.read_bytes())
    except (OSError, ValueError, TypeError, ValidationError):
        return False
    mine = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return public.openssh.split()[:2] == mine.decode("ascii").split()


def _certificate_valid(creds: DemoCredentials, now: datetime) -> bool:
    try:
        info = parse_certificate(creds.certificate_der.read_bytes(), now)
        pem = parse_certificate(creds.certificate_pem.read_bytes(), now)
        key = serialization.load_pem_private_key(creds.certificate_key.read_bytes(), None)
        ca = x509.load_der_x509_certificate(creds.ca_certificate.read_bytes())
        cert = x509.load_der_x509_certificate(info.der)
    except (OSError, ValueError, TypeError, ValidationError):
        return False
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return (
        pem.der == info.der
        and cert.issuer == ca.subject
        and key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Write atomically; a private file is created with mode 0600 from the start."""
    temporary = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(temporary, flags, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if private:
            os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
