"""Sending a prepared set over SFTP and waiting for its signed acknowledgement.

What ``expedito batch send`` does once the set is written (``sync.intake.prepare``)::

    transport = connect(target)              # host key checked, public-key login
    with open_sftp(transport) as sftp:
        before = listing(sftp, out_folder)   # the answers already there are not ours
        upload(sftp, folder, prepared.paths) # the GO last
        answer = wait_for_acrf(sftp, out_folder, go_name, before, deadline)
    ack = verify_acrf(answer, service_certificate)

Every failure is a :class:`SendError` with one line for the user: the caller exits 2 with it.
No Textual here; the command line and its output in the user's language are in ``tui``.
"""

from __future__ import annotations

import contextlib
import socket
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from store.errors import ValidationError
from store.signing import same_certificate, verify_detached
from sync.credential_files import read_certificate
from sync.hostkey import fingerprint
from sync.intake.acrf import ACK_DATA, ACK_GO, Acknowledgement, ack_companions, parse_acrf

CONNECT_TIMEOUT = 15.0
POLL_SECONDS = 0.5
Progress = Callable[[str, int, int], None]
"""Called during each upload with the file's name, bytes sent so far and its size."""


class SendError(Exception):
    """The set could not be sent, or its answer not read or trusted; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where to send and how to trust the server."""

    host: str
    port: int
    user: str
    identity: Path
    known_hosts: Path | None = None  # checked unless ``host_key_fingerprint`` is given
    host_key_fingerprint: str | None = None  # ``SHA256:…`` as ``serve`` prints it

    @property
    def host_entry(self) -> str:
        """The server's name as OpenSSH writes it in ``known_hosts``."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


@dataclass(frozen=True)
class Answer:
    """The acknowledgement files read from the OUT folder: the XML and its signature."""

    name: str  # FO.ACRF.…
    xml: bytes
    signature: bytes


@dataclass(frozen=True)
class VerifiedAnswer:
    ack: Acknowledgement
    name: str
    signer: x509.Certificate


def _load_identity(path: Path) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(str(path))
    except FileNotFoundError:
        raise SendError(f"--identity {path}: no such file") from None
    except paramiko.PasswordRequiredException:
        raise SendError(
            f"--identity {path}: the key is encrypted; use an unencrypted "
            "copy or an agent-less key for scripts"
        ) from None
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise SendError(f"--identity {path}: not a private SSH key ({exc})") from None


def _known_keys(target: Target) -> dict[str, paramiko.PKey]:
    """The host's keys in ``known_hosts`` by type; SendError when it has none there."""
    path = target.known_hosts
    keys = paramiko.HostKeys()
    if path is not None and path.is_file():
        try:
            keys.load(str(path))
        except (OSError, paramiko.SSHException) as exc:
            raise SendError(f"{path}: cannot read it ({exc})") from None
    found = keys.lookup(target.host_entry)
    if not found:
        raise SendError(
            f"{target.host_entry} is not in {path}: add its host key (ssh-keyscan -p "
            f"{target.port} {target.host} >> {path}) after checking its "
            "fingerprint, or give --host-key-fingerprint"
        )
    return {name: found[name] for name in found}


