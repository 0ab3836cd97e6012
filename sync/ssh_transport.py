"""paramiko's server transport, hardened: what a connection may make the server hold, a login
counted good only once its signature verified, and one log line per failure.

- ``BoundedPacketizer``: an SSH packet longer than ``limit`` ends the connection (paramiko reads
  whatever length the client announces, by concatenation, before authentication too).
- Each new channel gets the window the connection has left (``connection_window``, at most
  ``window_size`` a channel, at least one packet), and input pipes that refuse more than it:
  what the server holds for one connection is bounded even when nothing reads its channels.
- ``VerifiedAuthHandler`` tells the server object the outcome of a signed public-key request
  (``signature_checked``): paramiko asks ``check_auth_publickey`` *before* it verifies the
  signature, and for a mere query (no signature) too, so that answer cannot be the success.
- paramiko logs a client's disconnect or protocol error with a traceback, one record a line;
  here it is one line with the client's address, the traceback dropped; before the login,
  under the address's log limit (``sync.log_limit``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any, Protocol

import paramiko
from paramiko.auth_handler import AuthHandler
from paramiko.common import AUTH_SUCCESSFUL, cMSG_DISCONNECT
from paramiko.packet import Packetizer
from paramiko.ssh_exception import SSHException

from sync.limits import ServerLimits
from sync.log_limit import AddressLogLimit
from sync.ssh_pipe import ChunkPipe, DiscardPipe

LOG_CHANNEL = "expedito.ssh"
# paramiko's ERROR lines about what a client did (not the server's fault): logged at INFO
_CLIENT_CAUSED = (
    "Exception (server)",
    "Socket exception",
    "Exception in subsystem handler",
    "Channel request for unknown channel",
)


# RFC 4253 11.1: SSH_DISCONNECT_TOO_MANY_CONNECTIONS
DISCONNECT_TOO_MANY_CONNECTIONS = 12


# RFC 4253 11.1: SSH_DISCONNECT_SERVICE_NOT_AVAILABLE (the user's home cannot be made)
DISCONNECT_SERVICE_NOT_AVAILABLE = 7


class SignatureListener(Protocol):
    def signature_checked(self, verified: bool) -> tuple[int, str] | None:
        """Take the verdict; the disconnect code and reason to end the connection instead of
        logging in (None: go on)."""
        ...


class BoundedPacketizer(Packetizer):
    """paramiko's packet reader with a largest packet (``limit``, set after the swap)."""

    limit = 0

    def read_all(self, n: int, check_rekey: bool = False) -> bytes:
        if self.limit and n > self.limit:
            raise SSHException(f"packet too long ({n} bytes)")
        data: bytes = super().read_all(n, check_rekey)
        return data


class VerifiedAuthHandler(AuthHandler):
    """Reports the result of each signed public-key request to the server object, which may
    end the connection instead (a user with as many sessions as allowed)."""

    def _send_auth_result(self, username: str, method: str, result: int) -> None:
        server: Any = self.transport.server_object
        if method == "publickey" and hasattr(server, "signature_checked"):
            listener: SignatureListener = server
            refusal = listener.signature_checked(result == AUTH_SUCCESSFUL)
            if refusal is not None:
                disconnect(self.transport, *refusal)
                return
        super()._send_auth_result(username, method, result)  # type: ignore[misc]


def disconnect(transport: paramiko.Transport, code: int, reason: str, linger: float = 1.0) -> None:
    """Say why (SSH_MSG_DISCONNECT: OpenSSH prints "Received disconnect from …: REASON"),
    then close. Closed at once, a socket with unread input resets the connection, and the
    client may lose the message: the end is sent, and what the client still sends read and
    dropped until it closes (at most ``linger`` seconds)."""
    message = paramiko.Message()
    message.add_byte(cMSG_DISCONNECT)
    message.add_int(code)
    message.add_string(reason)
    message.add_string("en")
    sock: Any = transport.sock
    with contextlib.suppress(OSError, EOFError, SSHException):  # the client may have gone
        transport._send_message(message)  # type: ignore[attr-defined]
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + linger
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(4096):
                break
    transport.close()


class ServerTransport(paramiko.Transport):
    """One client connection, server side (see the module's docstring)."""

    def __init__(
        self,
        sock: socket.socket,
        address: str,
        limits: ServerLimits,
        log_limit: AddressLogLimit | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            sock,
            default_window_size=limits.window_size,
            default_max_packet_size=limits.max_packet_size,
            **kwargs,
        )
        self.address = address
        self.limits = limits
        self.log_limit = log_limit
        self.packetizer.__class__ = BoundedPacketizer
        # room for the largest channel packet with its headers, padding and MAC
        self.packetizer.limit = limits.max_packet_size + 4096  # type: ignore[attr-defined]
        self.set_log_channel(LOG_CHANNEL)

    def _parse_newkeys(self, m: paramiko.Message) -> None:
        if self.server_mode and self.auth_handler is None:
            self.auth_handler = VerifiedAuthHandler(self)
        super()._parse_newkeys(m)  # type: ignore[misc]

    def _parse_channel_open(self, m: paramiko.Message) -> None:
        channels = self._channels.values()  # type: ignore[attr-defined]
        granted = sum(channel.in_window_size for channel in channels)
        left = self.limits.connection_window - granted
        self.default_window_size = max(
            self.limits.max_packet_size, min(self.limits.window_size, left)
        )
        known = {id(channel) for channel in channels}
        super()._parse_channel_open(m)  # type: ignore[misc]
        for channel in self._channels.values():  # type: ignore[attr-defined]
            if id(channel) not in known:
                # on the transport thread, before any data of the channel can arrive
                channel.in_buffer = ChunkPipe.replacing(channel.in_buffer, channel.in_window_size)
                channel.in_stderr_buffer = DiscardPipe()

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        if isinstance(msg, list):
            return  # a traceback (paramiko's util.tb_strings()): the line before says it
        if level >= logging.ERROR and str(msg).startswith(_CLIENT_CAUSED):
            level = logging.INFO
        if level >= logging.INFO:
            msg = f"{self.address}: {msg}"
            if (
                self.log_limit is not None
                and not self.is_authenticated()
                and not self.log_limit.allow(self.address, _text(msg, args))
            ):
                return  # one address's flood: counted, summarised once (sync.log_limit)
        super()._log(level, msg, *args)  # type: ignore[misc]


def _text(msg: object, args: tuple[Any, ...]) -> str:
    try:
        return str(msg) % args if args else str(msg)
    except (TypeError, ValueError):
        return str(msg)
