"""The ``expedito`` command: the app, ``serve`` (headless), ``demo`` and ``batch``.

Textual is imported only by the commands that open the app, so ``expedito serve`` and the
other headless commands never load it. What the command line asks for is read once into a
``tui.startup.Startup``, which both the app and ``serve`` use.

Failures are one line on stderr saying what is wrong and what to do, within seconds: exit 2
for a usage error (an argument's value), 1 when the database, the homes or the port cannot
be used. No traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from store.db import Target
    from sync.proxy_protocol import Network
    from sync.services import Services
    from sync.supervisor import WorkerSlot
    from tui.startup import Startup

USAGE, FAILED = 2, 1


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (not the usage block): ``expedito serve:
    error: argument --port: … (see expedito serve --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: give 0 to 65535 (0 picks a free one)"
        )
    return value


def proxy_networks(text: str) -> tuple[Network, ...]:
    from sync.proxy_protocol import parse_networks

    try:
        return parse_networks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--proxy-protocol: ")) from None


def workers_number(text: str) -> int:
    from sync.supervisor import worker_count

    try:
        return worker_count(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def worker_slot(text: str) -> object:
    from sync.supervisor import WorkerSlot

    try:
        return WorkerSlot.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not for you to give") from None


def build_parser(with_batch: bool = True) -> argparse.ArgumentParser:
    """The command line; ``with_batch=False`` leaves out the arguments of ``batch prepare``, whose
    module loads ``cryptography`` and the store (70 ms, on the app's start-up path)."""
    from tui.startup import DEMO_DIR

    parser = Parser(
        prog="expedito",
        description="Gestion d'accès pour Entreprises et Organisations — Messages structurés "
        "(SFTP) in the terminal.",
    )
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="SQLite database file, or postgresql://USER@HOST:PORT/DB (default: $EXPEDITO_DB, "
        "else a file in the user data directory)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=f"open a demo database in {DEMO_DIR} (created and seeded when "
        "missing) and write the demo key and certificate there",
    )
    parser.add_argument("--no-mouse", action="store_true", help="run with the mouse off")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="do not run the sync worker and SFTP server in this process "
        "(when 'expedito serve' already runs on the database)",
    )
    add_service_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("app", help="open the terminal app (the default)")
    sub.add_parser("demo", help="create or complete the demo database and credential files")
    batch = sub.add_parser("batch", help="batch files sent over the SFTP channel")
    actions = batch.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    prepare = actions.add_parser(
        "prepare",
        help="write a named and signed FI/FS/GO set, ready to upload",
        description="Write a correctly named FI/FS/GO set, signed with the channel's "
        "certificate, ready to upload (the GO file last). With --demo, the demo database, "
        "certificate and key are used.",
    )
    send = actions.add_parser(
        "send",
        help="prepare a set, upload it over SFTP (the GO last), wait for its ACRF",
        description="Prepare the set as 'batch prepare' does, upload it over SFTP with the GO "
        "last, wait for its acknowledgement (ACRF), check the ACRF's signature against the "
        "service's certificate and print the outcome. Exit status: 0 accepted, 1 rejected, "
        "2 could not send.",
    )
    show = actions.add_parser("show", help="print an ACRF (acknowledgement) readably")
    if with_batch:
        from sync.intake.prepare import add_arguments
        from tui.send_cli import add_send_arguments, add_show_arguments

        add_arguments(prepare)
        add_send_arguments(send)
        add_show_arguments(show)
    serve = sub.add_parser(
        "serve", help="run the synchronisation worker and the SFTP server without the app"
    )
    add_service_options(serve, suppress=True)
    serve.add_argument(
        "--front",
        choices=("embedded", "openssh"),
        default="embedded",
        help="who serves SFTP: the embedded server (default) or OpenSSH's sshd with the "
        "fragment of 'expedito sshd-config' (then this process keeps the system accounts and "
        "the chroot homes, and its intake follows the folders; run as root)",
    )
    serve.add_argument(
        "--accounts",
        choices=("extrausers", "useradd"),
        default="extrausers",
        help="with --front openssh: keep the technical users' system accounts in "
        "libnss-extrausers' files (default) or with useradd/userdel",
    )
    serve.add_argument(
        "--extrausers-dir",
        metavar="DIR",
        default="/var/lib/extrausers",
        help="where libnss-extrausers reads passwd, group and shadow (default %(default)s)",
    )
    serve.add_argument(
        "--keys-dir",
        metavar="DIR",
        help="with --front openssh: where the authorized_keys file of each live technical "
        "user is kept (default: expedito-keys beside --homes; as given to sshd-config)",
    )
    serve.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics there (e.g. 127.0.0.1:9108); with --workers, the "
        "workers' figures added up",
    )
    serve.add_argument(
        "--workers",
        type=workers_number,
        metavar="N",
        help="processes serving the SFTP port together (default: one per core; 1 serves in "
        "this process; the OpenSSH front: 1)",
    )
    serve.add_argument("--worker", type=worker_slot, help=argparse.SUPPRESS)  # a worker's own
    sshd = sub.add_parser(
        "sshd-config",
        help="print the sshd_config fragment that makes OpenSSH the SFTP front",
        description="Print the sshd_config fragment for OpenSSH's sshd + internal-sftp as the "
        "SFTP front (see the README's deployment section): include it at the top of "
        "sshd_config. The database is --db's; the AuthorizedKeysCommand is this "
        "installation's authorized-keys, started without site (python3 -S -I).",
    )
    sshd.add_argument(
        "--homes", metavar="DIR", required=True, help="the SFTP homes (as given to serve)"
    )
    sshd.add_argument("--port", type=port_number, help="the port sshd listens on (a Port line)")
    sshd.add_argument(
        "--keys",
        choices=("file", "command"),
        default="file",
        help="where sshd reads a technical user's key: the file 'serve --front openssh' keeps "
        "for each live user in --keys-dir (default: no process per login), or 'expedito "
        "authorized-keys' run at each login (the database read then)",
    )
    sshd.add_argument(
        "--keys-dir",
        metavar="DIR",
        help="the key files' directory, as given to serve (default: expedito-keys beside --homes)",
    )
    sshd.add_argument(
        "--command",
        dest="keys_command",  # not "command": the subcommand's name lives there
        metavar="PATH",
        help="an expedito executable sshd runs as AuthorizedKeysCommand (default: this "
        "installation's authorized-keys module, by python3 -S -I: a quarter of the start-up; "
        "sshd wants it and its directories owned by root, writable by no one else)",
    )
    sshd.add_argument(
        "--passfile",
        metavar="PATH",
        help="with --keys command and a PostgreSQL URL holding a password: write the password "
        "to this libpq password file (mode 0600, the --keys-user's) and name it in the URL; "
        "sshd_config, readable by all, never holds the password",
    )
    sshd.add_argument(
        "--keys-user",
        metavar="USER",
        default="root",
        help="AuthorizedKeysCommandUser: who runs 'expedito authorized-keys' (default root; "
        "a dedicated user needs read access to the database and its -wal and -shm files)",
    )
    report = sub.add_parser(
        "report",
        help="reports for scripts: certificates about to expire, "
        "sets received (CSV or JSON on stdout)",
    )
    from tui.report_cli import add_report_arguments

    add_report_arguments(report)
    return parser


