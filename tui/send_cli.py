"""``expedito batch send`` and ``expedito batch show``: a partner's one command, headless.

``batch send FILE… --purpose DMFA --env T --host H --port P --user U --identity KEY --key
SIGNKEY --cert CERT`` prepares the set as ``batch prepare`` does (in ``--out``, by default
the ``outbox`` folder of the user data directory, so sequences are not reused), uploads it
over SFTP with the GO last (the host key checked against ``~/.ssh/known_hosts`` or
``--host-key-fingerprint``), waits for its ACRF, checks the ACRF's signature against the
service's certificate, keeps the three ACRF files beside the set and prints the outcome, each
ErrorID with its meaning in the user's language. Exit status: 0 accepted (or sent, with
``--no-wait``), 1 rejected, 2 could not send (one line says why).

The service's certificate: ``--service-cert``, else ``~/expedito-service.cer`` (what *Aperçu*
saves with F6), else the one published in the database (``--db``, ``--demo``).

No Textual: Rich (installed with it) draws the progress bar, on a terminal, for large sets.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tui.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator

if TYPE_CHECKING:
    from store.db import Target
    from sync.send import Progress

PROGRESS_FROM = 1 << 20  # bytes: a set this large shows a progress bar on a terminal
DEFAULT_TIMEOUT = 300.0
SERVICE_CERTIFICATE_FILE = "expedito-service.cer"  # where Aperçu's F6 saves it


def add_send_arguments(parser: argparse.ArgumentParser) -> None:
    from sync.intake.prepare import add_arguments

    add_arguments(parser)
    parser.set_defaults(out=None)
    parser.add_argument("--host", required=True, help="the SFTP server")
    parser.add_argument("--port", type=int, default=8022, help="its port (default 8022)")
    parser.add_argument("--user", required=True, help="the technical user name")
    parser.add_argument(
        "--identity",
        type=Path,
        required=True,
        metavar="SSHKEY",
        help="the SSH private key registered on the channel",
    )
    parser.add_argument(
        "--known-hosts",
        type=Path,
        metavar="FILE",
        default=Path.home() / ".ssh" / "known_hosts",
        help="where the server's host key is (default ~/.ssh/known_hosts)",
    )
    parser.add_argument(
        "--host-key-fingerprint",
        metavar="SHA256:…",
        help="the host key's fingerprint as 'expedito serve' prints it, instead of known_hosts",
    )
    parser.add_argument(
        "--service-cert",
        type=Path,
        metavar="CERT",
        help="the service's certificate, which signs the ACRF (default: "
        f"~/{SERVICE_CERTIFICATE_FILE}, else the database's)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the set is uploaded, without waiting for the ACRF",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the ACRF (default {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="language of the outcome (default: from LANG, else French)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: on a terminal, for sets of 1 MB and more)",
    )


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "acrf",
        type=Path,
        metavar="ACRF-FILE",
        help="an FO.ACRF file (its FS.ACRF beside it is checked too)",
    )
    parser.add_argument(
        "--service-cert",
        type=Path,
        metavar="CERT",
        help="the service's certificate to check the FS.ACRF against",
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, help="language (default: from LANG, else French)"
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the database to take the service's certificate from",
    )


def user_language(given: str | None = None) -> str:
    if given:
        return given
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            code = value[:2].lower()
            return code if code in LANGUAGES else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def _fail(command: str, reason: str) -> int:
    print(f"expedito batch {command}: {reason}", file=sys.stderr)
    return 2


def run_send(args: argparse.Namespace, db_path: Target | None) -> int:
    from sync.intake.prepare import PrepareError, prepare
    from sync.send import SendError

    t = Translator(user_language(args.lang))
    try:
        service = None if args.no_wait else _service_certificate(args.service_cert, db_path)
        if args.out is None:
            from store.db import data_dir

            args.out = data_dir() / "outbox"
        prepared = prepare(args, db_path)
    except (PrepareError, SendError) as exc:
        return _fail("send", str(exc))
    try:
        return _send(args, prepared, service, t)
    except SendError as exc:
        return _fail("send", str(exc))


def _send(args: argparse.Namespace, prepared: object, service: object, t: Translator) -> int:
    from cryptography import x509

    from store.batchnames import FOLDER_OF_ENV, OUT_FOLDER_OF
    from sync.intake.acrf import ack_companions
    from sync.intake.prepare import PreparedSet
    from sync.send import (
        Target,
        connect,
        listing,
        open_sftp,
        upload,
        verify_acrf,
        wait_for_acrf,
    )

    assert isinstance(prepared, PreparedSet)
    folder = FOLDER_OF_ENV[args.env]
    out_folder = OUT_FOLDER_OF[folder]
    target = Target(
        args.host,
        args.port,
        args.user,
        args.identity.expanduser(),
        args.known_hosts.expanduser(),
        args.host_key_fingerprint,
    )
    go = prepared.go.name
    started = time.monotonic()
    with open_sftp(connect(target)) as sftp:
        before = listing(sftp, out_folder) if not args.no_wait else set()
        total = sum(path.stat().st_size for path in prepared.paths)
        with _progress(total, args.progress) as progress:
            upload(sftp, folder, prepared.paths, progress)
        print(
            t("send.sent", set=go, folder=folder, host=target.host_entry, count=len(prepared.paths))
        )
        if args.no_wait:
            return 0
        answer = wait_for_acrf(sftp, out_folder, go, before, started + args.timeout)
    assert isinstance(service, x509.Certificate)
    verified = verify_acrf(answer.xml, answer.signature, service, answer.name)
    signature_name, go_name = ack_companions(answer.name)
    out_dir: Path = args.out
    (out_dir / answer.name).write_bytes(answer.xml)
    (out_dir / signature_name).write_bytes(answer.signature)
    (out_dir / go_name).write_bytes(b"")
    print_outcome(t, verified.ack, answer.name, checked=True)
    print(t("send.kept", folder=str(out_dir)))
    return 0 if verified.ack.accepted else 1


def print_outcome(t: Translator, ack: object, name: str, checked: bool | None) -> None:
    """Accepted or rejected, the ticket, and each ErrorID with its meaning."""
    from sync.intake.acrf import Acknowledgement

    assert isinstance(ack, Acknowledgement)
    key = "send.accepted" if ack.accepted else "send.rejected"
    print(t(key, set=ack.file_name, ticket=ack.ticket))
    for code in ack.errors:
        meaning = t(f"acrf.error.{code}")
        print(f"  {code}  {meaning if meaning != f'acrf.error.{code}' else '?'}")
    if checked is True:
        print(t("send.signature_ok", name=name))
    elif checked is None:
        print(t("send.signature_unchecked", name=name))


def _service_certificate(given: Path | None, db_path: Target | None) -> object:
    """The certificate the ACRF must be signed with (see the module docstring)."""
    from sync.send import SendError, load_certificate_file

    if given is not None:
        return load_certificate_file(given.expanduser())
    saved = Path.home() / SERVICE_CERTIFICATE_FILE
    if saved.is_file():
        return load_certificate_file(saved)
    if db_path is not None and (not isinstance(db_path, Path) or db_path.is_file()):
        from cryptography import x509

        from store.db import close_database, open_database
        from store.service_certificate import published

        open_database(db_path)
        try:
            der = published()
        finally:
            close_database()
        if der is not None:
            return x509.load_der_x509_certificate(der)
    raise SendError(
        "no service certificate to check the ACRF against: save it from "
        f"Aperçu (F6, ~/{SERVICE_CERTIFICATE_FILE}) or give --service-cert "
        "(or --no-wait)"
    )


@contextmanager
def _progress(total: int, wanted: bool | None) -> Iterator[Progress | None]:
    """A Rich progress bar on stderr (or nothing): ``progress(name, sent, size)``."""
    show = wanted if wanted is not None else (total >= PROGRESS_FROM and sys.stderr.isatty())
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task("upload", total=total)
    done: dict[str, int] = {}

    def advance(name: str, sent: int, size: int) -> None:
        done[name] = sent
        bar.update(task, completed=sum(done.values()), description=name)

    with bar:
        yield advance


def run_show(args: argparse.Namespace, db_path: Target | None) -> int:
    """``expedito batch show ACRF-FILE``: the acknowledgement, readably; its signature checked
    when its FS.ACRF is beside it and the service's certificate is known."""
    from sync.intake.acrf import ack_companions, parse_acrf
    from sync.send import SendError, verify_acrf

    t = Translator(user_language(args.lang))
    path: Path = args.acrf.expanduser()
    try:
        xml = path.read_bytes()
    except OSError as exc:
        return _fail("show", f"{path}: {exc.strerror or exc}")
    try:
        ack = parse_acrf(xml)
    except ValueError as exc:
        return _fail("show", f"{path}: {exc}")
    signature = path.with_name(ack_companions(path.name)[0]) if "." in path.name else None
    checked: bool | None = None
    if signature is not None and signature.is_file():
        try:
            service = _service_certificate(args.service_cert, db_path)
            verify_acrf(
                xml,
                signature.read_bytes(),
                service,  # type: ignore[arg-type]
                path.name,
            )
            checked = True
        except SendError as exc:
            print_outcome(t, ack, path.name, checked=False)
            return _fail("show", str(exc))
    print_outcome(t, ack, path.name, checked)
    return 0 if ack.accepted else 1
