"""paramiko's server transport, hardened: what a connection may make the server hold, a login
counted good only once its signature verified, and one log line per failure.

- The packet layer is ``sync.ssh_packets.FastPacketizer``: an SSH packet longer than ``limit``
  ends the connection (paramiko reads whatever length the client announces, before
  authentication too), and channel data under AES-GCM takes a short path both ways
  (``send_channel_data`` writes a whole SFTP answer as one batch of packets).
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
from paramiko.buffered_pipe import PipeTimeout
from paramiko.common import AUTH_SUCCESSFUL, cMSG_CHANNEL_WINDOW_ADJUST, cMSG_DISCONNECT
from paramiko.ssh_exception import SSHException

from sync.limits import ServerLimits
from sync.log_limit import AddressLogLimit
from sync.ssh_packets import FastPacketizer
from sync.ssh_pipe import ChunkPipe, DiscardPipe

LOG_CHANNEL = "expedito.ssh"
# paramiko's ERROR lines about what a client did (not the server's fault): logged at INFO
_CLIENT_CAUSED = (
    "Exception (server)",
    "Socket exception",
    "Exception in subsystem handler",
    "Channel request for unknown channel",
)


# what a channel's reader waits for before it wakes: below the smallest window a channel gets
# (one packet, 256 KB), which paramiko acknowledges by tenths
GATHER = 128 * 1024

# RFC 4253 11.1: SSH_DISCONNECT_TOO_MANY_CONNECTIONS
DISCONNECT_TOO_MANY_CONNECTIONS = 12


# RFC 4253 11.1: SSH_DISCONNECT_SERVICE_NOT_AVAILABLE (the user's home cannot be made)
DISCONNECT_SERVICE_NOT_AVAILABLE = 7


class SignatureListener(Protocol):
    def signature_checked(self, verified: bool) -> tuple[int, str] | None:
        """Take the verdict; the disconnect code and reason to end the connection instead of
        logging in (None: go on)."""
        ...


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
        self.packetizer.__class__ = FastPacketizer
        self.fast_packets: FastPacketizer = self.packetizer  # type: ignore[assignment]
        # room for the largest channel packet with its headers, padding and MAC
        self.fast_packets.limit = limits.max_packet_size + 4096
        self.set_log_channel(LOG_CHANNEL)

    def send_channel_data(self, channel: paramiko.Channel, data: bytes | memoryview) -> int:
        """All of ``data`` on ``channel`` (``Channel.sendall`` without its packet at a time):
        as much window as is open is taken at once and sent as one batch of packets;
        returns the bytes sent (fewer if the channel closed)."""
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            with channel.lock:
                size = _take_window(channel, len(view) - sent)
            if not size:
                break
            largest = channel.out_max_packet_size - 64  # as paramiko's Channel does
            self._send_batch(channel.remote_chanid, view[sent : sent + size], largest)
            sent += size
        return sent

    def recv_channel_data(self, channel: paramiko.Channel, nbytes: int) -> bytes:
        """``Channel.recv`` that waits for up to ``GATHER`` bytes before it wakes (a
        255 KB SFTP request is 8 packets of 32 KB from OpenSSH): b"" at the end."""
        pipe = channel.in_buffer
        if not isinstance(pipe, ChunkPipe):
            return channel.recv(nbytes)
        c: Any = channel
        try:
            data = pipe.gather(nbytes, GATHER, c.timeout)
        except PipeTimeout:
            raise TimeoutError() from None
        ack = c._check_add_window(len(data))
        if ack > 0:
            message = paramiko.Message()
            message.add_byte(cMSG_CHANNEL_WINDOW_ADJUST)
            message.add_int(c.remote_chanid)
            message.add_int(ack)
            t: Any = self
            t._send_user_message(message)
        return data

    def _send_batch(self, channel_id: int, data: memoryview, largest: int) -> None:
        """paramiko's ``_send_user_message`` for a batch: held back during a key exchange."""
        t: Any = self
        started = time.time()
        while True:
            t.clear_to_send.wait(0.1)
            if not t.active:
                raise EOFError()  # the connection is gone (Channel.send raises too)
            t.clear_to_send_lock.acquire()
            if t.clear_to_send.is_set():
                break
            t.clear_to_send_lock.release()
            if time.time() > started + t.clear_to_send_timeout:
                raise SSHException("Key-exchange timed out waiting for key negotiation")
        try:
            self.fast_packets.send_channel_data(channel_id, data, largest)
        finally:
            t.clear_to_send_lock.release()

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


def _take_window(channel: paramiko.Channel, size: int) -> int:
    """Up to ``size`` bytes of ``channel``'s send window, waiting for some as paramiko's
    ``Channel._wait_for_send_window`` does but without its one-packet cap (the channel's
    lock held); 0 once the channel is closed."""
    c: Any = channel
    if c.closed or c.eof_sent:
        return 0
    timeout = c.timeout
    while c.out_window_size == 0:
        if c.closed or c.eof_sent:
            return 0
        then = time.time()
        c.out_buffer_cv.wait(timeout)
        if timeout is not None:
            timeout -= time.time() - then
            if timeout <= 0.0:
                raise TimeoutError()
    if c.closed or c.eof_sent:
        return 0
    size = min(size, c.out_window_size)
    c.out_window_size -= size
    return int(size)


def _text(msg: object, args: tuple[Any, ...]) -> str:
    try:
        return str(msg) % args if args else str(msg)
    except (TypeError, ValueError):
        return str(msg)
