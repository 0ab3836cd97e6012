"""What the starvation tests share: a provisioned server, raw paramiko transports from a
chosen loopback address, and the server process's threads, descriptors and memory."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from store.democreds import DemoCredentials
from sync.limits import ServerLimits
from tests.support.registration import DEMO_USER as USER
from tests.support.registration import register_demo_sender
from tests.support.sftp import Server, start_server


def provisioned(tmp_path: Path, creds: DemoCredentials, limits: ServerLimits) -> Server:
    server = start_server(tmp_path, limits)
    register_demo_sender(creds)
    server.provision()
    return server


def tcp(server: Server, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    """A TCP connection to the server from ``source`` (any 127.0.0.0/8 address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def transport(
    server: Server, source: str = "127.0.0.1", window: int | None = None
) -> paramiko.Transport:
    """A paramiko client transport, key exchange done, not authenticated."""
    sock = tcp(server, source)
    client = (
        paramiko.Transport(sock)
        if window is None
        else paramiko.Transport(sock, default_window_size=window)
    )
    client.start_client(timeout=10)
    return client


def user_key(creds: DemoCredentials) -> paramiko.PKey:
    return paramiko.Ed25519Key(filename=str(creds.ssh_private_key))


def logged_in(
    server: Server, creds: DemoCredentials, source: str = "127.0.0.1", window: int | None = None
) -> paramiko.Transport:
    client = transport(server, source, window)
    client.auth_publickey(USER, user_key(creds))
    return client


def threads_and_fds() -> tuple[int, int]:
    """This process's threads and open file descriptors (the server runs in it)."""
    return threading.active_count(), len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def sftp_packet(kind: int, request: int, body: bytes = b"") -> bytes:
    """One raw SFTP packet (``request`` left out for INIT, whose field is the version)."""
    payload = bytes([kind]) + request.to_bytes(4, "big") + body
    return len(payload).to_bytes(4, "big") + payload


def sftp_string(data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return len(raw).to_bytes(4, "big") + raw


def read_sftp_packet(channel: paramiko.Channel) -> tuple[int, bytes]:
    """The next packet's type and body (after the type byte)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            piece = channel.recv(n - len(data))
            if not piece:
                raise EOFError
            data += piece
        return data

    size = int.from_bytes(exactly(4), "big")
    payload = exactly(size)
    return payload[0], payload[1:]


def query_key(server: Server, source: str, key: paramiko.PKey) -> None:
    """Ask whether ``key`` would do for the user, without a signature (what every client
    asks first), and wait for the answer."""
    client = transport(server, source)
    try:
        with contextlib.suppress(paramiko.BadAuthenticationType):
            client.auth_none(USER)
        message = paramiko.Message()
        message.add_byte(paramiko.common.cMSG_USERAUTH_REQUEST)
        message.add_string(USER)
        message.add_string("ssh-connection")
        message.add_string("publickey")
        message.add_boolean(False)
        message.add_string(key.get_name())
        message.add_string(key.asbytes())
        client._send_message(message)  # type: ignore[attr-defined]
        # paramiko's client takes the answer (PK_OK) for an error and ends: it was answered
        assert wait_for(lambda: not client.is_active(), timeout=10)
    finally:
        client.close()


def forged(signer: paramiko.PKey, public: paramiko.PKey) -> paramiko.PKey:
    """``public``'s key, signed with ``signer`` (a signature that cannot verify)."""
    setattr(signer, "asbytes", public.asbytes)  # noqa: B010
    return signer


def peak_rss_reset() -> None:
    """Start measuring this process's peak RSS afresh (Linux: VmHWM)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")