def add_service_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """--host --port --period --homes and the server's limits, on the app and on ``serve``.

    On the subcommand the defaults are suppressed so they do not hide values given before it.
    """

    from sync.schedule import DEFAULT_PERIOD

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--host", default=default("127.0.0.1"), help="SFTP server address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=default(8022),
        help="SFTP server port (default 8022; 0 picks a free one)",
    )
    parser.add_argument(
        "--proxy-protocol",
        type=proxy_networks,
        default=default(()),
        metavar="NETWORKS",
        help="the TCP load balancers (addresses or networks, separated by commas) whose "
        "connections start with a PROXY header (v1 or v2) naming the client: its address is "
        "the one limited, banned and logged (default: none)",
    )
    parser.add_argument(
        "--period",
        type=int,
        default=default(DEFAULT_PERIOD),
        metavar="MINUTES",
        help="synchronisation period in minutes, dividing 60 (default "
        f"{DEFAULT_PERIOD}: on the hour and the half hour)",
    )
    parser.add_argument(
        "--homes",
        metavar="DIR",
        default=default(None),
        help="where the SFTP homes are (default: the user data directory)",
    )
    add_limit_options(parser, suppress)
    parser.add_argument(
        "--service-cert",
        metavar="CERT",
        default=default(None),
        help="the service's own signing certificate, which signs each ACRF "
        "(default: made on first start, next to the host key)",
    )
    parser.add_argument(
        "--service-key",
        metavar="KEY",
        default=default(None),
        help="the private key of --service-cert (PEM or DER, unencrypted)",
    )


