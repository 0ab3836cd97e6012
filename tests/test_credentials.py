"""SSH public keys, signing certificates and credential files, as the SFTP channel takes them."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from store.credentials import (
    MAX_CERTIFICATE_BYTES,
    MAX_SSH_KEY_BYTES,
    NOT_SPECIFIED,
    parse_certificate,
    parse_ssh_public_key,
    read_credential_file,
)
from store.democreds import citizen_ca_name, make_test_certificate
from store.errors import ValidationError
from store.signing import key_usage
from tests.support.credentials import ENCRYPTION_ONLY

SSH_KEYGEN = "/usr/bin/ssh-keygen"
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)

PublicKeyHolder = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def openssh_line(key: PublicKeyHolder, comment: str = "") -> str:
    line = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{line} {comment}" if comment else line


def ssh_keygen_fingerprint(path: Path) -> tuple[int, str]:
    """Bits and fingerprint as ``ssh-keygen -lf`` prints them."""
    out = subprocess.run(
        [SSH_KEYGEN, "-lf", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), out[1]


def wire_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def refused(code: str, data: bytes | str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_ssh_public_key(data)
    assert caught.value.code == code, caught.value
    return caught.value


def cert_refused(code: str, data: bytes | str, now: datetime = NOW) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_certificate(data, now)
    assert caught.value.code == code, caught.value
    return caught.value


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --------------------------------------------------------------------------- accepted keys


@pytest.mark.parametrize(
    ("make", "key_type", "bits"),
    [
        (ed25519.Ed25519PrivateKey.generate, "ssh-ed25519", 256),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ecdsa-sha2-nistp256", 256),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "ecdsa-sha2-nistp384", 384),
        (lambda: ec.generate_private_key(ec.SECP521R1()), "ecdsa-sha2-nistp521", 521),
        (lambda: rsa.generate_private_key(65537, 2048), "ssh-rsa", 2048),
        (lambda: rsa.generate_private_key(65537, 4096), "ssh-rsa", 4096),
    ],
    ids=["ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048", "rsa4096"],
)
def test_accepted_key_matches_ssh_keygen(
    tmp_path: Path, make: Callable[[], PublicKeyHolder], key_type: str, bits: int
) -> None:
    key = make()
    line = openssh_line(key, "alice@example")
    path = tmp_path / "id.pub"
    path.write_text(line + "\n")

    parsed = parse_ssh_public_key(path.read_bytes())

    assert (parsed.bits, parsed.fingerprint) == ssh_keygen_fingerprint(path)
    assert parsed.bits == bits
    assert parsed.key_type == key_type
    assert parsed.comment == "alice@example"
    assert parsed.openssh == line
    assert parsed.blob == base64.b64decode(line.split()[1])
    assert parsed.fingerprint == "SHA256:" + base64.b64encode(
        hashlib.sha256(parsed.blob).digest()
    ).decode().rstrip("=")


def test_pasted_key_with_crlf_whitespace_and_no_comment() -> None:
    line = openssh_line(ed25519.Ed25519PrivateKey.generate())

    parsed = parse_ssh_public_key(f"\ufeff  \r\n{line}\r\n\r\n  ")

    assert parsed.openssh == line
    assert parsed.comment == ""


def test_comment_with_spaces_is_kept_and_control_characters_dropped() -> None:
    line = openssh_line(ed25519.Ed25519PrivateKey.generate())

    parsed = parse_ssh_public_key(f"{line} Didier's laptop \x1b[31mred\x07")

    assert parsed.comment == "Didier's laptop [31mred"
    assert parsed.openssh == f"{line} Didier's laptop [31mred"


def test_rfc4716_key_as_ssh_keygen_exports_it(tmp_path: Path) -> None:
    line = openssh_line(ec.generate_private_key(ec.SECP384R1()), "bob")
    path = tmp_path / "id.pub"
    path.write_text(line + "\n")
    exported = subprocess.run(
        [SSH_KEYGEN, "-e", "-f", str(path)], capture_output=True, check=True
    ).stdout
    assert exported.startswith(b"---- BEGIN SSH2 PUBLIC KEY ----")

    parsed = parse_ssh_public_key(exported.replace(b"\n", b"\r\n"))

    assert parsed.fingerprint == ssh_keygen_fingerprint(path)[1]
    assert parsed.openssh.split()[:2] == line.split()[:2]
    assert parsed.key_type == "ecdsa-sha2-nistp384"


# --------------------------------------------------------------------------- refused keys


def test_dsa_key_is_refused() -> None:
    blob = wire_string(b"ssh-dss") + b"".join(wire_string(bytes([1]) * 20) for _ in range(4))
    refused("ssh_key.dsa", "ssh-dss " + base64.b64encode(blob).decode() + " old@box")


def test_short_rsa_key_is_refused_with_its_size() -> None:
    error = refused("ssh_key.rsa_too_short", openssh_line(rsa.generate_private_key(65537, 1024)))
    assert error.params == {"bits": 1024, "minimum": 2048}


def test_unsupported_key_type_is_refused_with_its_name() -> None:
    blob = wire_string(b"sk-ssh-ed25519@openssh.com") + wire_string(b"\x01" * 32)
    blob += wire_string(b"ssh:")
    line = "sk-ssh-ed25519@openssh.com " + base64.b64encode(blob).decode()

    error = refused("ssh_key.unsupported_type", line)

    assert error.params == {"key_type": "sk-ssh-ed25519@openssh.com"}


def test_openssh_private_key_is_refused_as_private() -> None:
    private = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    assert private.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")

    error = refused("ssh_key.private_key", private)

    assert "private key" in str(error)
    assert ".pub" in str(error)


@pytest.mark.parametrize(
    "private_format",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
)
def test_pem_private_key_is_refused_as_private(
    private_format: serialization.PrivateFormat,
) -> None:
    pem = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    )
    assert b"PRIVATE KEY-----" in pem

    error = refused("ssh_key.private_key", pem.decode())

    assert "private key" in str(error)


def test_x509_certificate_given_as_key_is_refused() -> None:
    cert, _ = make_test_certificate()
    pem = cert.public_bytes(serialization.Encoding.PEM)

    assert refused("ssh_key.certificate", pem).params == {"kind": "x509"}
    assert refused("ssh_key.certificate", der(cert)).params == {"kind": "x509"}


def test_pem_public_key_is_refused_as_not_openssh() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    refused("ssh_key.not_openssh", pem)


@pytest.mark.parametrize(
    "garbage",
    [
        "hello world",
        "ssh-ed25519",
        "ssh-ed25519 not*base64!",
        "ssh-ed25519 " + base64.b64encode(wire_string(b"ssh-ed25519") + b"\0\0\0\x20").decode(),
        b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
    ],
)
def test_garbage_is_refused(garbage: str | bytes) -> None:
    refused("ssh_key.garbage", garbage)


def test_declared_type_must_match_the_blob() -> None:
    line = openssh_line(ed25519.Ed25519PrivateKey.generate())
    refused("ssh_key.garbage", line.replace("ssh-ed25519", "ssh-rsa", 1))


@pytest.mark.parametrize(
    ("options", "quoted"),
    [
        ('from="10.0.0.1",no-pty', 'from="10.0.0.1",no-pty'),
        ('command="rrsync -wo /in",restrict', 'command="rrsync -wo /in",restrict'),
        ("restrict", "restrict"),
        ('from="' + ",".join(f"10.0.0.{i}" for i in range(30)) + '"', None),
    ],
    ids=["from-no-pty", "quoted-spaces", "restrict", "long"],
)
def test_authorized_keys_options_are_refused_naming_them(options: str, quoted: str | None) -> None:
    """Refused, not stripped: a key registered here opens the account from anywhere, which
    the ``from=`` (or ``command=``) its owner wrote says is not what was meant."""
    line = openssh_line(ed25519.Ed25519PrivateKey.generate(), "ops@example")
    error = refused("ssh_key.options", f"{options} {line}")
    shown = str(error.params["options"])
    assert shown == quoted if quoted is not None else (len(shown) == 60 and shown.endswith("…"))
    assert error.message.startswith(f"This line starts with authorized_keys options ({shown})")
    parse_ssh_public_key(line)  # the same key alone is accepted


def test_two_keys_are_refused() -> None:
    first = openssh_line(ed25519.Ed25519PrivateKey.generate())
    second = openssh_line(ed25519.Ed25519PrivateKey.generate())
    refused("ssh_key.multiple_lines", f"{first}\n{second}\n")


@pytest.mark.parametrize("empty", ["", b"", "  \r\n\t ", b"\n"])
def test_empty_key_is_refused(empty: str | bytes) -> None:
    refused("ssh_key.empty", empty)


def test_oversized_key_is_refused() -> None:
    error = refused("ssh_key.too_large", b"ssh-ed25519 " + b"A" * MAX_SSH_KEY_BYTES)
    assert error.params == {"limit": 16 * 1024}


# --------------------------------------------------------------------------- certificates


def test_eid_like_certificate_displays_every_field() -> None:
    ca, ca_key = make_test_certificate(subject=citizen_ca_name())
    cert, _ = make_test_certificate(
        issuer=ca.subject,
        issuer_key=ca_key,
        serial=0x1000000000000B7A21DF5C29,
        not_before=datetime(2024, 3, 1, tzinfo=UTC),
        not_after=datetime(2034, 2, 28, 23, 59, 59, tzinfo=UTC),
    )

    info = parse_certificate(der(cert), NOW)

    assert info.owner == "Didier Expéditeur (Signature)"
    assert info.company == "Not specified" == NOT_SPECIFIED
    assert info.issuer == "SERIALNUMBER=200803, CN=Citizen CA, C=BE"
    assert info.expiry == "28/02/2034"
    assert info.not_after == datetime(2034, 2, 28, 23, 59, 59, tzinfo=UTC)
    # 0x10 * 256**11 + 0x0b7a21df5c29 = 4951760157141521099596496896 + 12618613251113
    assert info.serial_decimal == "4951760157141533718778698793"
    assert info.serial_hex == "10 00 00 00 00 00 0b 7a 21 df 5c 29"
    assert info.fingerprint_sha256 == hashlib.sha256(der(cert)).hexdigest()
    assert info.der == der(cert)


def test_company_comes_from_subject_organisation() -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Secrétariat Social Exemple"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Batch signer"),
        ]
    )
    cert, _ = make_test_certificate(subject=subject, serial=255)

    info = parse_certificate(der(cert), datetime.now(UTC))

    assert (info.owner, info.company) == ("Batch signer", "Secrétariat Social Exemple")
    assert info.issuer == "CN=Batch signer, O=Secrétariat Social Exemple, C=BE"
    assert (info.serial_decimal, info.serial_hex) == ("255", "ff")


def test_pem_with_surrounding_text_and_crlf_is_accepted() -> None:
    cert, _ = make_test_certificate(not_before=NOW - timedelta(days=1))
    pem = cert.public_bytes(serialization.Encoding.PEM).replace(b"\n", b"\r\n")

    info = parse_certificate(b"Bag Attributes\r\n    friendlyName: me\r\n" + pem + b"tail", NOW)

    assert info.der == der(cert)
    assert parse_certificate(pem.decode(), NOW).der == der(cert)


def test_pem_body_without_armour_is_accepted() -> None:
    cert, _ = make_test_certificate(not_before=NOW - timedelta(days=1))
    assert parse_certificate(base64.encodebytes(der(cert)), NOW).der == der(cert)


def test_expired_certificate_is_refused_with_its_date() -> None:
    cert, _ = make_test_certificate(
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2025, 6, 14, 12, 0, tzinfo=UTC),
    )
    error = cert_refused("certificate.expired", der(cert))
    assert error.params == {"expiry": "14/06/2025"}


def test_not_yet_valid_certificate_is_refused() -> None:
    cert, _ = make_test_certificate(not_before=datetime(2025, 7, 1, tzinfo=UTC))
    error = cert_refused("certificate.not_yet_valid", der(cert))
    assert error.params == {"valid_from": "01/07/2025"}


def test_encryption_only_certificate_is_refused() -> None:
    cert, _ = make_test_certificate(key_usage=ENCRYPTION_ONLY, not_before=NOW - timedelta(days=1))
    cert_refused("certificate.cannot_sign", der(cert))


def test_non_repudiation_alone_or_no_key_usage_can_sign() -> None:
    only_nr = key_usage("content_commitment")
    for usage in (only_nr, None):
        cert, _ = make_test_certificate(key_usage=usage, not_before=NOW - timedelta(days=1))
        assert parse_certificate(der(cert), NOW).der == der(cert)


def test_truncated_der_is_refused() -> None:
    cert, _ = make_test_certificate()
    cert_refused("certificate.garbage", der(cert)[:-40])


@pytest.mark.parametrize("garbage", [b"\x30\x03\x02\x01", "not a certificate", b"\x00\xff" * 50])
def test_garbage_certificate_is_refused(garbage: bytes | str) -> None:
    cert_refused("certificate.garbage", garbage)


def test_private_key_given_as_certificate_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    none = serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, none)
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, none)

    error = cert_refused("certificate.private_key", pem)

    assert "private key" in str(error)
    cert_refused("certificate.private_key", der_key)


def test_certificate_and_its_key_in_one_pem_is_refused() -> None:
    cert, key = make_test_certificate()
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    cert_refused("certificate.private_key", pem)


def test_ssh_key_given_as_certificate_is_refused() -> None:
    cert_refused("certificate.ssh_key", openssh_line(ed25519.Ed25519PrivateKey.generate()))


def test_other_pem_is_refused_with_its_label() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert cert_refused("certificate.unsupported_pem", pem).params == {"label": "PUBLIC KEY"}


@pytest.mark.parametrize("empty", [b"", "   \r\n"])
def test_empty_certificate_is_refused(empty: bytes | str) -> None:
    cert_refused("certificate.empty", empty)


def test_oversized_certificate_is_refused() -> None:
    cert, _ = make_test_certificate()
    data = cert.public_bytes(serialization.Encoding.PEM) + b" " * MAX_CERTIFICATE_BYTES
    assert cert_refused("certificate.too_large", data).params == {"limit": 64 * 1024}


def test_fingerprint_matches_cryptography() -> None:
    cert, _ = make_test_certificate(not_before=NOW - timedelta(days=1))
    info = parse_certificate(der(cert), NOW)
    assert bytes.fromhex(info.fingerprint_sha256) == cert.fingerprint(hashes.SHA256())


# --------------------------------------------------------------------------- files


def file_refused(code: str, path: Path, limit: int = MAX_CERTIFICATE_BYTES) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        read_credential_file(path, limit)
    assert caught.value.code == code, caught.value
    assert caught.value.params["path"] == str(path)
    return caught.value


def test_read_credential_file_returns_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "key.pub"
    path.write_bytes(b"x" * 100)
    assert read_credential_file(path, limit=100) == b"x" * 100
    assert read_credential_file(str(path)) == b"x" * 100


def test_read_missing_file(tmp_path: Path) -> None:
    file_refused("file.not_found", tmp_path / "nope.cer")


def test_read_directory(tmp_path: Path) -> None:
    file_refused("file.is_directory", tmp_path)


def test_read_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    file_refused("file.not_regular", fifo)


def test_read_unreadable_path(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"x")
    file_refused("file.unreadable", tmp_path / "plain" / "child.cer")


def test_read_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.cer"
    path.write_bytes(b"x" * 101)
    assert file_refused("file.too_large", path, limit=100).params["limit"] == 100


# --------------------------------------------------------------------------- layering


def test_credential_modules_import_without_textual() -> None:
    code = (
        "import sys, store.credentials, store.signing, store.democreds, store.der\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'screens'))\n"
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.strip() == "[]"
