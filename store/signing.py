"""Detached CMS/PKCS#7 signatures of batch files (the FS file that goes with each FI file).

``cryptography`` 50 can build such signatures but has no public API to verify them, so
``verify_detached`` reads the CMS SignedData with :mod:`store.der` and checks it itself:
the signer certificate must match the SignerInfo's issuer and serial (or key identifier),
the messageDigest attribute must equal the data's digest, and the signature must verify with
the certificate's key over the signed attributes (or over the data when there are none).
Every failure is a :class:`ValidationError` with code ``signature.invalid`` and a ``reason``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from store import der
from store.errors import ValidationError

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_DATA = "1.2.840.113549.1.7.1"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256(),
    "2.16.840.1.101.3.4.2.2": hashes.SHA384(),
    "2.16.840.1.101.3.4.2.3": hashes.SHA512(),
}
_RSA = {
    "1.2.840.113549.1.1.1": None,  # rsaEncryption: the digest algorithm says which hash
    "1.2.840.113549.1.1.11": "2.16.840.1.101.3.4.2.1",
    "1.2.840.113549.1.1.12": "2.16.840.1.101.3.4.2.2",
    "1.2.840.113549.1.1.13": "2.16.840.1.101.3.4.2.3",
}
_ECDSA = {
    "1.2.840.10045.2.1": None,  # id-ecPublicKey
    "1.2.840.10045.4.3.2": "2.16.840.1.101.3.4.2.1",
    "1.2.840.10045.4.3.3": "2.16.840.1.101.3.4.2.2",
    "1.2.840.10045.4.3.4": "2.16.840.1.101.3.4.2.3",
}


def sign_detached(data: bytes, cert: x509.Certificate, private_key: SigningKey) -> bytes:
    """A detached SHA-256 CMS signature of ``data``: base64 of the DER, 76 columns, CRLF."""
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(data)
        .add_signer(cert, private_key, hashes.SHA256())
        # Binary: sign the bytes as they are (without it, line endings become CRLF first)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
    text = base64.b64encode(signature)
    return b"".join(text[i : i + 76] + b"\r\n" for i in range(0, len(text), 76))


def verify_detached(signature_b64: bytes, data: bytes) -> x509.Certificate:
    """Check a detached signature over ``data``; return the signer's certificate."""
    try:
        signed = der.read_one(_unbase64(signature_b64))
        return _verify_signed_data(_signed_data(signed), data)
    except (ValueError, IndexError) as exc:
        raise _invalid("malformed", str(exc) or "the signature cannot be read") from None


def same_certificate(a: x509.Certificate, b: x509.Certificate) -> bool:
    """Whether ``a`` and ``b`` are the same certificate (same DER, hence same fingerprint)."""
    return hmac.compare_digest(a.fingerprint(hashes.SHA256()), b.fingerprint(hashes.SHA256()))