def add_limit_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """The SFTP server's limits (``sync.limits.limit_options``: names, units, defaults)."""
    from sync.limits import LimitOption, format_default, limit_options

    def parser_of(option: LimitOption) -> Callable[[str], object]:
        def parse(text: str) -> object:
            try:
                return option.parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        return parse

    for option in limit_options():
        unit = "" if option.unit == "start:rate:full" else f" {option.unit}"
        parser.add_argument(
            option.option,
            dest=option.field,
            type=parser_of(option),
            metavar=option.unit.upper().replace(" ", "_"),
            default=argparse.SUPPRESS if suppress else None,
            help=f"{option.help} (default {format_default(option)}{unit})".replace("%", "%%"),
        )


def cannot_serve(host: str, port: int, exc: OSError) -> int:
    print(
        f"expedito: cannot serve on {host}:{port}: "
        f"{exc.strerror or exc} (another program may hold the port: give --port)",
        file=sys.stderr,
    )
    return FAILED


def serve(startup: Startup, db_path: Target) -> int:
    """``expedito serve``: the worker and the SFTP server until Ctrl-C or SIGTERM; with
    ``--workers N`` (N > 1; the default is one per core), N such processes supervised."""
    from sync.supervisor import default_workers

    args = startup.args
    front = getattr(args, "front", "embedded")
    workers = getattr(args, "workers", None)
    slot: WorkerSlot | None = getattr(args, "worker", None)
    if front == "openssh" and workers is not None and workers > 1:
        print(
            f"expedito: --workers {workers}: with --front openssh sshd serves SFTP and one "
            "process keeps the accounts: leave --workers out",
            file=sys.stderr,
        )
        return USAGE
    if front == "openssh" and getattr(args, "proxy_protocol", ()):
        print(
            "expedito: --proxy-protocol: with --front openssh sshd takes the connections and "
            "reads no PROXY header: leave --proxy-protocol out (see the README's Deployment)",
            file=sys.stderr,
        )
        return USAGE
    if slot is None and front == "embedded":
        count = workers if workers is not None else default_workers()
        if count > 1:
            return serve_workers(startup, db_path, count)
    return serve_here(startup, db_path, slot)


def serve_workers(startup: Startup, db_path: Target, count: int) -> int:
    """``serve --workers N``: take the port, make the keys the workers share, then start and
    watch N worker processes (``sync.supervisor``) until Ctrl-C or SIGTERM."""
    from store.db import close_database
    from sync.hostkey import load_or_create_host_keys
    from sync.service_signer import load_or_create_service_signer
    from sync.supervisor import Supervisor, reserve_port

    args = startup.args
    try:  # made here once, not by N workers at the same time
        config = startup.service_config(db_path)
        load_or_create_host_keys(config.host_key_path)
        load_or_create_service_signer(*config.service_signer_paths())
    except ValueError as exc:  # --service-cert or --service-key that cannot be used
        print(f"expedito: {exc}", file=sys.stderr)
        return USAGE
    close_database()  # the migrations are applied; each worker opens its own connection
    try:
        keeper = reserve_port(config.host, config.port)
    except OSError as exc:
        return cannot_serve(config.host, config.port, exc)
    port = int(keeper.getsockname()[1])
    argv = list(getattr(args, "argv", sys.argv[1:]))
    metrics_ports: dict[int, int] = {}  # worker number → its own endpoint's loopback port
    metrics = None
    if getattr(args, "metrics", None):
        from sync.metrics import MetricsServer, WorkersCollector

        def addresses() -> list[str]:
            return [f"127.0.0.1:{p}" for _, p in sorted(metrics_ports.items())]

        try:
            metrics = MetricsServer(None, args.metrics, WorkersCollector(addresses))
            metrics.host, metrics.port = metrics.start()
        except (ValueError, OSError) as exc:
            keeper.close()
            print(f"expedito: --metrics {args.metrics}: {exc}", file=sys.stderr)
            return USAGE if isinstance(exc, ValueError) else FAILED

    def command(slot: WorkerSlot) -> list[str]:
        worker = ["--port", str(port), "--workers", "1", "--worker", str(slot)]
        if metrics is not None:  # its own endpoint, on a loopback port picked at each start
            from sync.metrics import free_loopback_port

            metrics_ports[slot.number] = free_loopback_port()
            worker += ["--metrics", f"127.0.0.1:{metrics_ports[slot.number]}"]
        return [sys.executable, "-m", "tui.cli", *argv, *worker]

    def announce(pids: Sequence[int]) -> None:
        print(
            f"Workers: {len(pids)} processes serving {config.host}:{port} together "
            f"(SO_REUSEPORT), pids {', '.join(map(str, pids))}",
            flush=True,
        )
        if metrics is not None:  # once the workers serve: their figures are there
            print(
                f"Metrics: http://{metrics.host}:{metrics.port}/metrics "
                f"(the {count} workers' figures added up)",
                flush=True,
            )

    try:
        with keeper:
            return Supervisor(command, count, announce).run()
    finally:
        if metrics is not None:
            metrics.stop()


