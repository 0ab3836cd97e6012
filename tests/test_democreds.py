"""The demo SSH key pair and eID-like signature certificate."""

from __future__ import annotations

import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from store.credentials import parse_certificate, parse_ssh_public_key
from store.democreds import DemoCredentials, write_demo_credentials
from store.signing import same_certificate, sign_detached, verify_detached

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def contents(creds: DemoCredentials) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in vars(creds).values()}


def test_demo_files_are_created_with_private_files_0600(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path / "demo", NOW)

    assert sorted(path.name for path in (tmp_path / "demo").iterdir()) == [
        "expedito_demo_citizen_ca.cer",
        "expedito_demo_ed25519",
        "expedito_demo_ed25519.pub",
        "expedito_demo_signature.cer",
        "expedito_demo_signature.key",
        "expedito_demo_signature.pem",
    ]
    assert stat.S_IMODE(creds.ssh_private_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(creds.certificate_key.stat().st_mode) == 0o600


def test_demo_ssh_pair_is_usable_by_openssh(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path, NOW)

    derived = subprocess.run(
        ["/usr/bin/ssh-keygen", "-y", "-f", str(creds.ssh_private_key)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    public = parse_ssh_public_key(creds.ssh_public_key.read_bytes())

    assert public.key_type == "ssh-ed25519"
    assert public.comment == "expedito-demo"
    assert derived[:2] == public.openssh.split()[:2]


def test_demo_certificate_looks_like_an_eid_signature_certificate(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path, NOW)

    info = parse_certificate(creds.certificate_der.read_bytes(), NOW)
    cert = x509.load_der_x509_certificate(info.der)
    ca = x509.load_der_x509_certificate(creds.ca_certificate.read_bytes())
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)

    assert info.owner == "Didier Expéditeur (Signature)"
    assert info.company == "Not specified"
    assert info.issuer == "SERIALNUMBER=200803, CN=Citizen CA, C=BE"
    assert info.serial_hex == "10 00 00 00 00 00 0b 7a 21 df 5c 29"
    assert info.expiry == "14/01/2029"  # from 14/01/2026 (now - 1 day), 3 * 365 days
    assert cert.not_valid_before_utc == NOW - timedelta(days=1)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_encipherment
    cert.verify_directly_issued_by(ca)
    assert parse_certificate(creds.certificate_pem.read_bytes(), NOW).der == info.der


def test_demo_key_signs_batch_files(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path, NOW)
    cert = x509.load_der_x509_certificate(creds.certificate_der.read_bytes())
    key = serialization.load_pem_private_key(creds.certificate_key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048

    signer = verify_detached(sign_detached(b"FI data\n", cert, key), b"FI data\n")

    assert same_certificate(signer, cert)


def test_second_run_keeps_existing_files(tmp_path: Path) -> None:
    first = contents(write_demo_credentials(tmp_path, NOW))

    second = contents(write_demo_credentials(tmp_path, NOW + timedelta(days=30)))

    assert second == first


def test_broken_certificate_set_is_replaced_and_ssh_pair_kept(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path, NOW)
    before = contents(creds)
    creds.certificate_der.write_bytes(b"broken")

    after = contents(write_demo_credentials(tmp_path, NOW))

    assert (
        parse_certificate(creds.certificate_der.read_bytes(), NOW).der
        != before["expedito_demo_signature.cer"]
    )
    assert after["expedito_demo_signature.key"] != before["expedito_demo_signature.key"]
    assert after["expedito_demo_ed25519"] == before["expedito_demo_ed25519"]
    assert after["expedito_demo_ed25519.pub"] == before["expedito_demo_ed25519.pub"]


def test_mismatched_ssh_pair_is_replaced(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path, NOW)
    other = write_demo_credentials(tmp_path / "other", NOW)
    creds.ssh_public_key.write_bytes(other.ssh_public_key.read_bytes())

    write_demo_credentials(tmp_path, NOW)

    derived = subprocess.run(
        ["/usr/bin/ssh-keygen", "-y", "-f", str(creds.ssh_private_key)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert creds.ssh_public_key.read_text().split()[:2] == derived[:2]
    assert creds.ssh_public_key.read_bytes() != other.ssh_public_key.read_bytes()


def test_expired_demo_certificate_is_renewed(tmp_path: Path) -> None:
    creds = write_demo_credentials(tmp_path, NOW)
    later = NOW + timedelta(days=4 * 365)

    write_demo_credentials(tmp_path, later)

    assert parse_certificate(creds.certificate_der.read_bytes(), later).expiry == (
        (later + timedelta(days=3 * 365)).strftime("%d/%m/%Y")
    )