def connect(target: Target, timeout: float = CONNECT_TIMEOUT) -> paramiko.Transport:
    """An authenticated transport to the server whose host key was checked."""
    identity = _load_identity(target.identity)
    known = None if target.host_key_fingerprint else _known_keys(target)
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout)
    except OSError as exc:
        raise SendError(
            f"cannot connect to {target.host}:{target.port}: {exc.strerror or exc}"
        ) from None
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = timeout
        if known is not None:  # ask for a key type we can check
            options = transport.get_security_options()
            wanted = [
                kind
                for kind in options.key_types
                if _key_family(kind) in {_key_family(name) for name in known}
            ]
            if wanted:
                options.key_types = wanted
        try:
            transport.start_client(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SendError(f"no SSH session with {target.host}:{target.port}: {exc}") from None
        server_key = transport.get_remote_server_key()
        _check_host_key(target, server_key, known)
        try:
            transport.auth_publickey(target.user, identity)
        except paramiko.AuthenticationException:
            raise SendError(
                f"the server refused {target.user} with the key {target.identity} "
                "(is the channel provisioned, with this public key?)"
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SendError(f"login failed: {exc}") from None
        return transport
    except BaseException:
        transport.close()
        raise


def _key_family(name: str) -> str:
    """``rsa-sha2-256`` and ``ssh-rsa`` are one key type."""
    return "ssh-rsa" if name.startswith("rsa-sha2-") else name


def _check_host_key(
    target: Target, key: paramiko.PKey, known: dict[str, paramiko.PKey] | None
) -> None:
    shown = f"{key.get_name()} {fingerprint(key)}"
    if target.host_key_fingerprint is not None:
        wanted = target.host_key_fingerprint.strip()
        if not wanted.startswith("SHA256:"):
            wanted = f"SHA256:{wanted}"
        if fingerprint(key) != wanted.rstrip("="):
            raise SendError(
                f"WRONG HOST KEY: {target.host_entry} shows {shown}, not "
                f"{target.host_key_fingerprint}: nothing was sent"
            )
        return
    assert known is not None
    expected = known.get(_key_family(key.get_name()))
    if expected is None or expected.asbytes() != key.asbytes():
        raise SendError(
            f"WRONG HOST KEY: {target.host_entry} shows {shown}, which is not the "
            f"key in {target.known_hosts}: nothing was sent"
        )


@contextlib.contextmanager
def open_sftp(transport: paramiko.Transport) -> Iterator[paramiko.SFTPClient]:
    try:
        client = paramiko.SFTPClient.from_transport(transport)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise SendError(f"the server opened no SFTP session: {exc}") from None
    if client is None:
        transport.close()
        raise SendError("the server opened no SFTP session")
    try:
        yield client
    finally:
        client.close()
        transport.close()


def listing(sftp: paramiko.SFTPClient, folder: str) -> set[str]:
    try:
        return set(sftp.listdir(folder))
    except (OSError, paramiko.SSHException) as exc:
        raise SendError(f"cannot list {folder}: {exc}") from None


def upload(
    sftp: paramiko.SFTPClient, folder: str, paths: Sequence[Path], progress: Progress | None = None
) -> None:
    """``put`` each file into ``folder`` in order (the caller puts the GO last)."""
    for path in paths:
        size = path.stat().st_size
        callback = None
        if progress is not None:

            def callback(sent: int, total: int, name: str = path.name) -> None:
                progress(name, sent, total)

        try:
            sftp.put(str(path), f"{folder}/{path.name}", callback=callback)
        except PermissionError:
            raise SendError(
                f"{folder}/{path.name}: refused by the server (a file of that name "
                "is already there?)"
            ) from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise SendError(f"{folder}/{path.name}: upload failed: {exc}") from None
        if progress is not None and size == 0:
            progress(path.name, 0, 0)


def wait_for_acrf(
    sftp: paramiko.SFTPClient,
    folder: str,
    go_name: str,
    before: set[str],
    deadline: float,
    poll: float = POLL_SECONDS,
) -> Answer:
    """The acknowledgement of ``go_name`` once its ``GO.ACRF`` is in ``folder`` (answers
    present in ``before`` are someone else's); SendError at ``deadline`` (monotonic)."""
    seen = set(before)
    while True:
        for name in sorted(listing(sftp, folder) - seen):
            if not name.startswith(f"{ACK_GO}.ACRF."):
                continue
            seen.add(name)
            suffix = name.split(".", 1)[1]
            xml = _read(sftp, f"{folder}/{ACK_DATA}.{suffix}")
            try:
                ack = parse_acrf(xml)
            except ValueError:
                continue  # not an answer we can read: not ours
            if ack.file_name == go_name:
                signature_name = ack_companions(f"{ACK_DATA}.{suffix}")[0]
                return Answer(
                    f"{ACK_DATA}.{suffix}", xml, _read(sftp, f"{folder}/{signature_name}")
                )
        if time.monotonic() >= deadline:
            raise SendError(
                f"no acknowledgement for {go_name} in {folder} in time "
                "(the set was sent; its ACRF will come later)"
            )
        time.sleep(poll)


def _read(sftp: paramiko.SFTPClient, path: str) -> bytes:
    try:
        if not stat.S_ISREG(sftp.stat(path).st_mode or 0):
            raise SendError(f"{path} is not a file")
        with sftp.open(path, "rb") as handle:
            return bytes(handle.read())
    except FileNotFoundError:
        raise SendError(f"{path} is missing beside its GO.ACRF") from None
    except (OSError, paramiko.SSHException) as exc:
        raise SendError(f"cannot read {path}: {exc}") from None


def verify_acrf(
    xml: bytes, signature: bytes, service: x509.Certificate, name: str = "the ACRF"
) -> VerifiedAnswer:
    """The acknowledgement, once its signature verifies and was made by ``service``."""
    try:
        signer = verify_detached(signature, xml)
    except ValidationError as exc:
        raise SendError(f"{name}: its signature is not valid ({exc}): not trusted") from None
    if not same_certificate(signer, service):
        shown = signer.fingerprint(hashes.SHA256()).hex(":")
        raise SendError(
            f"{name} is signed by another certificate than the service's "
            f"(SHA-256 {shown}): not trusted"
        )
    try:
        ack = parse_acrf(xml)
    except ValueError as exc:
        raise SendError(f"{name}: {exc}") from None
    return VerifiedAnswer(ack, name, signer)


def load_certificate_file(path: Path) -> x509.Certificate:
    return read_certificate(path, SendError)
