"""Detached CMS/PKCS#7 signatures of batch files (the FS file that goes with each FI file).

``cryptography`` 50 can build such signatures but has no public API to verify them, so
``verify_detached`` reads the CMS SignedData with :mod:`store.der` and checks it itself:
the signer certificate must match the SignerInfo's issuer and serial (or key identifier),
the messageDigest attribute must equal the data's digest, and the signature must verify with
the certificate's key over the signed attributes (or over the data when there are none).
Every failure is a :class:`ValidationError` with code ``signature.invalid`` and a ``reason``:
whatever a partner's FS holds (malformed DER, nesting, an embedded certificate with an unknown
key algorithm or version) ends there, never in another exception.

The data is given as bytes or as a file: a file is hashed while it is read, 1 MiB at a time,
and the signature checked over its digest, so a 512 MB FI is never held in memory.
``sign_detached`` writes the CMS itself (:func:`_signed_data_der`) over a digest the same way,
so ``expedito batch prepare`` signs a large file without reading it whole either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from store import der
from store.errors import ValidationError

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Data = bytes | Path  # the signed data: in memory, or a file read in chunks
CHUNK = 1 << 20
# What reading a partner's signature may raise besides ValidationError: all of it is "invalid"
_PARSE_ERRORS = (
    ValueError,
    IndexError,
    TypeError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    RecursionError,
)

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_DATA = "1.2.840.113549.1.7.1"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_TIME = "1.2.840.113549.1.9.5"
_UTC_TIME = 0x17
_SHA256 = "2.16.840.1.101.3.4.2.1"
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
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


KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
"""``x509.KeyUsage``'s arguments, each a use a certificate's key may be put to."""


def key_usage(*allowed: str) -> x509.KeyUsage:
    """A certificate's key usage allowing ``allowed`` (names of ``KEY_USAGES``) and no other."""
    unknown = set(allowed) - set(KEY_USAGES)
    if unknown:
        raise ValueError(f"not a key usage: {', '.join(sorted(unknown))}")
    return x509.KeyUsage(**{name: name in allowed for name in KEY_USAGES})


SIGNATURE_KEY_USAGE = key_usage("digital_signature", "content_commitment")
"""What a certificate made to sign files allows, as the eID's signature certificate: the
demo's (``store.democreds``) and the service's own (``sync.service_signer``)."""


def sign_detached(data: Data, cert: x509.Certificate, private_key: SigningKey) -> bytes:
    """A detached SHA-256 CMS signature of ``data`` (bytes or a file): base64 of the DER,
    76 columns, CRLF. The bytes are signed as they are (no line-ending conversion)."""
    signature = _signed_data_der(_Digests(data).of("sha256"), cert, private_key)
    text = base64.b64encode(signature)
    return b"".join(text[i : i + 76] + b"\r\n" for i in range(0, len(text), 76))


def verify_detached(signature_b64: bytes, data: Data) -> x509.Certificate:
    """Check a detached signature over ``data`` (bytes or a file); return the signer's
    certificate."""
    try:
        signed = der.read_one(_unbase64(signature_b64))
        return _verify_signed_data(_signed_data(signed), _Digests(data))
    except _PARSE_ERRORS as exc:
        raise _invalid("malformed", str(exc) or "the signature cannot be read") from None