def serve_here(startup: Startup, db_path: Target, slot: WorkerSlot | None = None) -> int:
    """The services in this process: all of ``serve``, or one worker of ``--workers N``
    (``slot``: it prints the banner only if it is the first, and says when it is ready)."""
    import asyncio
    import logging
    import signal

    from sync.services import Services
    from sync.supervisor import bind_to_parent, say_ready

    if slot is not None and not bind_to_parent(slot.parent):
        return 0  # the supervisor is gone already
    log_format = "%(asctime)s %(name)s %(message)s"
    if slot is not None:
        log_format = f"%(asctime)s [worker {slot.number} pid %(process)d] %(name)s %(message)s"
    logging.basicConfig(level=logging.INFO, format=log_format)
    first = slot is None or slot.number == 1
    metrics = None
    front = getattr(startup.args, "front", "embedded")
    if front == "openssh" and os.geteuid() != 0:
        print(
            "expedito: --front openssh keeps system accounts and chroot homes: run it as root",
            file=sys.stderr,
        )
        return FAILED
    try:
        services = Services(startup.service_config(db_path))
        if getattr(startup.args, "metrics", None):
            from sync.metrics import MetricsServer

            metrics = MetricsServer(services, startup.args.metrics)
    except ValueError as exc:  # --service-cert or --service-key that cannot be used
        print(f"expedito: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
        await services.start()
        if first:
            banner(services, startup, db_path)
        try:
            if metrics is not None:
                metrics_host, metrics_port = await asyncio.to_thread(metrics.start)
                if slot is None:  # a worker's is the supervisor's to show (added up)
                    print(f"Metrics: http://{metrics_host}:{metrics_port}/metrics", flush=True)
            if slot is not None:
                say_ready(slot)
            await asyncio.Event().wait()
        finally:
            if metrics is not None:
                await asyncio.to_thread(metrics.stop)
            await services.stop()

    try:
        asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except OSError as exc:  # the port taken, or not ours to take
        return cannot_serve(startup.args.host, startup.args.port, exc)
    return 0


def banner(services: Services, startup: Startup, db_path: Target) -> None:
    """What ``serve`` prints once it serves: where, with which keys, the next slot."""
    from cryptography.hazmat.primitives import hashes

    from store.db import shown

    host, port = services.sftp_address
    next_slot = services.worker.next_slot()
    print(f"Database: {shown(db_path)}")
    if services.openssh is None:
        print(f"SFTP: {host}:{port}, host keys {', '.join(services.host_key_fingerprints)}")
    else:
        from sync.openssh.accounts import nss_reads_extrausers

        if startup.args.accounts == "extrausers" and not nss_reads_extrausers():
            print(
                "expedito: warning: /etc/nsswitch.conf does not list extrausers on its "
                "passwd line: sshd will not know the technical users (see the README)",
                file=sys.stderr,
            )
        follows = "inotify" if services.openssh.follows else "a scan every few seconds"
        print(
            f"SFTP: OpenSSH's sshd (expedito sshd-config); system accounts: "
            f"{startup.args.accounts}; the intake follows the folders ({follows})"
        )
    print(
        f"Service certificate (signs each ACRF): SHA256 "
        f"{services.signer.certificate.fingerprint(hashes.SHA256()).hex(':')}"
    )
    print(f"Homes: {services.config.homes_root}")
    print(f"Batch intake: sets kept in {services.intake.spool_root}")
    print(
        f"Next synchronisation at {next_slot:%H:%M} "
        f"(every {services.config.schedule.period} minutes)",
        flush=True,
    )


def batch_prepare(args: argparse.Namespace) -> int:
    """``expedito batch prepare|send|show``: headless, and they open a database only if there
    is one."""
    from store.db import database_target, resolve_db_path
    from store.democreds import CERTIFICATE_NAME
    from sync.intake.prepare import run
    from tui.startup import DEMO_DB_NAME, DEMO_DIR

    db_path: Target | None = None
    if args.db:
        db_path = database_target(args.db)
    elif args.demo:
        db_path = DEMO_DIR / DEMO_DB_NAME
        if args.batch_command != "show":
            args.cert = args.cert or DEMO_DIR / f"{CERTIFICATE_NAME}.cer"
            args.key = args.key or DEMO_DIR / f"{CERTIFICATE_NAME}.key"
    elif not isinstance(default := resolve_db_path(None), Path) or default.is_file():
        db_path = default
    if args.batch_command == "send":
        from tui.send_cli import run_send

        return run_send(args, db_path)
    if args.batch_command == "show":
        from tui.send_cli import run_show

        return run_show(args, db_path)
    return run(args, db_path)


def sshd_config(args: argparse.Namespace) -> int:
    """``expedito sshd-config``: print the fragment (``sync.openssh.sshd_config``)."""
    from store.db import resolve_db_path
    from sync.openssh.names import keys_dir_of
    from sync.openssh.sshd_config import (
        Fragment,
        quick_keys_command,
        render,
        sftp_requests,
        sshd_version,
        unsafe_for_sshd,
    )

    homes = Path(args.homes).expanduser().absolute()
    target = _absolute(resolve_db_path(args.db))
    command: Path | tuple[str, ...]
    if args.keys_command:
        command = Path(args.keys_command).expanduser().absolute()
        if not command.is_file():
            print(f"expedito: --command {command}: no such file", file=sys.stderr)
            return USAGE
        checked = [command]
    else:
        command = quick_keys_command(target)
        checked = [Path(command[0]), Path(command[-1])]
    keys_dir: Path | None = None
    if args.keys == "file":
        keys_dir = (
            Path(args.keys_dir).expanduser().absolute()
            if args.keys_dir
            else Path(keys_dir_of(os.fspath(homes)))
        )
        checked = []
    if keys_dir is not None and args.passfile:
        print("expedito: --passfile: only with --keys command", file=sys.stderr)
        return USAGE
    for_sshd = _without_password(args, target) if keys_dir is None else target
    if for_sshd is None:
        return USAGE
    fragment = Fragment(
        keys_dir=keys_dir,
        homes_root=homes,
        command=command,
        db_path=for_sshd,
        port=args.port,
        keys_user=args.keys_user,
        version=sshd_version(),
        requests=sftp_requests(),
    )
    for what, path in (
        ("ChrootDirectory", homes),
        *(("AuthorizedKeysCommand", part) for part in checked),
        *((("AuthorizedKeysFile", keys_dir),) if keys_dir is not None else ()),
    ):
        unsafe = unsafe_for_sshd(path)
        if unsafe is not None:
            print(
                f"expedito: warning: sshd will refuse the {what} {path}: {unsafe} is not "
                "owned by root or others can write to it",
                file=sys.stderr,
            )
    sys.stdout.write(render(fragment))
    return 0


def _without_password(args: argparse.Namespace, target: Target) -> Target | None:
    """The database as ``sshd_config`` may name it (every local user can read that file, and
    the command line of the AuthorizedKeysCommand): a PostgreSQL URL's password left out,
    kept in ``--passfile``'s libpq password file if given, else a warning; None: one line
    said why not (a usage error)."""
    from sync.openssh.sshd_config import passfile_line, password_apart, write_passfile

    passfile = Path(args.passfile).expanduser().absolute() if args.passfile else None
    if isinstance(target, Path):
        if passfile is not None:
            print("expedito: --passfile: only with a PostgreSQL URL", file=sys.stderr)
            return None
        return target
    url, password = password_apart(target, passfile)
    if password is None:
        if passfile is not None:
            print("expedito: --passfile: the --db URL holds no password", file=sys.stderr)
            return None
        return url
    if passfile is None:
        print(
            "expedito: warning: the database password is left out of the fragment (sshd_config "
            f"is readable by all): give it to {args.keys_user}, who runs authorized-keys, in a "
            "libpq password file (--passfile PATH writes one, or ~/.pgpass, mode 0600)",
            file=sys.stderr,
        )
        return url
    try:
        write_passfile(passfile, passfile_line(target, password), args.keys_user)
    except KeyError:
        print(f"expedito: --keys-user {args.keys_user}: no such user", file=sys.stderr)
        return None
    except OSError as exc:
        print(f"expedito: --passfile {passfile}: {exc.strerror or exc}", file=sys.stderr)
        return None
    return url


def _absolute(target: Target) -> Target:
    return target.absolute() if isinstance(target, Path) else target


FRAMES_PER_SECOND = 500
"""Textual's frame rate cap (``TEXTUAL_FPS``, unless set): the least time between two of the
screen's repaints is one period, and after a repaint longer than a period Textual waits one to
two periods for the next. At its default of 60, the page opened by a key pressed just after a
page was painted waited up to 33 ms before it was painted (``bench/startup.py``); Textual
repaints only once it has handled every message waiting, so keys still come together."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "authorized-keys" in argv[:3]:  # sshd's AuthorizedKeysCommand: nothing else loaded
        from tui.keys_cli import main as authorized_keys

        return authorized_keys(argv)
    parser = build_parser(with_batch="batch" in argv)
    args = parser.parse_args(argv)
    args.argv = argv  # what the workers of ``serve --workers N`` are started with
    try:
        return run_command(args)
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"expedito: unexpected error: {type(exc).__name__}: {exc} (--debug shows the "
            "traceback)",
            file=sys.stderr,
        )
        return FAILED


def run_command(args: argparse.Namespace) -> int:
    """The command ``args`` names; one line on stderr and 1 or 2 when it cannot run."""
    if args.command == "batch":
        return batch_prepare(args)
    if args.command == "report":
        from tui.report_cli import run_report

        return run_report(args)
    if args.command == "sshd-config":
        return sshd_config(args)
    from tui.startup import Startup

    try:
        startup = Startup.from_args(args)
    except ValueError as exc:  # --period
        print(f"expedito: {exc}", file=sys.stderr)
        return USAGE
    if args.homes and args.command in (None, "app", "serve") and not args.no_serve:
        from sync.homes import check_homes_root

        try:
            check_homes_root(Path(args.homes).expanduser())
        except ValueError as exc:
            print(f"expedito: {exc}", file=sys.stderr)
            return FAILED
    if args.command in (None, "app"):
        # The app paints its first screen, then opens the store (``Startup.open_store``) in a
        # thread: peewee and the migrations stay off the start-up path.
        os.environ.setdefault("TEXTUAL_FPS", str(FRAMES_PER_SECOND))
        from tui.app import run_app

        return run_app(startup)
    from store.db import DatabaseUnavailable

    try:
        path = startup.open_store()
    except DatabaseUnavailable as exc:
        print(f"expedito: {exc}", file=sys.stderr)
        return FAILED
    if args.command == "demo":
        from store.db import shown
        from tui.startup import DEMO_DIR

        print(f"Demo database: {shown(path)}")
        print(f"Demo key and certificate: {path.parent if isinstance(path, Path) else DEMO_DIR}")
        return 0
    return serve(startup, path)


if __name__ == "__main__":
    sys.exit(main())
