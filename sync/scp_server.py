"""Legacy scp (``scp -O``, OpenSSH's default before 9.0): ``scp -t DIR`` and ``scp -f FILE``
served by the server itself over the session channel, with the SFTP file rules
(:class:`sync.sftp_fs.ConfinedSFTP`: the same confinement, permissions and uploads). Nothing
is ever executed: an exec request is parsed, and anything but these two forms is refused.

The protocol (OpenSSH ``scp.c``), each side answering ``\\0`` (ok), ``\\1msg\\n`` (error, go
on) or ``\\2msg\\n`` (fatal):

- to the server (``-t``): the server says ``\\0``; the client sends ``T<mtime> 0 <atime> 0``
  (with ``-p``), ``C<mode> <size> <name>``, the bytes and ``\\0``; ``D``/``E`` open and close
  a folder (refused: no folders).
- from the server (``-f``): the client says ``\\0``; the server sends the same lines and bytes
  for each file named (a ``*``/``?`` pattern in the last part is matched in its folder).

The channel ends with exit-status 0, or 1 when something was refused, as ``scp`` does.

Under the same limits as SFTP: one command a channel (the session's claim), the idle timeout
(each line and chunk received or sent is activity), the file size and the IN quota (the size
a ``C`` line announces is checked before a byte is taken: a file that cannot fit is refused at
once, nothing written; its bytes are counted as they are written, as SFTP WRITEs are).
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import re
import shlex
import threading
from dataclasses import dataclass

import paramiko
from paramiko import SFTPAttributes
from paramiko.sftp import SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED

from store.db import thread_connection
from sync.sftp_fs import ConfinedSFTP, ReadHandle
from sync.sftp_uploads import QUOTA_EXCEEDED, Session, UploadHandle

log = logging.getLogger("expedito.sftp")

MAX_LINE = 4096
CHUNK = 256 * 1024
_MODE = re.compile(rb"[0-7]{4}")
WAIT_SLICE = 0.5  # seconds: how often a wait for the client looks at its window
FLAGS = set("tfpdrvq")
_MESSAGES = {
    SFTP_NO_SUCH_FILE: "No such file or directory",
    SFTP_PERMISSION_DENIED: "Permission denied",
}


def send_exit_status(channel: paramiko.Channel, status: int) -> None:
    """Tell the client how the session's program ended (OpenSSH ``scp``, ``ssh -s sftp`` and
    libraries read it as the command's exit code; without it they report failure)."""
    if channel.closed:
        return
    with contextlib.suppress(Exception):  # the client may have gone meanwhile
        channel.send_exit_status(status)


@dataclass(frozen=True)
class ScpCommand:
    sink: bool  # -t: the client sends; else -f: the client receives
    preserve: bool  # -p: times travel with the files
    paths: tuple[str, ...]


