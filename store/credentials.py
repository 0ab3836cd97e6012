"""Parsing of the SFTP channel's credentials: the SSH public key and the signing certificate.

Both parsers take what the user gave (file bytes or pasted text) and either return a frozen
description ready to display and store, or raise :class:`ValidationError` whose ``code``
names the rule that was broken:

``ssh_key.*``
    ``empty``, ``too_large`` (``limit``), ``private_key``, ``certificate`` (``kind``),
    ``not_openssh`` (a PEM public key), ``multiple_lines``, ``dsa``, ``rsa_too_short``
    (``bits``, ``minimum``), ``unsupported_type`` (``key_type``), ``garbage``.
``certificate.*``
    ``empty``, ``too_large`` (``limit``), ``private_key``, ``ssh_key``, ``unsupported_pem``
    (``label``), ``garbage``, ``expired`` (``expiry``), ``not_yet_valid`` (``valid_from``),
    ``cannot_sign``.
``file.*``
    ``not_found``, ``is_directory``, ``not_regular``, ``unreadable``, ``too_large``
    (all with ``path``; ``too_large`` also ``limit``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from store.errors import ValidationError

if TYPE_CHECKING:  # cryptography (a 7 MiB library) loads when a key or certificate is parsed
    from cryptography import x509

MAX_SSH_KEY_BYTES = 16 * 1024
MAX_CERTIFICATE_BYTES = 64 * 1024
MIN_RSA_BITS = 2048
NOT_SPECIFIED = "Not specified"

ACCEPTED_SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*?-----END CERTIFICATE-----"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@cache
def _issuer_names() -> dict[x509.ObjectIdentifier, str]:
    from cryptography.x509.oid import NameOID

    return {
        NameOID.SERIAL_NUMBER: "SERIALNUMBER",
        NameOID.SURNAME: "SURNAME",
        NameOID.GIVEN_NAME: "GIVENNAME",
        NameOID.EMAIL_ADDRESS: "EMAILADDRESS",
        NameOID.TITLE: "T",
    }


# --------------------------------------------------------------------------- SSH public keys


@dataclass(frozen=True)
class SshPublicKey:
    """An accepted SSH public key, in the form OpenSSH writes it."""

    key_type: str
    bits: int
    fingerprint: str
    comment: str
    openssh: str

    @property
    def blob(self) -> bytes:
        """The key's wire-format blob (what the fingerprint is computed over)."""
        return base64.b64decode(self.openssh.split()[1])


def parse_ssh_public_key(data: bytes | str) -> SshPublicKey:
    """Parse an OpenSSH (or RFC 4716) public key; refuse anything else with a clear code."""
    text = _ssh_key_text(data)
    if text.startswith("---- BEGIN SSH2 PUBLIC KEY ----"):
        blob, comment = _rfc4716(text)
        declared = _blob_type(blob)
    else:
        declared, blob, comment = _openssh_line(text)
    return _accept_blob(declared, blob, comment)


def _ssh_key_text(data: bytes | str) -> str:
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_SSH_KEY_BYTES:
        raise ValidationError(
            "ssh_key.too_large",
            f"The SSH public key is larger than {MAX_SSH_KEY_BYTES} bytes.",
            limit=MAX_SSH_KEY_BYTES,
        )
    if not raw.strip():
        raise ValidationError("ssh_key.empty", "No SSH public key was given.")
    if b"PRIVATE KEY" in raw or raw.lstrip().startswith(b"PuTTY-User-Key-File"):
        raise ValidationError(
            "ssh_key.private_key",
            "This is a private key. Never share it: give the public key (the .pub file).",
        )
    if b"-----BEGIN CERTIFICATE-----" in raw or _is_der_certificate(raw):
        raise ValidationError(
            "ssh_key.certificate",
            "This is an X.509 certificate, not an SSH public key (the .pub file).",
            kind="x509",
        )
    if b"-----BEGIN PUBLIC KEY-----" in raw or b"-----BEGIN RSA PUBLIC KEY-----" in raw:
        raise ValidationError(
            "ssh_key.not_openssh",
            "This public key is in PEM format; give it in OpenSSH format (the .pub file).",
        )
    try:
        return raw.decode("utf-8").lstrip("\ufeff").strip()
    except UnicodeDecodeError:
        raise _garbage() from None


def _openssh_line(text: str) -> tuple[str, bytes, str]:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        raise ValidationError(
            "ssh_key.multiple_lines", "Give exactly one SSH public key, on a single line."
        )
    fields = lines[0].split(maxsplit=2)
    declared = fields[0]
    if options := _authorized_keys_options(lines[0]):
        raise ValidationError(
            "ssh_key.options",
            f"This line starts with authorized_keys options ({options}); remove them and give "
            "the key alone (type, key, comment).",
            options=options,
        )
    if declared == "ssh-dss":
        raise _dsa()
    if len(fields) < 2:
        raise _garbage()
    blob = _b64(fields[1])
    if _blob_type(blob) != declared:
        raise _garbage()
    return declared, blob, fields[2] if len(fields) > 2 else ""


_KEY_AFTER_OPTIONS = re.compile(r"\s((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+AAAA[A-Za-z0-9+/]")


