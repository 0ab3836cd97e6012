"""The PROXY protocol (HAProxy's, versions 1 and 2): the client's address, from a balancer.

A TCP load balancer in front of several nodes connects to them from its own address, so every
partner would look like one address to the per-address limits, the bans and the logs. A
balancer that speaks the PROXY protocol (HAProxy ``send-proxy`` / ``send-proxy-v2``, nginx's
stream ``proxy_protocol on``, most cloud balancers) first sends a header naming the client's
address. ``serve --proxy-protocol NETWORKS`` trusts the balancers in ``NETWORKS``: a
connection from one of them must start with a header, and the server then counts, bans and
logs the address it names; a connection from any other address is a client's own and its
bytes are never read as a header (nobody else can claim an address).

Exactly the header's bytes are taken from the socket (peeked first), so the SSH version line
the client sends right after it stays for the SSH transport. A ``LOCAL`` header (a balancer's
own health check) or a v1 ``UNKNOWN`` names no client: the balancer's address is used.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from collections.abc import Sequence

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_PREFIX = b"PROXY "
V1_MAX = 107  # the longest v1 line, CRLF included (the specification's figure)
V2_MAX_PAYLOAD = 512  # addresses and TLVs: HAProxy's largest is far below this
PEEK = 16 + V2_MAX_PAYLOAD

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyHeaderError(ValueError):
    """No valid PROXY header where one was due (one line: why)."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """``--proxy-protocol``'s value: addresses or networks, separated by commas."""
    networks = []
    for part in text.split(","):
        part = part.strip()
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"--proxy-protocol: {part!r} is not an address or a network "
                "(e.g. 10.0.0.5 or 10.0.0.0/24, several separated by commas)"
            ) from None
    if not networks:
        raise ValueError("--proxy-protocol: give the balancers' addresses")
    return tuple(networks)


def trusted(address: str, networks: Sequence[Network]) -> bool:
    """Whether ``address`` (a peer's) is one of the balancers'."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def read_header(sock: socket.socket, timeout: float) -> str | None:
    """Read the PROXY header at the start of ``sock``: the client's address, or None when it
    names none (``LOCAL``, ``UNKNOWN``). ``ProxyHeaderError`` when there is no valid header
    within ``timeout`` seconds; ``OSError`` if the connection fails."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProxyHeaderError(f"no PROXY header within {timeout:g} s")
        sock.settimeout(remaining)
        try:
            data = sock.recv(PEEK, socket.MSG_PEEK)
        except TimeoutError:
            raise ProxyHeaderError(f"no PROXY header within {timeout:g} s") from None
        if not data:
            raise ProxyHeaderError("the connection ended before its PROXY header")
        size = _header_size(data)
        if size is not None:
            header = _recv_exactly(sock, size)
            sock.settimeout(None)
            return _v2_address(header) if header.startswith(V2_SIGNATURE) else _v1_address(header)
        time.sleep(0.005)  # a header split over segments: wait for the rest of it


def _header_size(data: bytes) -> int | None:
    """The header's length once ``data`` (the start of the stream) holds all of it; None
    while it may still come; ``ProxyHeaderError`` when it is no header."""
    if V2_SIGNATURE.startswith(data[:12]) and len(data) < 16:
        return None
    if data.startswith(V2_SIGNATURE):
        length = struct.unpack("!H", data[14:16])[0]
        if length > V2_MAX_PAYLOAD:
            raise ProxyHeaderError(f"PROXY v2 header of {length} bytes: too long")
        return 16 + length if len(data) >= 16 + length else None
    if V1_PREFIX.startswith(data[:6]) and len(data) < 6:
        return None
    if data.startswith(V1_PREFIX):
        end = data.find(b"\r\n", 0, V1_MAX)
        if end >= 0:
            return end + 2
        if len(data) >= V1_MAX:
            raise ProxyHeaderError("PROXY v1 line longer than 107 bytes")
        return None
    raise ProxyHeaderError("the connection did not start with a PROXY header")


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProxyHeaderError("the connection ended inside its PROXY header")
        data += chunk
    return data


def _v1_address(header: bytes) -> str | None:
    fields = header[:-2].decode("ascii", "replace").split(" ")
    if fields[1:2] == ["UNKNOWN"]:
        return None
    if len(fields) != 6 or fields[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError(f"PROXY v1 line not understood: {header[:60]!r}")
    version = 4 if fields[1] == "TCP4" else 6
    try:
        source = ipaddress.ip_address(fields[2])
        ipaddress.ip_address(fields[3])
        ports = [int(fields[4]), int(fields[5])]
    except ValueError:
        raise ProxyHeaderError(f"PROXY v1 line not understood: {header[:60]!r}") from None
    if source.version != version or not all(0 <= port <= 65535 for port in ports):
        raise ProxyHeaderError(f"PROXY v1 line not understood: {header[:60]!r}")
    return str(source)


def _v2_address(header: bytes) -> str | None:
    version, command = header[12] >> 4, header[12] & 0x0F
    if version != 2 or command not in (0, 1):
        raise ProxyHeaderError(f"PROXY v2 header: version {version}, command {command}")
    if command == 0:  # LOCAL: the balancer's own connection
        return None
    family, payload = header[13] >> 4, header[16:]
    if family == 1 and len(payload) >= 12:  # AF_INET
        return str(ipaddress.IPv4Address(payload[:4]))
    if family == 2 and len(payload) >= 36:  # AF_INET6
        address = ipaddress.IPv6Address(payload[:16])
        mapped = address.ipv4_mapped
        return str(mapped) if mapped is not None else str(address)
    if family == 0:  # AF_UNSPEC: the balancer's own
        return None
    raise ProxyHeaderError(f"PROXY v2 header: address family {family} not served")
