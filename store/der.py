"""A minimal ASN.1 DER/BER reader, enough to walk a CMS SignedData structure.

It reads tag-length-value elements and keeps every element's raw bytes, which is what
signature checks need (the signed attributes are verified over their exact encoding).
Indefinite lengths (BER, as some Java signers emit) are read for constructed elements.
Anything malformed raises ``ValueError``, including nesting deeper than ``MAX_DEPTH``
(counted across ``children()`` calls, so a chain of constructed OCTET STRINGs is bounded as
much as one read) and input larger than ``MAX_SIZE``: the FS files partners send are parsed
with it, and nothing they send may exhaust the stack or the memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
SEQUENCE = 0x30
SET = 0x31

_CONSTRUCTED = 0x20
_CONTEXT = 0x80
MAX_DEPTH = 64
MAX_SIZE = 1 << 20  # 1 MiB: a CMS signature with its certificates is a few KB


def context(number: int, constructed: bool = True) -> int:
    """The identifier octet of a context-specific tag ``[number]`` (number < 31)."""
    return _CONTEXT | (_CONSTRUCTED if constructed else 0) | number


@dataclass(frozen=True)
class Element:
    """One TLV: ``tag`` is the identifier octet, ``content`` the value, ``raw`` the whole TLV."""

    tag: int
    content: bytes
    raw: bytes
    depth: int = field(default=0, compare=False)  # how deep it sits in what was read

    @property
    def constructed(self) -> bool:
        return bool(self.tag & _CONSTRUCTED)

    def children(self) -> list[Element]:
        """The elements inside a constructed element."""
        if not self.constructed:
            raise ValueError(f"element with tag 0x{self.tag:02x} is not constructed")
        return _read_all(self.content, self.depth + 1)

    def expect(self, tag: int) -> Element:
        """Return self if it has ``tag``, else raise ``ValueError``."""
        if self.tag != tag:
            raise ValueError(f"expected tag 0x{tag:02x}, found 0x{self.tag:02x}")
        return self

    def as_int(self) -> int:
        self.expect(INTEGER)
        if not self.content:
            raise ValueError("empty INTEGER")
        return int.from_bytes(self.content, "big", signed=True)

    def as_octets(self) -> bytes:
        """An OCTET STRING's bytes, joining the chunks of a constructed (BER) one."""
        if self.tag == OCTET_STRING | _CONSTRUCTED:
            return b"".join(child.as_octets() for child in self.children())
        return self.expect(OCTET_STRING).content

    def as_oid(self) -> str:
        self.expect(OID)
        return decode_oid(self.content)


def decode_oid(content: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content octets."""
    if not content or content[-1] & 0x80:
        raise ValueError("malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def read_one(data: bytes) -> Element:
    """Read exactly one element that fills ``data``."""
    _check_size(data)
    element, end = _read(data, 0, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the element")
    return element


def read_all(data: bytes) -> list[Element]:
    """Read the consecutive elements that fill ``data``."""
    _check_size(data)
    return _read_all(data, 0)


def _read_all(data: bytes, depth: int) -> list[Element]:
    elements: list[Element] = []
    offset = 0
    while offset < len(data):
        element, offset = _read(data, offset, depth)
        elements.append(element)
    return elements


def _read(data: bytes, start: int, depth: int) -> tuple[Element, int]:
    if depth > MAX_DEPTH:
        raise ValueError("ASN.1 nesting too deep")
    offset = start
    tag = _byte(data, offset)
    offset += 1
    if tag & 0x1F == 0x1F:  # high tag number: skip its base-128 octets
        while _byte(data, offset) & 0x80:
            offset += 1
        offset += 1
    first = _byte(data, offset)
    offset += 1
    if first == 0x80:
        if not tag & _CONSTRUCTED:
            raise ValueError("indefinite length on a primitive element")
        return _read_indefinite(data, tag, start, offset, depth)
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or offset + count > len(data):
            raise ValueError("unsupported or truncated length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    else:
        length = first
    end = offset + length
    if end > len(data):
        raise ValueError("truncated element")
    return Element(tag, data[offset:end], data[start:end], depth), end


def _read_indefinite(
    data: bytes, tag: int, start: int, offset: int, depth: int
) -> tuple[Element, int]:
    content_start = offset
    while data[offset : offset + 2] != b"\x00\x00":
        if offset >= len(data):
            raise ValueError("missing end-of-contents")
        _, offset = _read(data, offset, depth + 1)
    return Element(tag, data[content_start:offset], data[start : offset + 2], depth), offset + 2


def _check_size(data: bytes) -> None:
    if len(data) > MAX_SIZE:
        raise ValueError(f"ASN.1 input of {len(data)} bytes is larger than {MAX_SIZE}")


def _byte(data: bytes, offset: int) -> int:
    if offset >= len(data):
        raise ValueError("truncated element")
    return data[offset]
