"""``expedito sshd-config``: the ``sshd_config`` fragment that makes OpenSSH the SFTP front.

The fragment confines every member of :data:`sync.openssh.names.GROUP` to its home
(``ChrootDirectory``), runs ``internal-sftp`` for it whatever it asks (``ForceCommand``), with
a umask that leaves its uploads unreadable even to itself and the list of SFTP requests the
embedded server also allows (``-p``; the others, ``-P``), takes its keys from the files the
front keeps (``AuthorizedKeysFile``; or, with ``--keys command``, from
``expedito authorized-keys`` at each login), and turns off everything else sshd could give it:
passwords, forwarding, a tty, ``~/.ssh/rc``. Global lines come first, as sshd wants (before
any ``Match``): ``MaxStartups`` sized for bursts of partners and, where the installed sshd
has it (9.8+), ``PerSourcePenalties``. The README explains each line.

What the requests cannot say (IN write-only, OUT read and delete) the kernel does, with the
owners and modes :mod:`sync.openssh.layout` gives the folders.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from sync.openssh.names import GROUP

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"  # internal-sftp's twin: lists the request names
# What the embedded server lets a partner do, as internal-sftp request names: list, stat,
# read, write new files, rename (SSH_FXP_RENAME never replaces a file; posix-rename, which
# OpenSSH's sftp and rclone use by default for a temporary name, may replace one of the
# partner's own files: its home is its alone), delete, set times. Not: mkdir, rmdir, symlink,
# hardlink, readlink, lsetstat, copy-data, users-groups-by-id.
ALLOWED_REQUESTS = (
    "open",
    "close",
    "read",
    "write",
    "lstat",
    "fstat",
    "setstat",
    "fsetstat",
    "opendir",
    "readdir",
    "remove",
    "realpath",
    "stat",
    "rename",
    "posix-rename",
    "statvfs",
    "fstatvfs",
    "fsync",
    "limits",
    "expand-path",
    "home-directory",
)
KNOWN_DENIED = (
    "mkdir",
    "rmdir",
    "readlink",
    "symlink",
    "hardlink",
    "lsetstat",
    "copy-data",
    "users-groups-by-id",
)
UPLOAD_UMASK = "0777"  # uploads are mode 0000: written through the open handle, then unreadable
MAX_STARTUPS = "200:30:1000"  # 200 partners logging in at once before any random drop
LOGIN_GRACE_SECONDS = 30
ALIVE_SECONDS = 30  # a partner's connection that died is noticed within 2 minutes (4 x 30 s)
PENALTIES = "authfail:5s noauth:1s crash:90s max:600s"
PENALTIES_SINCE = (9, 8)
# ``expedito authorized-keys`` as a script (``quick_keys_command``)
KEYS_SCRIPT = Path(__file__).resolve().parents[2] / "tui" / "keys_cli.py"


@dataclass(frozen=True)
class Fragment:
    homes_root: Path
    # what sshd runs as AuthorizedKeysCommand, before ``--db …``: the ``expedito``
    # executable, or the quick start (``python3 -S -I …/tui/keys_cli.py``)
    command: Path | tuple[str, ...]
    db_path: Path | str  # a SQLite file, or a PostgreSQL URL
    port: int | None = None
    keys_user: str = "root"
    version: tuple[int, int] | None = None  # the installed sshd's, None: unknown
    requests: frozenset[str] | None = None  # internal-sftp's request names, None: unknown
    # where sshd reads the keys: the front's key files there (``AuthorizedKeysFile``, no
    # process per login), or None: ``command`` at each login (``AuthorizedKeysCommand``)
    keys_dir: Path | None = None


def sshd_version(sshd: str = SSHD) -> tuple[int, int] | None:
    """``(9, 2)`` for ``OpenSSH_9.2p1``; None when sshd is missing or says something else."""
    try:
        done = subprocess.run([sshd, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", done.stderr + done.stdout)
    return (int(found[1]), int(found[2])) if found else None


def sftp_requests(sftp_server: str = SFTP_SERVER) -> frozenset[str] | None:
    """The request names the installed ``sftp-server -Q requests`` knows (internal-sftp is
    the same code); None when it cannot say."""
    try:
        done = subprocess.run(
            [sftp_server, "-Q", "requests"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = frozenset(done.stdout.split())
    return names if done.returncode == 0 and "open" in names else None


def unsafe_for_sshd(path: Path) -> Path | None:
    """The first of ``path`` and the directories above it that sshd refuses (it wants each
    owned by root and writable by no one else: ``ChrootDirectory``, ``AuthorizedKeysCommand``),
    or None. A path that does not exist yet is checked from its first existing parent."""
    current = Path(path).absolute()
    while True:
        try:
            info = current.stat()
        except FileNotFoundError:
            info = None
        if info is not None and (info.st_uid != 0 or info.st_mode & 0o022):
            return current
        if current.parent == current:
            return None
        current = current.parent


def _known(names: Iterable[str], requests: frozenset[str] | None) -> list[str]:
    return [name for name in names if requests is None or name in requests]


def force_command(requests: frozenset[str] | None) -> str:
    """``internal-sftp -u 0777 -p … -P …``, naming only requests this sshd knows (an unknown
    name stops every session)."""
    allowed = ",".join(_known(ALLOWED_REQUESTS, requests))
    denied = _known(KNOWN_DENIED, requests)
    if requests is not None:
        denied += sorted(requests - set(ALLOWED_REQUESTS) - set(KNOWN_DENIED))
    line = f"internal-sftp -u {UPLOAD_UMASK} -p {allowed}"
    return f"{line} -P {','.join(denied)}" if denied else line


def render(fragment: Fragment) -> str:
    """The fragment's text."""
    version = fragment.version
    start = fragment.command if isinstance(fragment.command, tuple) else (fragment.command,)
    command = " ".join(
        shlex.quote(str(part)) for part in (*start, "--db", fragment.db_path, "authorized-keys")
    )
    lines = [
        "# Expedito: OpenSSH as the SFTP front (made by `expedito sshd-config`).",
        "# Include it at the top of sshd_config (Debian: /etc/ssh/sshd_config.d/expedito.conf).",
        "",
        "# Global: bursts of partners logging in at once.",
    ]
    if fragment.port is not None:
        lines.append(f"Port {fragment.port}")
    lines += [f"MaxStartups {MAX_STARTUPS}", f"LoginGraceTime {LOGIN_GRACE_SECONDS}"]
    if version is not None and version >= PENALTIES_SINCE:
        lines.append(f"PerSourcePenalties {PENALTIES}")
    else:
        seen = "unknown" if version is None else f"{version[0]}.{version[1]}"
        lines.append(f"# PerSourcePenalties: needs OpenSSH 9.8 or later (this sshd: {seen}).")
    lines += [
        "",
        f"# The technical users: members of {GROUP}, kept by the cycle.",
        f"Match Group {GROUP}",
        f"    ChrootDirectory {shlex.quote(str(fragment.homes_root))}/%u",
        f"    ForceCommand {force_command(fragment.requests)}",
        "    AuthenticationMethods publickey",
        "    PubkeyAuthentication yes",
        "    PasswordAuthentication no",
        "    KbdInteractiveAuthentication no",
        "    HostbasedAuthentication no",
        *keys_lines(fragment, command),
        "    DisableForwarding yes",
        "    PermitTunnel no",
        "    PermitTTY no",
        "    PermitUserRC no",
        f"    ClientAliveInterval {ALIVE_SECONDS}",
        "",
    ]
    return "\n".join(lines)