class _Digests:
    """The data's digests, each computed once (a file is read once per hash algorithm)."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self._done: dict[str, bytes] = {}

    def of(self, name: str) -> bytes:
        if name not in self._done:
            hasher = hashlib.new(name)
            if isinstance(self.data, Path):
                with self.data.open("rb") as handle:
                    while chunk := handle.read(CHUNK):
                        hasher.update(chunk)
            else:
                hasher.update(self.data)
            self._done[name] = hasher.digest()
        return self._done[name]


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


def _verify_signed_data(fields: list[der.Element], data: _Digests) -> x509.Certificate:
    # version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
    encap = fields[2].expect(der.SEQUENCE).children()
    content_type = encap[0].as_oid()
    if len(encap) > 1:  # not detached: the embedded content must be the data
        (content,) = encap[1].expect(der.context(0)).children()
        embedded = content.as_octets()
        if hashlib.sha256(embedded).digest() != data.of("sha256"):
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
    data: _Digests,
) -> x509.Certificate:
    # version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1]?
    cert = _find_signer(info[1], certificates)
    digest_oid = _algorithm(info[2])
    algorithm = _DIGESTS.get(digest_oid)
    if algorithm is None:
        raise _invalid("digest_algorithm", f"digest algorithm {digest_oid} is not accepted")
    rest = info[3:]
    signed: bytes | None = None  # None: the signature is over the data itself
    if rest[0].tag == der.context(0):
        attributes = _attributes(rest[0])
        _check_attributes(attributes, content_type, data.of(algorithm.name))
        signed = bytes([der.SET]) + rest[0].raw[1:]
        rest = rest[1:]
    elif content_type != _DATA:
        raise _invalid("content_type", "signed attributes are required for this content")
    signature_oid = _algorithm(rest[0])
    signature = rest[1].expect(der.OCTET_STRING).content
    _check_signature(cert, signature_oid, digest_oid, signature, signed, data)
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
    cert: x509.Certificate,
    signature_oid: str,
    digest_oid: str,
    signature: bytes,
    signed: bytes | None,
    data: _Digests,
) -> None:
    """Verify ``signature`` over ``signed`` (the signed attributes), or over the data's
    digest when there are none (``Prehashed``: the data is never needed whole)."""
    key = cert.public_key()

    def message(algorithm: hashes.HashAlgorithm) -> tuple[bytes, hashes.HashAlgorithm | Prehashed]:
        if signed is not None:
            return signed, algorithm
        return data.of(algorithm.name), Prehashed(algorithm)

    try:
        if isinstance(key, rsa.RSAPublicKey) and signature_oid in _RSA:
            content, scheme = message(_hash(_RSA[signature_oid] or digest_oid))
            key.verify(signature, content, padding.PKCS1v15(), scheme)
        elif isinstance(key, ec.EllipticCurvePublicKey) and signature_oid in _ECDSA:
            content, scheme = message(_hash(_ECDSA[signature_oid] or digest_oid))
            key.verify(signature, content, ec.ECDSA(scheme))
        else:
            raise _invalid("signature_algorithm", f"signature algorithm {signature_oid}")
    except InvalidSignature:
        raise _invalid("signature", "the signature does not verify") from None


def _hash(oid: str) -> hashes.HashAlgorithm:
    algorithm = _DIGESTS.get(oid)
    if algorithm is None:
        raise _invalid("digest_algorithm", f"digest algorithm {oid} is not accepted")
    return algorithm


def _algorithm(identifier: der.Element) -> str:
    return identifier.expect(der.SEQUENCE).children()[0].as_oid()


def _invalid(reason: str, detail: str) -> ValidationError:
    return ValidationError(
        "signature.invalid", f"The signature is not valid: {detail}.", reason=reason
    )


# -- writing a SignedData (DER) ------------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc := arc >> 7:
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return _tlv(der.OID, bytes(body))


def _int(value: int) -> bytes:
    return _tlv(der.INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _set_of(items: list[bytes]) -> bytes:
    return _tlv(der.SET, b"".join(sorted(items)))  # DER: a SET OF in encoding order


def _signed_data_der(digest: bytes, cert: x509.Certificate, key: SigningKey) -> bytes:
    """A detached CMS ``SignedData`` with SHA-256 over a data's ``digest``: one signer,
    identified by issuer and serial, with its certificate, and the contentType, signingTime
    and messageDigest attributes that the signature covers."""
    now = f"{datetime.now(UTC):%y%m%d%H%M%S}Z".encode()
    sha256 = _tlv(der.SEQUENCE, _oid(_SHA256) + _tlv(der.NULL, b""))
    attributes = _set_of(
        [
            _tlv(der.SEQUENCE, _oid(_CONTENT_TYPE) + _set_of([_oid(_DATA)])),
            _tlv(der.SEQUENCE, _oid(_SIGNING_TIME) + _set_of([_tlv(_UTC_TIME, now)])),
            _tlv(der.SEQUENCE, _oid(_MESSAGE_DIGEST) + _set_of([_tlv(der.OCTET_STRING, digest)])),
        ]
    )
    if isinstance(key, rsa.RSAPrivateKey):
        algorithm = _tlv(der.SEQUENCE, _oid(_RSA_ENCRYPTION) + _tlv(der.NULL, b""))
        value = key.sign(attributes, padding.PKCS1v15(), hashes.SHA256())
    else:
        algorithm = _tlv(der.SEQUENCE, _oid(_ECDSA_SHA256))
        value = key.sign(attributes, ec.ECDSA(hashes.SHA256()))
    signer = _tlv(
        der.SEQUENCE,
        b"".join(
            [
                _int(1),
                _tlv(der.SEQUENCE, _raw_issuer(cert) + _int(cert.serial_number)),
                sha256,
                bytes([der.context(0)]) + attributes[1:],  # [0] IMPLICIT: the SET's tag replaced
                algorithm,
                _tlv(der.OCTET_STRING, value),
            ]
        ),
    )
    signed_data = _tlv(
        der.SEQUENCE,
        b"".join(
            [
                _int(1),
                _set_of([sha256]),
                _tlv(der.SEQUENCE, _oid(_DATA)),
                _tlv(der.context(0), cert.public_bytes(serialization.Encoding.DER)),
                _set_of([signer]),
            ]
        ),
    )
    return _tlv(der.SEQUENCE, _oid(_SIGNED_DATA) + _tlv(der.context(0), signed_data))