def parse_command(command: bytes) -> ScpCommand | None:
    """``scp [-v] [-r] [-p] [-d] (-t|-f) [--] PATH…`` as OpenSSH's scp sends it; None for
    anything else (never run)."""
    try:
        words = shlex.split(command.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not words or words[0] != "scp":
        return None
    flags: set[str] = set()
    rest = words[1:]
    while rest and rest[0].startswith("-") and rest[0] != "-":
        word = rest.pop(0)
        if word == "--":
            break
        if not set(word[1:]) <= FLAGS:
            return None
        flags |= set(word[1:])
    if ("t" in flags) == ("f" in flags) or not rest or ("t" in flags and len(rest) != 1):
        return None
    return ScpCommand("t" in flags, "p" in flags, tuple(rest))


def start(session: Session, channel: paramiko.Channel, command: bytes) -> bool:
    """Serve ``command`` on ``channel`` in a thread if it is a legacy scp request."""
    parsed = parse_command(command)
    if parsed is None or session.home is None:
        log.info("%s: exec request refused: %r", session.user, command[:200])
        return False
    transfer = ScpTransfer(session, channel, parsed)
    threading.Thread(target=transfer.run, name="scp", daemon=True).start()
    return True


class ScpError(Exception):
    """The client broke the protocol or went away: end the transfer."""


def _clean(path: str) -> str:
    """``~/INTEST/`` and ``INTEST/`` alike: the home is the root."""
    return path[1:] if path.startswith("~") else path


class ScpTransfer:
    def __init__(self, session: Session, channel: paramiko.Channel, command: ScpCommand) -> None:
        self.session = session
        self.channel = channel
        self.command = command
        self.fs = ConfinedSFTP(session)
        self.buffer = b""
        self.errors = 0

    def run(self) -> None:
        status = 1
        try:
            with thread_connection():  # liveness is asked on store.db.shared_reader
                if self.command.sink:
                    self.receive(_clean(self.command.paths[0]))
                else:
                    self.send([_clean(p) for p in self.command.paths])
            status = 1 if self.errors else 0
        except (ScpError, OSError, EOFError) as exc:
            log.info("%s: scp ended: %s", self.session.user, exc)
        except Exception:
            log.exception("%s: scp failed", self.session.user)
        finally:
            send_exit_status(self.channel, status)
            with contextlib.suppress(Exception):
                self.channel.close()

    # The wire ----------------------------------------------------------------------------

    def _read(self, size: int) -> bytes:
        """What the client sends next (b"" at its end). Each piece received is activity for
        the idle timeout, and so is, while waiting, the client taking what was sent to it
        (its window grows back): a slow download is not idle."""
        window = self.channel.out_window_size
        while True:
            self.channel.settimeout(WAIT_SLICE)  # the receive only: sends block as before
            try:
                data = self.channel.recv(size)
            except TimeoutError:
                if self.channel.out_window_size != window:
                    window = self.channel.out_window_size
                    self.session.touch()
                continue
            finally:
                self.channel.settimeout(None)
            if data:
                self.session.touch()
            return bytes(data)

    def _recv(self, size: int) -> bytes:
        if self.buffer:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            return data
        data = self._read(size)
        if not data:
            raise EOFError("the client closed the channel")
        return data

    def _line(self) -> bytes | None:
        """A line without its newline; None at the end of the stream."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise ScpError("line too long")
            data = self._read(MAX_LINE)
            if not data:
                if self.buffer:
                    raise ScpError("truncated line")
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _ok(self) -> None:
        self.channel.sendall(b"\0")

    def _refuse(self, path: str, code: int | str) -> None:
        self.errors += 1
        why = code if isinstance(code, str) else _MESSAGES.get(code, "Failure")
        self.channel.sendall(f"\1scp: {path}: {why}\n".encode())

    def _answer(self) -> bool:
        """The client's answer: True for ok, False for an error it reported."""
        code = self._recv(1)
        if code == b"\0":
            return True
        message = self._line()
        if code == b"\1":
            return False
        raise ScpError(f"the client gave up: {message!r}")

    def _live(self) -> None:
        if not self.session.live():
            self.channel.sendall(b"\2scp: access revoked\n")
            raise ScpError("access revoked")

    # -t: the client sends ------------------------------------------------------------------

    def receive(self, target: str) -> None:
        self._ok()
        times: tuple[int, int] | None = None
        while (line := self._line()) is not None:
            kind = line[:1]
            if kind == b"T":
                fields = line[1:].split()
                if len(fields) != 4 or not all(f.isdigit() and len(f) <= 12 for f in fields):
                    self.channel.sendall(b"\2scp: protocol error\n")
                    raise ScpError("bad T line")
                times = (int(fields[2]), int(fields[0]))  # (atime, mtime)
                self._ok()
            elif kind == b"C":
                self._live()
                self._file(target, line[1:], times)
                times = None
            elif kind == b"D":
                self._refuse(target, "folders are not accepted")
            elif kind == b"E":
                self._ok()
            elif kind in (b"\1", b"\2"):
                self.errors += 1
                if kind == b"\2":
                    return
            else:
                self.channel.sendall(b"\2scp: protocol error\n")
                raise ScpError("unexpected line")

    def _file(self, target: str, line: bytes, times: tuple[int, int] | None) -> None:
        """``C<mode> <size> <name>`` (OpenSSH's sink: four octal digits, digits), then the
        bytes."""
        fields = line.split(b" ", 2)
        if len(fields) != 3 or not _MODE.fullmatch(fields[0]) or not fields[1].isdigit():
            self.channel.sendall(b"\2scp: protocol error\n")
            raise ScpError("bad C line")
        size = int(fields[1])
        try:
            name = fields[2].decode("utf-8")
        except UnicodeDecodeError:  # as SFTP: a name is UTF-8
            name = ""
        path = self._destination(target, name or fields[2].decode("utf-8", "replace"))
        handle: UploadHandle | int | str
        if name in ("", ".", "..") or "/" in name:
            handle = SFTP_PERMISSION_DENIED
        elif size > self.session.limits.max_file_size:
            handle = "file too large"
        else:
            opened = self.fs.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SFTPAttributes())
            handle = opened if isinstance(opened, UploadHandle | int) else SFTP_PERMISSION_DENIED
        if isinstance(handle, UploadHandle) and not handle.fits(size):
            # scp announces the size: a file that cannot fit is refused before a byte is sent
            # (its bytes are counted as they are written, as SFTP WRITEs are)
            handle.finish(aborted=True)
            handle = QUOTA_EXCEEDED
        if not isinstance(handle, UploadHandle):
            self._refuse(path, handle)  # the client skips this file
            return
        self._ok()
        left, offset, status = size, 0, SFTP_OK
        try:
            while left:
                data = self._recv(min(CHUNK, left))
                if status == SFTP_OK:
                    status = handle.write(offset, data)
                offset += len(data)
                left -= len(data)
            if self._recv(1) != b"\0":
                raise ScpError("the client did not finish the file")
            if times is not None and status == SFTP_OK:
                attrs = SFTPAttributes()
                attrs.st_atime, attrs.st_mtime = times
                status = handle.chattr(attrs)  # times the file system cannot hold: refused
        except BaseException:
            handle.finish(aborted=True)
            raise
        closed = handle.finish(aborted=status != SFTP_OK)
        if status == SFTP_OK and closed == SFTP_OK:
            self._ok()
        else:
            self._refuse(
                path, QUOTA_EXCEEDED if handle.over_quota else status if status else closed
            )

    def _destination(self, target: str, name: str) -> str:
        """``target`` names a folder (``INTEST``, ``INTEST/``) or a file in one."""
        place = target.rstrip("/")
        folder = place.lstrip("/").rpartition("/")[0]
        return f"{place}/{name}" if target.endswith("/") or not folder else place

    # -f: the client receives ---------------------------------------------------------------

    def send(self, sources: list[str]) -> None:
        if not self._answer():
            return
        for source in sources:
            for path in self._expand(source):
                self._live()
                if not self._send_file(path):
                    return

    def _expand(self, source: str) -> list[str]:
        folder, _, pattern = source.rstrip("/").rpartition("/")
        if not any(c in pattern for c in "*?["):
            return [source]
        listing = self.fs.list_folder(folder or "/")
        if isinstance(listing, int):
            self._refuse(source, listing)
            return []
        found = sorted(a.filename for a in listing if fnmatch.fnmatchcase(a.filename, pattern))
        if not found:
            self._refuse(source, SFTP_NO_SUCH_FILE)
        return [f"{folder}/{name}" for name in found]

    def _send_file(self, path: str) -> bool:
        """One file; False when the client gave up."""
        handle = self.fs.open(path, os.O_RDONLY, SFTPAttributes())
        if not isinstance(handle, ReadHandle):
            self._refuse(path, handle if isinstance(handle, int) else SFTP_PERMISSION_DENIED)
            return True
        try:
            found = handle.stat()
            assert isinstance(found, SFTPAttributes)
            size = int(found.st_size or 0)
            if self.command.preserve:
                self.channel.sendall(
                    f"T{int(found.st_mtime or 0)} 0 {int(found.st_atime or 0)} 0\n".encode()
                )
                if not self._answer():
                    return True
            name = path.rstrip("/").rpartition("/")[2]
            self.channel.sendall(f"C0644 {size} {name}\n".encode())
            if not self._answer():
                return True
            offset = 0
            while offset < size:
                data = handle.read(offset, min(CHUNK, size - offset))
                if isinstance(data, int) or not data:
                    raise ScpError(f"{path} could not be read")
                self.channel.sendall(data)  # returns once the client's window took it
                self.session.touch()
                offset += len(data)
            self.channel.sendall(b"\0")
            return self._answer() or True
        finally:
            handle.finish()