def keys_lines(fragment: Fragment, command: str) -> list[str]:
    """Where sshd finds a technical user's keys: the file the front keeps for it, or the
    command that reads the database at each login."""
    if fragment.keys_dir is not None:
        return [f"    AuthorizedKeysFile {shlex.quote(str(fragment.keys_dir))}/%u"]
    return [
        "    AuthorizedKeysFile none",
        f"    AuthorizedKeysCommand {command} %u %U",
        f"    AuthorizedKeysCommandUser {fragment.keys_user}",
    ]


def password_apart(url: str, passfile: Path | None = None) -> tuple[str, str | None]:
    """A PostgreSQL URL for ``sshd_config`` (readable by every local user, as is the command
    line of the AuthorizedKeysCommand while it runs): ``(url without its password, the
    password or None)``. The password may be in the user part or a ``password=`` parameter;
    with ``passfile``, the URL names it (``passfile=PATH``: libpq reads the password there)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    password = unquote(parts.password) if parts.password is not None else None
    for key, value in query:
        if key == "password":
            password = value
    if password is None:
        return url, None
    kept = [(key, value) for key, value in query if key not in ("password", "passfile")]
    if passfile is not None:
        kept.append(("passfile", str(passfile)))
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    netloc = f"{user}@{host}" if user else host
    text = f"{parts.scheme}://{netloc}{parts.path}"
    if kept:
        text += f"?{urlencode(kept, safe='/')}"
    return text + (f"#{parts.fragment}" if parts.fragment else ""), password


def passfile_line(url: str, password: str) -> str:
    """The libpq password file line (``host:port:database:user:password``) for ``url``."""
    parts = urlsplit(url)

    def field(value: object) -> str:
        text = "*" if value in (None, "") else str(value)
        return text if text == "*" else text.replace("\\", "\\\\").replace(":", "\\:")

    return ":".join(
        (
            field(parts.hostname),
            field(parts.port),
            field(unquote(parts.path.lstrip("/"))),
            field(unquote(parts.username or "")),
            password.replace("\\", "\\\\").replace(":", "\\:"),
        )
    )


def write_passfile(path: Path, line: str, owner: str) -> None:
    """``line`` as the libpq password file ``path``: mode 0600 (libpq ignores a file others
    may read), owned by ``owner`` (the AuthorizedKeysCommandUser, who reads it), replaced
    atomically. OSError, or KeyError for an unknown owner."""
    import pwd

    entry = pwd.getpwnam(owner)
    temporary = path.with_name(f".{path.name}.expedito-{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchown(handle.fileno(), entry.pw_uid, entry.pw_gid)
            os.fchmod(handle.fileno(), 0o600)
            handle.write(f"{line}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def quick_keys_command(target: Path | str) -> tuple[str, ...]:
    """The AuthorizedKeysCommand's start, run at every login: the ``authorized-keys`` module
    as a script, by a Python that skips ``site`` (``-S``: no site-packages, no ``.pth``
    files) and the environment (``-I``) — the standard library's ``sqlite3`` is all it needs.
    A PostgreSQL database needs psycopg from the installation's site-packages: ``-I`` only.
    (sshd checks the interpreter's path; the script, run as root, must be as safe: both are
    checked.)"""
    script = str(KEYS_SCRIPT)
    if isinstance(target, Path):
        return (os.path.realpath(sys.executable), "-S", "-I", script)
    return (sys.executable, "-I", script)
