"""One address's connections to one worker, when several processes share the SFTP port.

With ``SO_REUSEPORT`` the kernel picks the listening socket of a new connection from a hash
of both ends' addresses *and ports*, so the connections of one client address would spread
over the workers of ``serve --workers N``, and each worker's per-address limits (connections
not yet logged in, failures, delay and ban, log lines) would allow N times as much. A classic
BPF program attached to the group (``SO_ATTACH_REUSEPORT_CBPF``, Linux 4.5+) picks the socket
from the client's address alone: the last 32 bits of its IPv4 or IPv6 source address, modulo
the number of workers. While every worker listens, all the connections of an address reach
the same one; while one is being started again, the kernel hashes those that would have gone
to it.
"""

from __future__ import annotations

import ctypes
import logging
import socket

log = logging.getLogger("expedito.sftp")

SO_ATTACH_REUSEPORT_CBPF = getattr(socket, "SO_ATTACH_REUSEPORT_CBPF", 51)
SKF_NET_OFF = -0x100000  # offsets from the network (IP) header
# classic BPF opcodes (linux/bpf_common.h)
LD_B_ABS, LD_W_ABS = 0x30, 0x20
ALU_RSH_K, ALU_MOD_K = 0x74, 0x94
JMP_JEQ_K, JMP_JA = 0x15, 0x05
RET_A = 0x16


class _Instruction(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Instruction))]


def _net(offset: int) -> int:
    return (SKF_NET_OFF + offset) & 0xFFFFFFFF


def program(count: int) -> list[tuple[int, int, int, int]]:
    """The instructions: the IP version; the source address's last word (IPv4 bytes 12–15,
    IPv6 bytes 20–23); modulo ``count``; that is the socket's index."""
    return [
        (LD_B_ABS, 0, 0, _net(0)),
        (ALU_RSH_K, 0, 0, 4),
        (JMP_JEQ_K, 2, 0, 6),  # IPv6: skip the next two
        (LD_W_ABS, 0, 0, _net(12)),
        (JMP_JA, 0, 0, 1),
        (LD_W_ABS, 0, 0, _net(20)),
        (ALU_MOD_K, 0, 0, count),
        (RET_A, 0, 0, 0),
    ]


def steer_by_address(listener: socket.socket, count: int) -> bool:
    """Attach the program to ``listener``'s reuseport group (``count`` sockets); False, with a
    log line, where the kernel refuses it (the kernel's own hash then decides)."""
    instructions = program(count)
    array = (_Instruction * len(instructions))(*(_Instruction(*i) for i in instructions))
    fprog = _Program(len(instructions), array)
    try:
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(fprog))
    except OSError as exc:
        log.warning(
            "connections are not kept to one worker per address (%s): per-address limits "
            "count per worker",
            exc.strerror or exc,
        )
        return False
    return True
