"""The minimal ASN.1 reader used for CMS signatures."""

from __future__ import annotations

import pytest

from store import der


def test_definite_lengths_short_and_long() -> None:
    long_value = b"\x04\x82\x01\x00" + b"x" * 256
    element = der.read_one(b"\x30\x84\x00\x00\x01\x07" + b"\x02\x01\x05" + long_value)

    first, second = element.children()

    assert first.as_int() == 5
    assert second.as_octets() == b"x" * 256
    assert second.raw == long_value


def test_indefinite_length_and_chunked_octet_string() -> None:
    ber = b"\x30\x80" + b"\x24\x80\x04\x02ab\x04\x01c\x00\x00" + b"\x06\x03\x2a\x03\x04" + b"\0\0"

    element = der.read_one(ber)
    chunks, oid = element.children()

    assert element.raw == ber
    assert chunks.as_octets() == b"abc"
    assert oid.as_oid() == "1.2.3.4"


def test_oid_with_large_arcs() -> None:
    assert der.decode_oid(bytes.fromhex("2a864886f70d010702")) == "1.2.840.113549.1.7.2"
    assert der.decode_oid(bytes.fromhex("608648016503040201")) == "2.16.840.1.101.3.4.2.1"


def test_negative_integer() -> None:
    assert der.read_one(b"\x02\x01\xff").as_int() == -1


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x30",
        b"\x30\x05\x02\x01",  # length beyond the data
        b"\x30\x00\x00",  # trailing byte
        b"\x04\x80\x00\x00",  # indefinite primitive
        b"\x30\x80\x02\x01\x05",  # no end-of-contents
        b"\x30\x80" * 100 + b"\x00\x00" * 100,  # nesting beyond the limit
    ],
)
def test_malformed_input_raises_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError):
        der.read_one(bad)


def test_oid_ending_mid_arc_raises_value_error() -> None:
    element = der.read_one(b"\x06\x02\x2a\x86")
    with pytest.raises(ValueError, match="OBJECT IDENTIFIER"):
        element.as_oid()


def test_wrong_tag_raises_value_error() -> None:
    with pytest.raises(ValueError, match="expected tag 0x02"):
        der.read_one(b"\x04\x01\x05").as_int()


def test_nesting_is_bounded_across_children_calls() -> None:
    """A chain of constructed OCTET STRINGs, each read by the one around it: the depth
    counts through ``children()``, so joining the chunks fails cleanly, not by recursion."""
    chain = b"\x04\x01a"
    for _ in range(400):
        size = len(chain)
        header = (
            bytes([0x24, size]) if size < 0x80 else bytes([0x24, 0x82]) + size.to_bytes(2, "big")
        )
        chain = header + chain
    with pytest.raises(ValueError, match="too deep"):
        der.read_one(chain).as_octets()


def test_input_larger_than_the_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="larger than"):
        der.read_one(b"\x04\x84" + (der.MAX_SIZE).to_bytes(4, "big") + b"x" * der.MAX_SIZE)
