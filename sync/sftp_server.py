"""The SFTP server: paramiko, public keys of provisioned channels only, homes confined.

One listening socket, one accept thread, one housekeeping thread, one thread publishing the
logged-in sessions in the database for the operators and ending those they end
(``sync.session_board``); paramiko runs a thread per connection and one per SFTP session (one
subsystem a channel). Authentication asks ``store.accounts.find_account`` (one indexed query,
whatever the refusal reason, so an unknown user and a wrong key get the same answer; compiled
once, run on the process's shared connection ``store.db.shared_reader``: a login opens no
connection) and counts for the address only once paramiko has verified the signature
(``sync.ssh_transport``); every SFTP request first checks that the account is live
(``account_is_live``'s indexed SELECT, compiled once, on the shared connection), so a deleted
channel or sender stops an open session at its next request (a READ or WRITE within half a
second of the last check trusts it; the CLOSE that commits an upload asks). Limits
(``sync.limits``): login grace, growing delay then ban per address, unauthenticated connections
per address and OpenSSH-style random early drop, sessions per user (counted at authentication,
channels or not), channels and windows per connection, open handles, idle time, file size, READ
length, SFTP packet length. Large SSH windows and packets and OpenSSH's
``limits@openssh.com`` extension let OpenSSH clients send 255 KB requests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.message import Message
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_INIT,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READ,
    CMD_VERSION,
    CMD_WRITE,
    SFTP_EOF,
    SFTP_FAILURE,
    SFTP_OK,
    SFTP_PERMISSION_DENIED,
    SFTPError,
)

from store.accounts import Account, find_account, live_channels, liveness_statement
from store.db import db, shared_reader, thread_connection
from sync import scp_server, stats
from sync.homes import ensure_home, home_of
from sync.limits import (
    MAX_PACKET,
    MAX_READ,
    AddressGuard,
    ServerLimits,
    early_drop,
    source_of,
)
from sync.log_limit import AddressLogLimit
from sync.memory import give_back_memory
from sync.proxy_protocol import Network, ProxyHeaderError, read_header, trusted
from sync.quota import InQuota
from sync.reuseport import steer_by_address
from sync.scp_server import send_exit_status
from sync.seats import Seat, Seats
from sync.session_board import SessionBoard
from sync.sftp_algorithms import configure
from sync.sftp_fs import ConfinedSFTP, ReadHandle, UploadHandle, UploadHook, no_upload_hook
from sync.sftp_uploads import QUOTA_EXCEEDED, RecentUploads
from sync.ssh_transport import (
    DISCONNECT_SERVICE_NOT_AVAILABLE,
    DISCONNECT_TOO_MANY_CONNECTIONS,
    ServerTransport,
)
from sync.stats import ServerStats

log = logging.getLogger("expedito.sftp")

SFTP_VERSION = 3
# longest SFTP packet taken (a 255 KB WRITE and its header); a longer one is read and dropped
# as it arrives, and refused (OpenSSH's sftp-server ends the session)
MAX_SFTP_PACKET = MAX_PACKET + 1024
EXTENSIONS = (("limits@openssh.com", "1"), ("posix-rename@openssh.com", "1"))
PROXY_HEADER_WAIT = 5.0  # seconds a balancer has to send its PROXY header
PROXY_HEADERS_AT_ONCE = 256  # PROXY headers awaited at once (each a short-lived thread)
SESSION_WAIT = 0.5  # seconds a login at the user's limit waits for an ended session to go
# connections the kernel may hold before they are accepted: 128 made a burst of logins at
# the same instant lose SYNs (retried by the clients a second later, then 3 s later...)
LISTEN_BACKLOG = 1024
SWEEP = 0.25  # seconds between the housekeeping's sweeps while there are connections
IDLE_SWEEP = 5.0  # … and at most between two sweeps without any (the wake-up is an event)
LIVE_FOR = 0.5  # seconds a READ or WRITE trusts the last liveness check (see live_lately)


class SessionServer(paramiko.ServerInterface):
    """One connection: who it is, what it may do (paramiko's server interface)."""

    def __init__(self, service: SFTPService, address: str) -> None:
        self.service = service
        self.limits = service.limits
        self.address = address
        self.source = source_of(address)  # what the per-address limits count by
        self.account: Account | None = None
        self.home: Path | None = None
        self.transport: paramiko.Transport | None = None
        self.failures = 0
        self.channels = 0
        self.counted = False
        self.seat: Seat | None = None  # its place among the user's sessions on these homes
        self.last_active = time.monotonic()
        self.started_at = time.time()
        self.session_id = uuid.uuid4().hex[:16]  # its row in sftp_session (sync.session_board)
        self.bytes_in = self.bytes_out = 0  # SFTP bytes, counted by the session's thread
        self.current_file = ""
        self._pending: Account | None = None  # its key matched; its signature not yet checked
        self._claimed: set[int] = set()  # channels that run something (one thing each)
        self._handles: list[paramiko.SFTPHandle] = []
        self._live_statement: tuple[str, list[Any]] | None = None
        self.live_checked = -LIVE_FOR  # when live() last said yes (monotonic)

    @property
    def user(self) -> str:
        return self.account.technical_user if self.account else "?"

    @property
    def recent(self) -> RecentUploads:
        return self.service.recent

    @property
    def quota(self) -> InQuota:
        return self.service.quota

    # Authentication -----------------------------------------------------------------------

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        return self._refuse(username, stats.REFUSED_PASSWORD)

    def check_auth_interactive(self, username: str, submethods: str) -> Any:
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        """Is this key one of ``username``'s? Asked for a query (no signature: paramiko then
        answers PK_OK) and before verifying a signature: not a success yet (see
        ``signature_checked``)."""
        self._pending = None
        if self.service.guard.banned(self.address):
            self.service.stats.refused(stats.REFUSED_BANNED)
            self._close()
            return AUTH_FAILED
        account = find_account(username, f"{key.get_name()} {key.get_base64()}", shared_reader)
        if account is None:
            return self._refuse(username)
        self._pending = account
        return AUTH_SUCCESSFUL

    def signature_checked(self, verified: bool) -> tuple[int, str] | None:
        """paramiko's verdict on the signature of the request ``check_auth_publickey`` just
        accepted the key of (``sync.ssh_transport.VerifiedAuthHandler``): only a verified
        signature logs in and clears the address's failures; a bad one is a failure. The
        login is a session of the user from now on, channels or not: one past the user's
        limit is not logged in, and the code and reason returned end the connection.

        The user's home and its six folders are made here, before the login completes, where
        missing (the cycle does not make them: ``sync.homes.ensure_home``, idempotent, safe
        when two sessions arrive at once). A home that cannot be made is one log line and a
        refused login; the next login tries again."""
        account, self._pending = self._pending, None
        if account is None:
            return None
        if not verified:
            self._refuse(account.technical_user, stats.REFUSED_SIGNATURE)
            return None
        user = account.technical_user
        seat = self.service.acquire_session(user)
        if seat is None:
            limit = self.limits.max_sessions_per_user
            log.info(
                "%s from %s: too many sessions (%d), connection closed", user, self.address, limit
            )
            self.service.stats.refused(stats.REFUSED_SESSIONS)
            return (
                DISCONNECT_TOO_MANY_CONNECTIONS,
                f"too many sessions for {user} (at most {limit} at once)",
            )
        try:
            ensure_home(self.service.homes_root, user)
        except OSError as exc:
            self.service.release_session(user, seat)
            log.error(
                "%s from %s: home %s cannot be made (%s): login refused",
                user,
                self.address,
                exc.filename or home_of(self.service.homes_root, user),
                exc.strerror or exc,
            )
            self.service.stats.refused(stats.REFUSED_HOME)
            return (
                DISCONNECT_SERVICE_NOT_AVAILABLE,
                "your SFTP folders cannot be made now; try again later",
            )
        self.counted = True
        self.seat = seat
        self.account = account
        self._live_statement = liveness_statement(account.channel_id)
        self.home = home_of(self.service.homes_root, account.technical_user)
        self.last_active = time.monotonic()
        self.service.guard.success(self.address)
        return None

    def _refuse(self, username: str, reason: str = stats.REFUSED_KEY) -> int:
        self.service.stats.refused(reason)
        self.failures += 1
        delay = self.service.guard.failure(self.address)
        self.service.log_before_login(
            self.address,
            "refused %r from %s (%d): %s",
            username,
            self.address,
            self.failures,
            reason,
        )
        if delay:
            time.sleep(delay)
        if self.failures >= self.limits.max_auth_tries or self.service.guard.banned(self.address):
            self._close()
        return AUTH_FAILED

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        """End the connection (an operator ended the session)."""
        self._close()

    # Channels -----------------------------------------------------------------------------

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session" or self.account is None:
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if self.channels >= self.limits.max_channels_per_connection:
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        self.channels += 1
        self.touch()
        return OPEN_SUCCEEDED

    def claim(self, channel: paramiko.Channel) -> bool:
        """Reserve ``channel`` for one subsystem or command; False if it already runs one (a
        second request on a channel used to start a second thread reading the same
        channel, left blocked when the session ended)."""
        if channel.get_id() in self._claimed:
            return False
        self._claimed.add(channel.get_id())
        self.touch()
        return True

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != "sftp" or self.account is None or self.home is None:
            return False
        if not self.claim(channel):
            log.info("%s: a second subsystem on channel %d refused", self.user, channel.get_id())
            return False
        result: bool = super().check_channel_subsystem_request(channel, name)
        return result

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        """Legacy scp only (``scp -t``/``scp -f``, served in-process: nothing is executed)."""
        if self.account is None or not self.claim(channel):
            return False
        return scp_server.start(self, channel, command)

    # What the SFTP layer calls ------------------------------------------------------------

    def touch(self) -> None:
        """The client did something (for the idle timeout)."""
        self.last_active = time.monotonic()

    def live(self) -> bool:
        """Is the account still provisioned? One indexed SELECT, no cache (the statement is
        compiled once: see ``liveness_statement``; on ``shared_reader``)."""
        if self._live_statement is None:
            return False
        sql, params = self._live_statement
        alive = bool(shared_reader.fetchall(sql, params))
        if alive:
            self.live_checked = time.monotonic()
        return alive

    def live_lately(self) -> bool:
        """``live()``, or True when it said so less than ``LIVE_FOR`` seconds ago: the READs
        and WRITEs of a transfer (4 a MB) do not each cost a query; every other request
        (an OPEN, the CLOSE that commits an upload, ...) asks the database."""
        if time.monotonic() - self.live_checked < LIVE_FOR:
            return True
        return self.live()

    def track(self, handle: paramiko.SFTPHandle) -> None:
        self._handles.append(handle)
        self.current_file = os.path.basename(getattr(handle, "final", "") or "")

    def uploaded(self, path: Path) -> None:
        assert self.account is not None
        log.info("%s: received %s (%d bytes)", self.user, path.name, path.stat().st_size)
        try:
            self.service.on_upload(self.account, path)
        except Exception:
            log.exception("on_upload hook failed for %s", path)


# paramiko's stubs leave out the internals this subclass builds on (_process, _send_status...)
_SFTPServerBase: Any = paramiko.SFTPServer


_TOO_LONG = -1  # a packet type of our own: the packet was longer than MAX_SFTP_PACKET


class ExpeditoSFTP(_SFTPServerBase):
    """paramiko's SFTP subsystem with the account check per request, limits@openssh.com,
    closes that can report failure, interrupted uploads discarded, open handles capped,
    packets bounded and WRITE data taken without copies."""

    file_table: dict[bytes, Any]
    folder_table: dict[bytes, Any]

    def __init__(
        self, channel: paramiko.Channel, name: str, server: SessionServer, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(channel, name, server, ConfinedSFTP)
        self.session = server
        self._body = b""  # the packet being processed, after its type byte
        self._refused = b""  # the handle of the last WRITE refused as too long
        self._failures = 0  # requests that raised (logged once)
        self._gone = False  # the connection ended: drop what is still buffered

    def _read_packet(self) -> tuple[int, bytes]:
        """The next packet's type and body. A packet longer than ``MAX_SFTP_PACKET`` is read
        and dropped as it arrives (it costs nothing), then refused; one of 16 MB or more
        is garbage and ends the session, as in paramiko. Once the connection is gone, what
        the client had sent is not read on (it could be millions of empty packets)."""
        transport = self.sock.get_transport()
        if self._gone or transport is None or not transport.is_active():
            raise EOFError()
        size = int.from_bytes(self._read_all(4), "big")
        if size > MAX_SFTP_PACKET:
            if size >= 1 << 24 or size < 5:
                log.info(
                    "%s from %s: SFTP protocol error: packet of %d bytes, session ended",
                    self.session.user,
                    self.session.address,
                    size,
                )
                raise SFTPError(f"garbage packet ({size} bytes)")
            head = self._read_all(5)
            left = size - 5
            self._refused = b""
            if head[0] == CMD_WRITE:  # its upload must not be kept with a hole
                length = int.from_bytes(self._read_all(4), "big")
                left -= 4
                if length <= min(left, 256):
                    self._refused = self._read_all(length)
                    left -= length
            self._skip(left)
            log.info(
                "%s from %s: SFTP packet of %d bytes refused",
                self.session.user,
                self.session.address,
                size,
            )
            self._body = head[1:]
            return _TOO_LONG, self._body
        if not size:
            return 0, b""
        kind = self._read_all(1)[0]
        self._body = self._read_all(size - 1) if size > 1 else b""
        return kind, self._body

    def _skip(self, n: int) -> None:
        while n > 0:
            data = self.sock.recv(min(n, MAX_SFTP_PACKET))
            if not data:
                raise EOFError()
            n -= len(data)

    def _send_server_version(self) -> int:
        t, data = self._read_packet()
        if t != CMD_INIT:
            raise SFTPError("Incompatible sftp protocol")
        version: int = int.from_bytes(data[:4], "big")
        msg = Message()
        msg.add_int(SFTP_VERSION)
        for name, value in EXTENSIONS:
            msg.add_string(name)
            msg.add_string(value)
        self._send_packet(CMD_VERSION, msg)
        return version

    def _read_all(self, n: int) -> bytes:
        # paramiko's version grows a bytes object by concatenation: quadratic for 255 KB
        self.session.bytes_in += n
        transport = self.sock.get_transport()
        receive = (
            transport.recv_channel_data
            if isinstance(transport, ServerTransport)
            else lambda _channel, size: self.sock.recv(size)
        )
        chunks = []
        while n > 0:
            data = receive(self.sock, n)
            if not data:
                raise EOFError()
            chunks.append(data)
            n -= len(data)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _write_all(self, out: bytes) -> None:
        # paramiko's version sends a packet at a time and re-slices the rest after each:
        # here the whole answer goes as one batch of packets (sync.ssh_packets)
        self.session.bytes_out += len(out)
        transport = self.sock.get_transport()
        if isinstance(transport, ServerTransport):
            if transport.send_channel_data(self.sock, out) < len(out):
                raise EOFError()
            return
        view = memoryview(out)
        while view:
            sent = self.sock.send(view)
            if sent <= 0:
                raise EOFError()
            view = view[sent:]

    def _send_data(self, request_number: int, data: bytes) -> None:
        """SSH_FXP_DATA without paramiko's three copies of the payload."""
        self._write_all(
            struct.pack(">IBII", len(data) + 9, CMD_DATA, request_number, len(data)) + data
        )

    def start_subsystem(
        self, name: str, transport: paramiko.Transport, channel: paramiko.Channel
    ) -> None:
        try:
            with thread_connection():  # opened only if used: liveness is asked on shared_reader
                super().start_subsystem(name, transport, channel)
        except (EOFError, OSError, SFTPError, paramiko.SSHException) as exc:
            log.info(
                "%s from %s: SFTP session ended: %s",
                self.session.user,
                self.session.address,
                str(exc) or type(exc).__name__,
            )
        finally:
            self._abort_uploads()

    def _log(self, level: int, msg: Any) -> None:
        if not isinstance(msg, list):  # a list is a traceback: the line before says it
            super()._log(level, msg)

    def _abort_uploads(self) -> None:
        for handle in list(self.file_table.values()):
            if isinstance(handle, UploadHandle | ReadHandle):
                handle.finish(aborted=True)
        self.file_table = {}

    def finish_subsystem(self) -> None:
        self._abort_uploads()
        send_exit_status(self.sock, 0)  # the client's EOF ended it: a normal end
        super().finish_subsystem()

    def _process(self, t: int, request_number: int, msg: Message) -> None:
        """Every request gets an answer: an unexpected error (the database gone, a bug) is
        SSH_FX_FAILURE and one log line for the session, not paramiko's traceback formatted
        again for each packet. Once the connection is gone the requests still buffered are
        dropped at no cost (a stopped server's threads end at once)."""
        if self._gone:
            return
        try:
            self._serve(t, request_number, msg)
        except Exception:
            self._failures += 1
            if self._failures == 1:
                log.exception("%s: SFTP request %d failed", self.session.user, t)
            transport = self.sock.get_transport()
            if transport is None or not transport.is_active():
                self._gone = True
                return
            with contextlib.suppress(Exception):
                self._send_status(request_number, SFTP_FAILURE, "internal error")

    def _serve(self, t: int, request_number: int, msg: Message) -> None:
        self.session.touch()
        if t == _TOO_LONG:
            entry = self.file_table.get(self._refused)
            if isinstance(entry, UploadHandle):
                entry.failed = True
            self._send_status(request_number, SFTP_FAILURE, "packet too long")
            return
        if not (self.session.live_lately() if t in (CMD_READ, CMD_WRITE) else self.session.live()):
            log.info("%s: access revoked, closing the session", self.session.user)
            self._send_status(request_number, SFTP_PERMISSION_DENIED, "access revoked")
            self._abort_uploads()
            transport = self.sock.get_transport()
            if transport is not None:
                transport.close()
            return
        if t == CMD_CLOSE:
            position = msg.packet.tell()
            handle = msg.get_binary()
            entry = self.file_table.pop(handle, None)
            if isinstance(entry, UploadHandle | ReadHandle):
                self._send_status(request_number, entry.finish())
                return
            if entry is not None:
                entry.close()
                self._send_status(request_number, SFTP_OK)
                return
            msg.packet.seek(position)
        elif t == CMD_READ:
            position = msg.packet.tell()
            handle = msg.get_binary()
            offset = msg.get_int64()
            length = msg.get_int()
            entry = self.file_table.get(handle)
            if isinstance(entry, ReadHandle):
                data = entry.read(offset, length)
                if isinstance(data, int):
                    self._send_status(request_number, data)
                elif not data:
                    self._send_status(request_number, SFTP_EOF)
                else:
                    self._send_data(request_number, data)
                return
            msg.packet.seek(position)
        elif t == CMD_WRITE:
            position = msg.packet.tell()
            handle = msg.get_binary()
            offset = msg.get_int64()
            length = msg.get_int()
            start = msg.packet.tell()
            entry = self.file_table.get(handle)
            if isinstance(entry, UploadHandle | ReadHandle) and start + length <= len(self._body):
                payload = memoryview(self._body)[start : start + length]  # no copy
                status = entry.write(offset, payload)
                if isinstance(entry, UploadHandle) and entry.over_quota:
                    self._send_status(request_number, status, QUOTA_EXCEEDED)
                else:
                    self._send_status(request_number, status)
                return
            msg.packet.seek(position)
        elif t in (CMD_OPEN, CMD_OPENDIR):
            if (
                len(self.file_table) + len(self.folder_table)
                >= self.session.limits.max_open_handles
            ):
                self._send_status(request_number, SFTP_FAILURE, "too many open handles")
                return
        elif t == CMD_EXTENDED:
            position = msg.packet.tell()
            if msg.get_text() == "limits@openssh.com":
                self._send_limits(request_number)
                return
            msg.packet.seek(position)
        super()._process(t, request_number, msg)

    def _send_limits(self, request_number: int) -> None:
        reply = Message()
        reply.add_int(request_number)
        reply.add_int64(MAX_PACKET)  # max packet length
        reply.add_int64(MAX_READ)  # max read length
        reply.add_int64(MAX_READ)  # max write length
        reply.add_int64(self.session.limits.max_open_handles)
        self._send_packet(CMD_EXTENDED_REPLY, reply)


@dataclass
class _Connection:
    transport: paramiko.Transport
    server: SessionServer
    started: float
    checked: float = field(default_factory=time.monotonic)


class SFTPService:
    """The listening server. ``start()`` binds (port 0 = any free port), ``stop()`` ends all."""

    def __init__(
        self,
        homes_root: str | os.PathLike[str],
        host_key: paramiko.PKey | Sequence[paramiko.PKey],
        host: str = "127.0.0.1",
        port: int = 8022,
        limits: ServerLimits | None = None,
        on_upload: UploadHook = no_upload_hook,
        reuse_port: int = 0,
        proxy_sources: Sequence[Network] = (),
    ) -> None:
        self.homes_root = Path(homes_root)
        # balancers whose connections start with a PROXY header naming the client
        # (``sync.proxy_protocol``): the client's address is the one limited, banned, logged
        self.proxy_sources = tuple(proxy_sources)
        self._proxy_headers = threading.BoundedSemaphore(PROXY_HEADERS_AT_ONCE)
        # SO_REUSEPORT: this many processes (``serve --workers``) listen on the same port, and
        # the kernel spreads the connections between them, an address's to one (0: alone)
        self.reuse_port = reuse_port
        self.host_keys = (host_key,) if isinstance(host_key, paramiko.PKey) else tuple(host_key)
        self.host = host
        self.port = port
        self.limits = limits or ServerLimits()
        self.on_upload = on_upload
        self.guard = AddressGuard(self.limits)
        self.log_limit = AddressLogLimit(
            self.limits.log_burst, self.limits.log_interval, total=self.limits.log_total
        )
        self.stats = ServerStats()
        self.quota = InQuota(self.limits.in_quota)
        self.recent = RecentUploads()  # uploads open or just made, for clients that look
        self._listener: socket.socket | None = None
        self._connections: list[_Connection] = []
        self._sessions: dict[str, int] = {}  # this process's count
        self.seats = Seats(self.homes_root, self.limits.max_sessions_per_user)  # all processes'
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # Set while there is something to watch (a connection, log lines to summarise): the
        # housekeeping and the sessions board poll then, and otherwise sleep until it is set
        # (an idle server woke six times a second for nothing: issue 18's idle CPU).
        self._busy = threading.Event()
        self._threads: list[threading.Thread] = []
        self.board = SessionBoard(self.live_sessions)  # the sessions, published for operators

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the real port once started with port 0)."""
        if self._listener is None:
            return self.host, self.port
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.reuse_port:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((self.host, self.port))
        listener.listen(LISTEN_BACKLOG)
        if self.reuse_port and not self.proxy_sources:
            # a balancer's connections all come from its address: steered by it, they would
            # all reach one worker; the kernel's own hash spreads them (the limits per
            # address then count per worker: the README's Limits)
            steer_by_address(listener, self.reuse_port)
        self._listener = listener  # blocking: ``stop`` shuts it down to end the accept loop
        self._stopping.clear()
        self._busy.clear()
        for target, name in (
            (self._accept_loop, "sftp-accept"),
            (self._housekeeping, "sftp-housekeeping"),
            (lambda: self.board.run(self._stopping, self._busy), "sftp-sessions"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("SFTP server listening on %s:%d", *self.address)

    def stop(self) -> None:
        self._stopping.set()
        self._busy.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the accept loop (Linux: EINVAL)
                self._listener.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
            self._sessions.clear()
        for connection in connections:
            connection.transport.close()
            if connection.server.seat is not None:
                connection.server.seat.release()

    # Accepting ----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, peer = self._listener.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                log.exception("accept failed")
                time.sleep(0.1)
                continue
            try:
                if self.proxy_sources and trusted(str(peer[0]), self.proxy_sources):
                    self._welcome_proxied(sock, str(peer[0]))
                else:
                    self._welcome(sock, str(peer[0]))
            except Exception:
                log.exception("connection from %s failed", peer[0])
                with contextlib.suppress(OSError):
                    sock.close()

    def _welcome_proxied(self, sock: socket.socket, balancer: str) -> None:
        """A balancer's connection: its PROXY header read in a thread of its own (the accept
        loop goes on), then welcomed as the client it names."""
        if not self._proxy_headers.acquire(blocking=False):
            self.log_before_login(
                balancer, "%s: too many PROXY headers awaited, connection closed", balancer
            )
            sock.close()
            return

        def read() -> None:
            try:
                client = read_header(sock, min(PROXY_HEADER_WAIT, self.limits.login_grace))
            except (ProxyHeaderError, OSError) as exc:
                self.log_before_login(balancer, "%s: %s, connection closed", balancer, exc)
                sock.close()
                return
            finally:
                self._proxy_headers.release()
            try:
                self._welcome(sock, client or balancer)
            except Exception:
                log.exception("connection from %s through %s failed", client, balancer)
                with contextlib.suppress(OSError):
                    sock.close()

        threading.Thread(target=read, name="sftp-proxy-header", daemon=True).start()

    def _welcome(self, sock: socket.socket, address: str) -> None:
        if self.guard.banned(address):
            self.log_before_login(address, "banned address %s: connection closed", address)
            self.stats.refused(stats.REFUSED_BANNED)
            sock.close()
            return
        refusal = self._startup_refusal(address)
        if refusal:
            self.stats.refused(stats.REFUSED_STARTUPS)
            self.log_before_login(address, "%s: connection closed (%s)", address, refusal)
            sock.close()
            return
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = ServerTransport(sock, address, self.limits, self.log_limit)
        configure(transport)
        for key in self.host_keys:
            transport.add_server_key(key)
        transport.set_subsystem_handler("sftp", ExpeditoSFTP)
        transport.auth_timeout = self.limits.login_grace
        transport.handshake_timeout = min(15.0, self.limits.login_grace)
        transport.banner_timeout = min(15.0, self.limits.login_grace)
        server = SessionServer(self, address)
        server.transport = transport
        with self._lock:
            self._connections.append(_Connection(transport, server, time.monotonic()))
            self._busy.set()
        transport.start_server(event=threading.Event(), server=server)

    def _startup_refusal(self, address: str) -> str:
        """Why a new connection from ``address`` is closed at once ("" if it is not): too many
        from this address are not authenticated yet, or the random early drop (MaxStartups)."""
        with self._lock:
            waiting = [
                c.server.source
                for c in self._connections
                if c.transport.is_active() and not c.transport.is_authenticated()
            ]
        mine = waiting.count(source_of(address))
        if mine >= self.limits.per_source_max_startups:
            return "too many unauthenticated connections from this address"
        if early_drop(len(waiting), self.limits, first=not mine):
            return f"{len(waiting)} unauthenticated connections: early drop"
        return ""

    def log_before_login(self, address: str, message: str, *args: object) -> None:
        """Log a line about ``address`` before it authenticates, under its log limit: a
        flood from one address is a few lines and a count (``sync.log_limit``)."""
        if self.log_limit.allow(address, message % args):
            log.info(message, *args)
        else:
            with self._lock:  # a summary to write once the interval is over
                self._busy.set()

    # Sessions per user --------------------------------------------------------------------

    def acquire_session(self, user: str, wait: float = SESSION_WAIT) -> Seat | None:
        """Count one more authenticated connection of ``user``: its seat (``sync.seats``:
        counted with every process serving these homes, other workers and nodes), or None
        at the limit.

        Sessions that just ended count until the next sweep (a quarter second, in whichever
        process served them), and one whose client has just quit may not have been seen to
        end yet: a client that logs in again at once (a script looping over files) must not
        be refused for them, so at the limit ended connections are let go, for up to
        ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if self._sessions.get(user, 0) >= self.limits.max_sessions_per_user:
                    self._forget_ended()
                count = self._sessions.get(user, 0)
                if count < self.limits.max_sessions_per_user:
                    seat = self.seats.take(user)
                    if seat is not None:
                        self._sessions[user] = count + 1
                        return seat
            if time.monotonic() >= deadline or self._stopping.is_set():
                return None
            time.sleep(0.05)

    def release_session(self, user: str, seat: Seat) -> None:
        """Give back a session ``acquire_session`` counted (a login refused after it)."""
        seat.release()
        with self._lock:
            self._sessions[user] = max(0, self._sessions.get(user, 1) - 1)

    def _forget_ended(self) -> None:
        """Release the sessions of the connections that have ended (holding ``_lock``)."""
        for connection in [c for c in self._connections if not c.transport.is_active()]:
            self._release(connection)
            self._connections.remove(connection)

    def live_sessions(self) -> list[SessionServer]:
        """The authenticated connections still open (for the operators' views)."""
        with self._lock:
            return [
                c.server
                for c in self._connections
                if c.server.account is not None and c.transport.is_active()
            ]

    def bytes_moved(self) -> tuple[int, int]:
        """SFTP bytes received and sent since start (ended and open connections)."""
        with self._lock:
            servers = [c.server for c in self._connections]
        return self.stats.bytes(servers)

    def _release(self, connection: _Connection) -> None:
        self.stats.ended(connection.server)
        if connection.server.counted and connection.server.account is not None:
            user = connection.server.account.technical_user
            self._sessions[user] = max(0, self._sessions.get(user, 1) - 1)
            connection.server.counted = False
            if connection.server.seat is not None:
                connection.server.seat.release()

    def sessions(self, user: str) -> int:
        with self._lock:
            return self._sessions.get(user, 0)

    # Housekeeping -------------------------------------------------------------------------

    def _housekeeping(self) -> None:
        with db.connection_context():
            while True:
                self._busy.wait(IDLE_SWEEP)  # nothing to watch: sleep until something comes
                if self._stopping.wait(SWEEP):
                    return
                try:
                    self._sweep()
                except Exception:
                    log.exception("housekeeping failed")
                with self._lock:  # a connection or a left-out line sets it again at once
                    if not self._connections and not self.log_limit.pending():
                        self._busy.clear()

    def _sweep(self) -> None:
        self.log_limit.flush()
        now = time.monotonic()
        with self._lock:
            connections = list(self._connections)
        closing: list[paramiko.Transport] = []
        due: list[_Connection] = []  # authenticated, not checked for liveness lately
        ended = 0
        for connection in connections:
            transport, server = connection.transport, connection.server
            if not transport.is_active():
                with self._lock:
                    self._release(connection)
                    if connection in self._connections:
                        self._connections.remove(connection)
                        ended += 1
            elif not transport.is_authenticated():
                if now - connection.started > self.limits.login_grace:
                    self.log_before_login(
                        server.address, "login grace time over for %s", server.address
                    )
                    closing.append(transport)
            elif self.limits.idle_timeout and now - server.last_active > self.limits.idle_timeout:
                log.info("%s: idle for %.0f s, closing", server.user, now - server.last_active)
                closing.append(transport)
            elif now - connection.checked >= self.limits.liveness_sweep:
                connection.checked = now
                due.append(connection)
        closing.extend(self._revoked(due))
        for transport in closing:
            transport.close()
        if ended:
            give_back_memory()

    def _revoked(self, due: list[_Connection]) -> list[paramiko.Transport]:
        """The transports of ``due`` whose account was revoked (on any node: it is in the
        database), found with one query for all of them."""
        channels = {c.server.account.channel_id for c in due if c.server.account is not None}
        live = live_channels(channels) if channels else set()
        revoked = []
        for connection in due:
            account = connection.server.account
            if account is None or account.channel_id not in live:
                log.info("%s: access revoked, closing", connection.server.user)
                revoked.append(connection.transport)
        return revoked
