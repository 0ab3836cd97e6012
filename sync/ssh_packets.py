"""paramiko's packet layer with a short path for channel data under AES-GCM.

paramiko builds, encrypts and parses every SSH packet through ``Message`` objects and a
chain of copies: a 256 KB packet received was copied about seven times (a ``bytes`` grown by
concatenation as the socket delivers it, the body cut from its header, the payload cut from
its padding, the message cut from its type, the data cut from the message, ...), and each
32 KB packet sent (OpenSSH clients take at most 32 KB a channel packet, so a 255 KB READ
answer is 8 of them) cost a ``Message``, its copies, a lock round, a random padding from
``os.urandom`` and a ``send`` of its own. Under AES-GCM:

- received: the packet is read into one buffer (``readv``), decrypted in one call, and
  the data of an SSH_MSG_CHANNEL_DATA is handed to the channel as a view of the plaintext
  (``ChannelData``): no copy between the decryption and the channel's pipe;
- sent: ``send_channel_data`` builds all the packets of a piece of channel data at once
  (each within the peer's largest packet), encrypts each, and writes them with one
  ``writev``.

The same holds for AES-CTR with an encrypt-then-MAC (``hmac-sha2-*-etm``: what OpenSSH's client
picks with this server when not told a cipher), the HMAC's key schedule made once per key.

Everything else (key exchange, MAC-then-encrypt, the messages before the keys) keeps
paramiko's own path. The initial handshake's timeout is a deadline the reads check instead of
paramiko's ``threading.Timer`` (a thread per connection). Sequence numbers, the GCM nonce and
the byte and packet counts that trigger a rekey are paramiko's own fields
(``_Packetizer__…``), read and updated as its code does.
"""

from __future__ import annotations

import errno
import hmac
import os
import struct
import time
from typing import Any

from paramiko.common import MSG_CHANNEL_DATA
from paramiko.message import Message
from paramiko.packet import NeedRekeyException, Packetizer
from paramiko.ssh_exception import SSHException

_SMALL = 4096  # a read this short does not grow the read buffer
_FIRST_BUFFER = 16 * 1024  # the read buffer of a connection, until packets are large...
_BUFFER = 288 * 1024  # ...then room for the largest packet (256 KB and its headers) and more


class ChannelData(Message):
    """SSH_MSG_CHANNEL_DATA as parsed from a decrypted packet: the recipient channel as the
    message's content, and the data as a view of the plaintext (``get_binary``, which
    paramiko's ``Channel._feed`` calls)."""

    def __init__(self, plain: bytes, end: int) -> None:
        super().__init__(plain[2:6])
        length = int.from_bytes(plain[6:10], "big")
        if 10 + length > end:
            raise SSHException("channel data longer than its packet")
        self.data = memoryview(plain)[10 : 10 + length]

    def get_binary(self) -> Any:
        return self.data