def _unbase64(text: bytes) -> bytes:
    lines = [line for line in text.splitlines() if not line.startswith(b"-----")]  # PEM armour
    try:
        return base64.b64decode(b"".join(b"".join(lines).split()), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("base64", "the signature is not valid base64") from None


def _signed_data(content_info: der.Element) -> list[der.Element]:
    oid, body = content_info.expect(der.SEQUENCE).children()[:2]
    if oid.as_oid() != _SIGNED_DATA:
        raise ValueError("not a CMS SignedData")
    (signed_data,) = body.expect(der.context(0)).children()
    return signed_data.expect(der.SEQUENCE).children()


def _verify_signed_data(fields: list[der.Element], data: bytes) -> x509.Certificate:
    # version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
    encap = fields[2].expect(der.SEQUENCE).children()
    content_type = encap[0].as_oid()
    if len(encap) > 1:  # not detached: the embedded content must be the data
        (content,) = encap[1].expect(der.context(0)).children()
        if content.as_octets() != data:
            raise _invalid("content", "the signature embeds other content")
    certificates = [
        x509.load_der_x509_certificate(item.raw)
        for field in fields[3:-1]
        if field.tag == der.context(0)
        for item in field.children()
        if item.tag == der.SEQUENCE
    ]
    signers = fields[-1].expect(der.SET).children()
    if len(signers) != 1:
        raise _invalid("signers", f"expected one signer, found {len(signers)}")
    return _verify_signer(
        signers[0].expect(der.SEQUENCE).children(), certificates, content_type, data
    )


def _verify_signer(
    info: list[der.Element],
    certificates: list[x509.Certificate],
    content_type: str,
    data: bytes,
) -> x509.Certificate:
    # version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1]?
    cert = _find_signer(info[1], certificates)
    digest_oid = _algorithm(info[2])
    algorithm = _DIGESTS.get(digest_oid)
    if algorithm is None:
        raise _invalid("digest_algorithm", f"digest algorithm {digest_oid} is not accepted")
    rest = info[3:]
    if rest[0].tag == der.context(0):
        attributes = _attributes(rest[0])
        _check_attributes(attributes, content_type, _digest(algorithm, data))
        signed = bytes([der.SET]) + rest[0].raw[1:]
        rest = rest[1:]
    elif content_type != _DATA:
        raise _invalid("content_type", "signed attributes are required for this content")
    else:
        signed = data
    signature_oid = _algorithm(rest[0])
    signature = rest[1].expect(der.OCTET_STRING).content
    _check_signature(cert, signature_oid, digest_oid, signature, signed)
    return cert


def _find_signer(sid: der.Element, certificates: list[x509.Certificate]) -> x509.Certificate:
    for cert in certificates:
        if sid.tag == der.SEQUENCE:  # IssuerAndSerialNumber
            issuer, serial = sid.children()
            if issuer.raw == _raw_issuer(cert) and serial.as_int() == cert.serial_number:
                return cert
        elif sid.tag == der.context(0, constructed=False):  # SubjectKeyIdentifier
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == sid.content:
                return cert
    raise _invalid("signer_certificate", "the signer's certificate is not in the signature")


def _raw_issuer(cert: x509.Certificate) -> bytes:
    tbs = der.read_one(cert.tbs_certificate_bytes).children()
    offset = 1 if tbs[0].tag == der.context(0) else 0  # optional [0] version
    return tbs[offset + 2].raw  # serialNumber, signature, issuer


def _attributes(element: der.Element) -> dict[str, list[der.Element]]:
    attributes: dict[str, list[der.Element]] = {}
    for attribute in element.children():
        oid, values = attribute.expect(der.SEQUENCE).children()
        name = oid.as_oid()
        if name in attributes:
            raise _invalid("attributes", f"attribute {name} appears twice")
        attributes[name] = values.expect(der.SET).children()
    return attributes


def _check_attributes(
    attributes: dict[str, list[der.Element]], content_type: str, digest: bytes
) -> None:
    types = attributes.get(_CONTENT_TYPE, [])
    if len(types) != 1 or types[0].as_oid() != content_type:
        raise _invalid("content_type", "the contentType attribute is missing or wrong")
    digests = attributes.get(_MESSAGE_DIGEST, [])
    if len(digests) != 1:
        raise _invalid("message_digest", "the messageDigest attribute is missing")
    if not hmac.compare_digest(digests[0].expect(der.OCTET_STRING).content, digest):
        raise _invalid("message_digest", "the data does not match the signed digest")


def _check_signature(
    cert: x509.Certificate, signature_oid: str, digest_oid: str, signature: bytes, signed: bytes
) -> None:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and signature_oid in _RSA:
            hash_oid = _RSA[signature_oid] or digest_oid
            key.verify(signature, signed, padding.PKCS1v15(), _hash(hash_oid))
        elif isinstance(key, ec.EllipticCurvePublicKey) and signature_oid in _ECDSA:
            hash_oid = _ECDSA[signature_oid] or digest_oid
            key.verify(signature, signed, ec.ECDSA(_hash(hash_oid)))
        else:
            raise _invalid("signature_algorithm", f"signature algorithm {signature_oid}")
    except InvalidSignature:
        raise _invalid("signature", "the signature does not verify") from None


def _hash(oid: str) -> hashes.HashAlgorithm:
    algorithm = _DIGESTS.get(oid)
    if algorithm is None:
        raise _invalid("digest_algorithm", f"digest algorithm {oid} is not accepted")
    return algorithm


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    return hashlib.new(algorithm.name, data).digest()


def _algorithm(identifier: der.Element) -> str:
    return identifier.expect(der.SEQUENCE).children()[0].as_oid()


def _invalid(reason: str, detail: str) -> ValidationError:
    return ValidationError(
        "signature.invalid", f"The signature is not valid: {detail}.", reason=reason
    )