def _authorized_keys_options(line: str) -> str:
    """The options before the key on a line copied from an ``authorized_keys`` file
    (``from="10.0.0.1",no-pty ssh-ed25519 AAAA…``), shortened to be quoted; '' when the
    line starts with the key. They are refused, not dropped: a key registered here opens
    the account from anywhere, and an operator who wrote ``from=`` meant otherwise."""
    first = line.split(maxsplit=1)[0] if line.split() else ""
    if first.startswith(("ssh-", "ecdsa-", "sk-")) or first.startswith("---- "):
        return ""
    found = _KEY_AFTER_OPTIONS.search(line)
    if found is None:
        return ""
    options = _CONTROL.sub("", line[: found.start()].strip())
    return options if len(options) <= 60 else options[:59] + "…"


def _rfc4716(text: str) -> tuple[bytes, str]:
    lines = [line.strip() for line in text.splitlines()]
    try:
        end = lines.index("---- END SSH2 PUBLIC KEY ----")
    except ValueError:
        raise _garbage() from None
    body: list[str] = []
    comment = joined = ""
    for line in lines[1:end]:
        joined += line
        if joined.endswith("\\"):  # header continuation
            joined = joined[:-1]
            continue
        if ":" in joined and not body:
            name, _, value = joined.partition(":")
            if name.strip().lower() == "comment":
                comment = value.strip().strip('"')
        elif joined:
            body.append(joined)
        joined = ""
    return _b64("".join(body)), comment


def _accept_blob(declared: str, blob: bytes, comment: str) -> SshPublicKey:
    if declared == "ssh-dss":
        raise _dsa()
    if declared.endswith("-cert-v01@openssh.com"):
        raise ValidationError(
            "ssh_key.certificate",
            "This is an OpenSSH certificate, not a plain SSH public key (the .pub file).",
            kind="openssh",
        )
    if declared not in ACCEPTED_SSH_KEY_TYPES:
        raise ValidationError(
            "ssh_key.unsupported_type",
            f"SSH key type {declared!r} is not accepted; use ssh-ed25519, ecdsa-sha2-nistp256/"
            "384/521 or ssh-rsa of at least 2048 bits.",
            key_type=declared,
        )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    line = declared.encode() + b" " + base64.b64encode(blob)
    try:
        key = serialization.load_ssh_public_key(line)
    except (ValueError, TypeError):
        raise _garbage() from None
    bits = _key_bits(key)
    if isinstance(key, rsa.RSAPublicKey) and bits < MIN_RSA_BITS:
        raise ValidationError(
            "ssh_key.rsa_too_short",
            f"This RSA key has {bits} bits; at least {MIN_RSA_BITS} are required.",
            bits=bits,
            minimum=MIN_RSA_BITS,
        )
    canonical = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    key_type, b64 = canonical.decode("ascii").split()[:2]
    wire = base64.b64decode(b64)
    digest = base64.b64encode(hashlib.sha256(wire).digest()).decode("ascii").rstrip("=")
    comment = _CONTROL.sub("", comment).strip()
    return SshPublicKey(
        key_type=key_type,
        bits=bits,
        fingerprint=f"SHA256:{digest}",
        comment=comment,
        openssh=f"{key_type} {b64} {comment}" if comment else f"{key_type} {b64}",
    )


def _key_bits(key: object) -> int:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 256
    raise _garbage()


def _blob_type(blob: bytes) -> str:
    if len(blob) < 4:
        raise _garbage()
    (length,) = struct.unpack(">I", blob[:4])
    name = blob[4 : 4 + length]
    if length > 64 or len(name) != length or not name.isascii():
        raise _garbage()
    return name.decode("ascii")


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _garbage() from None


def _garbage() -> ValidationError:
    return ValidationError(
        "ssh_key.garbage", "This is not a readable SSH public key in OpenSSH format."
    )


def _dsa() -> ValidationError:
    return ValidationError(
        "ssh_key.dsa", "DSA (ssh-dss) keys are no longer accepted; use ssh-ed25519."
    )


def _is_der_certificate(raw: bytes) -> bool:
    if not raw.startswith(b"\x30"):
        return False
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(raw)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class CertificateInfo:
    """What the portal shows about a signing certificate, plus its DER encoding."""

    owner: str
    company: str
    issuer: str
    not_after: datetime
    expiry: str
    serial_decimal: str
    serial_hex: str
    fingerprint_sha256: str
    der: bytes


