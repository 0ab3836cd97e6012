"""Detached CMS signatures of batch files: ours, OpenSSL's, and tampered ones."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from store import der
from store.democreds import make_test_certificate
from store.errors import ValidationError
from store.signing import SigningKey, key_usage, same_certificate, sign_detached, verify_detached

OPENSSL = "/usr/bin/openssl"
DATA = b"<?xml version='1.0'?>\r\n<FI>DMFA \xe9\x00\xff</FI>\n"

Signer = tuple[x509.Certificate, SigningKey]


@pytest.fixture(scope="module")
def rsa_signer() -> Signer:
    return make_test_certificate(key=rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return make_test_certificate(key=ec.generate_private_key(ec.SECP384R1()))


@pytest.fixture(params=["rsa", "ec"])
def signer(request: pytest.FixtureRequest, rsa_signer: Signer, ec_signer: Signer) -> Signer:
    return rsa_signer if request.param == "rsa" else ec_signer


def invalid(signature: bytes, data: bytes = DATA) -> str:
    """The reason ``verify_detached`` gives for refusing."""
    with pytest.raises(ValidationError) as caught:
        verify_detached(signature, data)
    assert caught.value.code == "signature.invalid"
    reason: str = caught.value.params["reason"]
    return reason


def b64(der_bytes: bytes) -> bytes:
    return base64.b64encode(der_bytes)


def unb64(signature: bytes) -> bytes:
    return base64.b64decode(b"".join(signature.split()))


def write_pem(tmp_path: Path, name: str, signer: Signer) -> tuple[Path, Path]:
    cert, key = signer
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def openssl_sign(tmp_path: Path, signer: Signer, *options: str, data: bytes = DATA) -> bytes:
    """``openssl cms -sign`` of ``data``; returns the DER signature."""
    cert_path, key_path = write_pem(tmp_path, "signer", signer)
    (tmp_path / "data").write_bytes(data)
    out = tmp_path / "sig.der"
    subprocess.run(
        [OPENSSL, "cms", "-sign", "-binary", "-outform", "DER", "-signer", str(cert_path),
         "-inkey", str(key_path), "-in", str(tmp_path / "data"), "-out", str(out), *options],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out.read_bytes()


# --------------------------------------------------------------------------- our signatures


def test_round_trip_returns_the_signer_certificate(signer: Signer) -> None:
    cert, key = signer

    returned = verify_detached(sign_detached(DATA, cert, key), DATA)

    assert returned == cert
    assert same_certificate(returned, cert)


def test_signature_is_base64_in_76_columns_with_crlf(rsa_signer: Signer) -> None:
    signature = sign_detached(DATA, *rsa_signer)

    lines = signature.split(b"\r\n")
    assert signature.endswith(b"\r\n")
    assert lines[-1] == b""
    assert all(len(line) == 76 for line in lines[:-2])
    assert 0 < len(lines[-2]) <= 76
    assert b"\n" not in signature.replace(b"\r\n", b"")
    content_info = der.read_one(unb64(signature)).children()
    assert content_info[0].as_oid() == "1.2.840.113549.1.7.2"


def test_signature_is_detached(ec_signer: Signer) -> None:
    signature = unb64(sign_detached(DATA, *ec_signer))
    assert DATA not in signature


@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n", b""])
def test_line_ending_variants_are_accepted(ec_signer: Signer, newline: bytes) -> None:
    lines = sign_detached(DATA, *ec_signer).split(b"\r\n")

    assert verify_detached(newline.join(lines), DATA) == ec_signer[0]


def test_pem_armoured_signature_is_accepted(ec_signer: Signer) -> None:
    body = sign_detached(DATA, *ec_signer)
    armoured = b"-----BEGIN PKCS7-----\n" + body + b"-----END PKCS7-----\n"
    assert verify_detached(armoured, DATA) == ec_signer[0]


def test_other_data_is_refused(signer: Signer) -> None:
    signature = sign_detached(DATA, *signer)
    assert invalid(signature, DATA + b" ") == "message_digest"
    assert invalid(signature, b"") == "message_digest"


def test_corrupted_signature_value_is_refused(signer: Signer) -> None:
    raw = bytearray(unb64(sign_detached(DATA, *signer)))
    raw[-1] ^= 0x01  # the signature OCTET STRING is the last field

    assert invalid(b64(bytes(raw))) == "signature"


def test_tampered_signed_attribute_is_refused(ec_signer: Signer) -> None:
    raw = unb64(sign_detached(DATA, *ec_signer))
    signing_time_oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05"
    at = raw.index(b"\x17\x0d", raw.index(signing_time_oid)) + 2  # UTCTime YYMMDDHHMMSSZ
    tampered = raw[:at] + (b"99" if raw[at : at + 2] != b"99" else b"98") + raw[at + 2 :]

    assert invalid(b64(tampered)) == "signature"


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (b"not base64 at all!", "base64"),
        (b"", "malformed"),
        (b"AAAA", "malformed"),
    ],
)
def test_unreadable_signature_is_refused(signature: bytes, reason: str) -> None:
    assert invalid(signature) == reason


def test_truncated_signature_is_refused(ec_signer: Signer) -> None:
    raw = unb64(sign_detached(DATA, *ec_signer))
    assert invalid(b64(raw[: len(raw) // 2])) == "malformed"


def test_certificate_instead_of_signature_is_refused(ec_signer: Signer) -> None:
    cert_der = ec_signer[0].public_bytes(serialization.Encoding.DER)
    assert invalid(b64(cert_der)) == "malformed"


def test_same_certificate(rsa_signer: Signer, ec_signer: Signer) -> None:
    copy = x509.load_der_x509_certificate(rsa_signer[0].public_bytes(serialization.Encoding.DER))
    assert same_certificate(rsa_signer[0], copy)
    assert not same_certificate(rsa_signer[0], ec_signer[0])


def test_signature_by_another_certificate_is_told_apart(
    rsa_signer: Signer, ec_signer: Signer
) -> None:
    other = make_test_certificate(key=ec.generate_private_key(ec.SECP256R1()))
    signed_by_other = verify_detached(sign_detached(DATA, *other), DATA)

    assert not same_certificate(signed_by_other, ec_signer[0])
    assert not same_certificate(signed_by_other, rsa_signer[0])


# --------------------------------------------------------------------------- OpenSSL's signatures


def test_openssl_signature_without_attributes(tmp_path: Path, signer: Signer) -> None:
    raw = openssl_sign(tmp_path, signer, "-md", "sha256", "-noattr")
    signer_info = _signer_info(raw)
    assert signer_info[3].tag != der.context(0)  # really no signed attributes

    assert verify_detached(b64(raw), DATA) == signer[0]
    assert invalid(b64(raw), DATA[:-1]) == "signature"


def test_openssl_signature_with_attributes(tmp_path: Path, signer: Signer) -> None:
    raw = openssl_sign(tmp_path, signer, "-md", "sha256")
    assert _signer_info(raw)[3].tag == der.context(0)

    assert verify_detached(b64(raw), DATA) == signer[0]
    assert invalid(b64(raw), DATA[:-1]) == "message_digest"


def test_openssl_signature_naming_the_signer_by_key_identifier(
    tmp_path: Path, ec_signer: Signer
) -> None:
    raw = openssl_sign(tmp_path, ec_signer, "-md", "sha256", "-keyid")
    assert _signer_info(raw)[1].tag == der.context(0, constructed=False)

    assert verify_detached(b64(raw), DATA) == ec_signer[0]


def test_openssl_streamed_ber_signature_with_embedded_content(
    tmp_path: Path, ec_signer: Signer
) -> None:
    raw = openssl_sign(tmp_path, ec_signer, "-md", "sha256", "-stream")
    assert raw[1] == 0x80  # indefinite length: BER, not DER

    assert verify_detached(b64(raw), DATA) == ec_signer[0]
    assert invalid(b64(raw), b"other") == "content"


def test_openssl_sha1_signature_is_refused(tmp_path: Path, ec_signer: Signer) -> None:
    raw = openssl_sign(tmp_path, ec_signer, "-md", "sha1")
    assert invalid(b64(raw)) == "digest_algorithm"


def test_signature_without_the_signer_certificate_is_refused(
    tmp_path: Path, ec_signer: Signer, rsa_signer: Signer
) -> None:
    other_cert, _ = write_pem(tmp_path, "other", rsa_signer)
    raw = openssl_sign(tmp_path, ec_signer, "-md", "sha256", "-nocerts", "-certfile",
                       str(other_cert))  # fmt: skip

    assert invalid(b64(raw)) == "signer_certificate"


def test_openssl_verifies_our_signature(tmp_path: Path, signer: Signer) -> None:
    cert_path, _ = write_pem(tmp_path, "signer", signer)
    (tmp_path / "data").write_bytes(DATA)
    (tmp_path / "sig.der").write_bytes(unb64(sign_detached(DATA, *signer)))

    result = subprocess.run(
        [OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"),
         "-content", str(tmp_path / "data"), "-CAfile", str(cert_path), "-purpose", "any",
         "-out", "/dev/null"],
        capture_output=True,
        text=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


def _signer_info(raw: bytes) -> list[der.Element]:
    signed_data = der.read_one(raw).children()[1].children()[0].children()
    return signed_data[-1].children()[0].children()


def test_a_key_usage_allows_what_it_names_and_no_other() -> None:
    usage = key_usage("key_cert_sign", "crl_sign")
    assert (usage.key_cert_sign, usage.crl_sign) == (True, True)
    assert not (usage.digital_signature or usage.content_commitment or usage.key_encipherment)
    assert not (usage.data_encipherment or usage.key_agreement)
    with pytest.raises(ValueError, match="not a key usage: signing"):
        key_usage("signing")