class FastPacketizer(Packetizer):
    """paramiko's ``Packetizer`` with the short paths above (swapped in by class)."""

    limit = 0  # largest packet read (0: no limit); set per connection

    # The initial handshake's deadline. paramiko starts a ``threading.Timer`` for it, a third
    # thread for each connection (started, cancelled and joined at every login); the reads
    # check the deadline where they checked the timer's flag (each wake of the socket's
    # 0.1 s timeout), so the handshake times out as before.
    _handshake_deadline: float | None = None
    _handshake_done = False

    def start_handshake(self, timeout: float) -> None:
        if self._handshake_deadline is None:  # once: a rekey's handshake has no deadline
            self._handshake_deadline = time.monotonic() + float(timeout)

    def handshake_timed_out(self) -> bool:
        deadline = self._handshake_deadline
        return deadline is not None and not self._handshake_done and time.monotonic() > deadline

    def complete_handshake(self) -> None:
        if self._handshake_deadline is not None:
            self._handshake_done = True

    def _fast(self, direction: str) -> bool:
        """AES-GCM, or a cipher with an encrypt-then-MAC (AES-CTR + hmac-sha2-*-etm: what
        OpenSSH's client picks here when not told), no compression, no packet dump."""
        p: Any = self
        return bool(
            (
                getattr(p, f"_Packetizer__aead_{direction}")
                or getattr(p, f"_Packetizer__etm_{direction}")
            )
            and getattr(p, f"_Packetizer__compress_engine_{direction}") is None
            and not p._Packetizer__dump_packets
        )

    def _mac(self, direction: str) -> Any:
        """A fresh HMAC of the direction's key (its key schedule made once per key)."""
        p: Any = self
        key = getattr(p, f"_Packetizer__mac_key_{direction}")
        cached = getattr(self, f"_hmac_{direction}", None)
        if cached is None or cached[0] is not key:
            engine = getattr(p, f"_Packetizer__mac_engine_{direction}")
            cached = (key, hmac.new(key, digestmod=engine))
            setattr(self, f"_hmac_{direction}", cached)
        return cached[1].copy()

    # Reading -------------------------------------------------------------------------------

    _view: memoryview | None = None  # the read buffer (made at the first read)
    _start = 0  # its first byte not yet taken
    _end = 0  # its first byte not yet received

    def read_all(self, n: int, check_rekey: bool = False) -> bytes:
        if self.limit and n > self.limit:
            raise SSHException(f"packet too long ({n} bytes)")
        p: Any = self
        if p._Packetizer__remainder:  # what followed the banner: paramiko's own code
            data: bytes = super().read_all(n, check_rekey)
            return data
        return bytes(self._read(n, check_rekey))

    def _read(self, n: int, check_rekey: bool = False) -> memoryview:
        """The next ``n`` bytes, as a view valid until the next read. The socket is read
        ahead into one buffer (``readv`` first: no ``poll`` when bytes are there), so
        packets that arrive together cost one system call; the waits are paramiko's
        ``read_all``'s (its timeouts, keepalives and rekey check)."""
        view = self._view
        if view is None or (n > len(view) and self._start == self._end):
            view = self._view = memoryview(bytearray(max(n, _FIRST_BUFFER)))
            self._start = self._end = 0
        if self._end - self._start < n:
            self._make_room(n)
            self._fill(n, check_rekey)
            view = self._view
        assert view is not None
        start = self._start
        self._start += n
        if self._start == self._end:
            self._start = self._end = 0
        return view[start : start + n]

    def _make_room(self, n: int) -> None:
        """Room after the unread bytes for ``n`` in all: moved to the front, or into a
        larger buffer (``_BUFFER`` at least once packets are large)."""
        view = self._view
        assert view is not None
        if len(view) - self._start >= n and (n <= _SMALL or len(view) >= _BUFFER):
            return
        unread = bytes(view[self._start : self._end])
        size = len(view)
        if n > len(view) or (n > _SMALL and len(view) < _BUFFER):
            size = max(n, _BUFFER)
            view = self._view = memoryview(bytearray(size))
        view[: len(unread)] = unread
        self._start, self._end = 0, len(unread)

    def _fill(self, n: int, check_rekey: bool) -> None:
        p: Any = self
        sock = p._Packetizer__socket
        view = self._view
        assert view is not None
        had = self._end - self._start
        while self._end - self._start < n:
            if self.handshake_timed_out():
                raise EOFError()
            free = view[self._end :]
            count = -1
            try:
                count = os.readv(sock.fileno(), [free])
            except BlockingIOError:
                try:
                    count = sock.recv_into(free)
                except TimeoutError:
                    count = -1
                except OSError as exc:
                    if exc.errno != errno.EAGAIN:
                        if p._Packetizer__closed:
                            raise EOFError() from exc
                        raise
            except OSError as exc:
                if p._Packetizer__closed:
                    raise EOFError() from exc
                raise
            if count == 0:
                raise EOFError()
            if count > 0:
                self._end += count
                continue
            if p._Packetizer__closed:
                raise EOFError()
            if check_rekey and self._end - self._start == had == 0 and p._Packetizer__need_rekey:
                raise NeedRekeyException()
            p._check_keepalive()

    def read_message(self) -> tuple[int, Message]:
        if not self._fast("in"):
            result: tuple[int, Message] = super().read_message()
            return result
        p: Any = self
        head = bytes(self._read(4, check_rekey=True))
        size = int.from_bytes(head, "big")
        if self.limit and size > self.limit:
            raise SSHException(f"packet too long ({size} bytes)")
        if size < 16 or size % p._Packetizer__block_size_in:
            raise SSHException("Invalid packet blocking")
        tag = p._Packetizer__mac_size_in
        body = self._read(size + tag)
        plain: bytes
        if p._Packetizer__aead_in:
            plain = p._Packetizer__block_engine_in.decrypt(p._Packetizer__iv_in, body, head)
            p._Packetizer__iv_in = p._inc_iv_counter(p._Packetizer__iv_in)
        else:  # encrypt-then-MAC: the MAC over the sequence number, length and ciphertext
            mac = self._mac("in")
            mac.update(p._Packetizer__sequence_number_in.to_bytes(4, "big") + head)
            mac.update(body[:size])
            if not hmac.compare_digest(mac.digest()[:tag], body[size:]):
                raise SSHException("Mismatched MAC")
            plain = p._Packetizer__block_engine_in.update(body[:size])
        body.release()
        end = size - plain[0]
        if plain[0] < 4 or end < 2:
            raise SSHException("invalid padding")
        cmd = plain[1]
        message: Message
        if cmd == MSG_CHANNEL_DATA and end >= 10:
            message = ChannelData(plain, end)
        else:
            message = Message(plain[2:end])
        message.seqno = p._Packetizer__sequence_number_in
        p._Packetizer__sequence_number_in = (message.seqno + 1) & 0xFFFFFFFF
        self._count_received(size + tag + 4)
        return cmd, message

    def _count_received(self, raw: int) -> None:
        """paramiko's rekey accounting for one packet received (see ``read_message``)."""
        p: Any = self
        p._Packetizer__received_bytes += raw
        p._Packetizer__received_packets += 1
        if p._Packetizer__need_rekey:
            p._Packetizer__received_bytes_overflow += raw
            p._Packetizer__received_packets_overflow += 1
            if (
                p._Packetizer__received_packets_overflow >= self.REKEY_PACKETS_OVERFLOW_MAX
                or p._Packetizer__received_bytes_overflow >= self.REKEY_BYTES_OVERFLOW_MAX
            ):
                raise SSHException("Remote transport is ignoring rekey requests")
        elif (
            p._Packetizer__received_packets >= self.REKEY_PACKETS
            or p._Packetizer__received_bytes >= self.REKEY_BYTES
        ):
            p._Packetizer__received_bytes_overflow = 0
            p._Packetizer__received_packets_overflow = 0
            p._trigger_rekey()

    # Writing -------------------------------------------------------------------------------

    def send_channel_data(self, channel_id: int, data: memoryview, largest: int) -> None:
        """``data`` as SSH_MSG_CHANNEL_DATA packets of at most ``largest`` bytes of data
        each, to the peer's channel ``channel_id`` (its window already taken)."""
        if not self._fast("out"):
            for start in range(0, len(data), largest):
                message = Message()
                message.add_byte(bytes((MSG_CHANNEL_DATA,)))
                message.add_int(channel_id)
                message.add_string(bytes(data[start : start + largest]))
                self.send_message(message)
            return
        p: Any = self
        with p._Packetizer__write_lock:
            engine = p._Packetizer__block_engine_out
            block = p._Packetizer__block_size_out
            iv = p._Packetizer__iv_out
            aead = p._Packetizer__aead_out
            sequence = p._Packetizer__sequence_number_out
            tag = p._Packetizer__mac_size_out
            head = struct.pack(">BI", MSG_CHANNEL_DATA, channel_id)
            # random padding under GCM; zeros under CTR, as paramiko and OpenSSH do
            padding_bytes = os.urandom(block + 3) if aead else bytes(block + 3)
            buffers: list[bytes] = []
            packets = 0
            for start in range(0, len(data), largest):
                chunk = data[start : start + largest]
                payload = 9 + len(chunk)
                padding = 3 + block - ((payload + 4) % block)
                length = struct.pack(">I", payload + padding + 1)
                body = b"".join(
                    (
                        bytes((padding,)),
                        head,
                        len(chunk).to_bytes(4, "big"),
                        chunk,
                        padding_bytes[:padding],
                    )
                )
                if aead:
                    buffers += (length, engine.encrypt(iv, body, length))
                    iv = p._inc_iv_counter(iv)
                else:
                    encrypted = engine.update(body)
                    mac = self._mac("out")
                    mac.update(((sequence + packets) & 0xFFFFFFFF).to_bytes(4, "big") + length)
                    mac.update(encrypted)
                    buffers += (length, encrypted, mac.digest()[:tag])
                packets += 1
            if aead:
                p._Packetizer__iv_out = iv
            p._Packetizer__sequence_number_out = (
                p._Packetizer__sequence_number_out + packets
            ) & 0xFFFFFFFF
            sent = self._send_buffers(buffers)
            p._Packetizer__sent_bytes += sent
            p._Packetizer__sent_packets += packets
            if (
                p._Packetizer__sent_packets >= self.REKEY_PACKETS
                or p._Packetizer__sent_bytes >= self.REKEY_BYTES
            ) and not p._Packetizer__need_rekey:
                p._Packetizer__received_bytes_overflow = 0
                p._Packetizer__received_packets_overflow = 0
                p._trigger_rekey()

    def _send_buffers(self, buffers: list[bytes]) -> int:
        """Write ``buffers`` whole (``sendmsg``, a partial write resumed), waiting as
        paramiko's ``write_all`` does; returns the bytes written."""
        p: Any = self
        p._Packetizer__keepalive_last = time.time()
        sock = p._Packetizer__socket
        total = sum(len(buffer) for buffer in buffers)
        views = [memoryview(buffer) for buffer in buffers]
        while views:
            try:
                sent = os.writev(sock.fileno(), views)  # no poll first when there is room
            except BlockingIOError:
                try:
                    sent = sock.sendmsg(views)
                except TimeoutError:
                    sent = 0
                except OSError as exc:
                    if exc.errno != errno.EAGAIN:
                        raise EOFError() from exc
                    sent = 0
            except OSError as exc:
                raise EOFError() from exc
            if sent <= 0:
                if p._Packetizer__closed:
                    raise EOFError()
                continue
            while views and sent >= len(views[0]):
                sent -= len(views.pop(0))
            if sent:
                views[0] = views[0][sent:]
        return total