def parse_certificate(data: bytes | str, now: datetime | None = None) -> CertificateInfo:
    """Parse a DER or PEM certificate that can sign and is valid at ``now``."""
    cert = load_certificate(_certificate_der(data))
    moment = now or datetime.now(UTC)
    try:
        info = describe_certificate(cert)
        not_before = cert.not_valid_before_utc
        usage = _key_usage(cert)
    except ValueError:  # an extension or name that does not decode
        raise _cert_garbage() from None
    if moment > info.not_after:
        raise ValidationError(
            "certificate.expired",
            f"This certificate expired on {info.expiry}.",
            expiry=info.expiry,
        )
    if moment < not_before:
        valid_from = not_before.strftime("%d/%m/%Y")
        raise ValidationError(
            "certificate.not_yet_valid",
            f"This certificate is only valid from {valid_from}.",
            valid_from=valid_from,
        )
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise ValidationError(
            "certificate.cannot_sign",
            "This certificate cannot sign (its key usage allows neither digital signature "
            "nor non-repudiation); give the signature certificate.",
        )
    return info


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    """The displayed details of ``cert``, without any validity check."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    der = cert.public_bytes(serialization.Encoding.DER)
    serial = cert.serial_number
    not_after = cert.not_valid_after_utc
    return CertificateInfo(
        owner=_attribute(cert.subject, NameOID.COMMON_NAME)
        or cert.subject.rfc4514_string()
        or NOT_SPECIFIED,
        company=_attribute(cert.subject, NameOID.ORGANIZATION_NAME) or NOT_SPECIFIED,
        issuer=display_name(cert.issuer),
        not_after=not_after,
        expiry=not_after.strftime("%d/%m/%Y"),
        serial_decimal=str(serial),
        serial_hex=serial_bytes(serial).hex(" "),
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        der=der,
    )


def serial_bytes(serial: int) -> bytes:
    """The minimal big-endian bytes of a serial number (two's complement if negative)."""
    if serial < 0:
        return serial.to_bytes(((~serial).bit_length() + 8) // 8, "big", signed=True)
    return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")


def display_name(name: x509.Name) -> str:
    """A distinguished name most specific first: ``SERIALNUMBER=200803, CN=Citizen CA, C=BE``."""
    return ", ".join(
        "+".join(attr.rfc4514_string(_issuer_names()) for attr in rdn)
        for rdn in reversed(name.rdns)
    )


def load_certificate(der: bytes) -> x509.Certificate:
    """The ``cryptography`` certificate for DER bytes (e.g. ``CertificateInfo.der``)."""
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise _cert_garbage() from None


def _certificate_der(data: bytes | str) -> bytes:
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_CERTIFICATE_BYTES:
        raise ValidationError(
            "certificate.too_large",
            f"The certificate is larger than {MAX_CERTIFICATE_BYTES} bytes.",
            limit=MAX_CERTIFICATE_BYTES,
        )
    stripped = raw.strip()
    if not stripped:
        raise ValidationError("certificate.empty", "No certificate was given.")
    labels = [label.decode("ascii") for label in _PEM_LABEL.findall(raw)]
    if any("PRIVATE KEY" in label for label in labels) or _is_der_private_key(raw):
        raise ValidationError(
            "certificate.private_key",
            "This is a private key. Never share it: give the certificate (.cer) only.",
        )
    if match := _PEM_CERTIFICATE.search(raw):
        body = b"".join(match.group(0).split(b"-----")[2].split())
        return _cert_b64(body)
    if labels:
        raise ValidationError(
            "certificate.unsupported_pem",
            f"This PEM file holds a {labels[0]}, not a certificate.",
            label=labels[0],
        )
    if stripped.startswith((b"ssh-", b"ecdsa-sha2-", b"---- BEGIN SSH2")):
        raise ValidationError(
            "certificate.ssh_key",
            "This is an SSH key; the certificate (.cer) that will sign the files is wanted.",
        )
    if stripped[:1] != b"\x30" and re.fullmatch(rb"[A-Za-z0-9+/=\s]+", stripped):
        return _cert_b64(b"".join(stripped.split()))  # PEM body without its armour
    return raw


def _cert_b64(body: bytes) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise _cert_garbage() from None


def _is_der_private_key(raw: bytes) -> bool:
    if not raw.startswith(b"\x30"):
        return False
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_der_private_key(raw, password=None)
    except TypeError:  # encrypted: a private key all the same
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = [attr.value for attr in name.get_attributes_for_oid(oid)]
    return ", ".join(v if isinstance(v, str) else v.decode("utf-8", "replace") for v in values)


def _cert_garbage() -> ValidationError:
    return ValidationError(
        "certificate.garbage", "This is not a readable X.509 certificate (DER or PEM)."
    )


# --------------------------------------------------------------------------- files


def read_credential_file(path: str | os.PathLike[str], limit: int = MAX_CERTIFICATE_BYTES) -> bytes:
    """Read a key or certificate file, at most ``limit`` bytes; refuse anything odd."""
    target = Path(path).expanduser()
    shown = str(target)
    try:
        mode = target.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ValidationError("file.is_directory", f"{shown} is a directory.", path=shown)
        if not stat.S_ISREG(mode):
            raise ValidationError("file.not_regular", f"{shown} is not a file.", path=shown)
        with target.open("rb") as handle:
            content = handle.read(limit + 1)
    except FileNotFoundError:
        raise ValidationError("file.not_found", f"{shown} does not exist.", path=shown) from None
    except OSError as exc:
        raise ValidationError(
            "file.unreadable", f"{shown} cannot be read: {exc.strerror}.", path=shown
        ) from None
    if len(content) > limit:
        raise ValidationError(
            "file.too_large", f"{shown} is larger than {limit} bytes.", path=shown, limit=limit
        )
    return content
