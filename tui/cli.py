"""The ``expedito`` command: the app, ``serve`` (headless), ``demo`` and ``batch``.

Textual is imported only by the commands that open the app, so ``expedito serve`` and the
other headless commands never load it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

DEMO_DIR = Path.home() / "expedito-demo"


def demo_dir() -> Path:
    return DEMO_DIR


def build_parser(with_batch: bool = True) -> argparse.ArgumentParser:
    """The command line; ``with_batch=False`` leaves out the arguments of ``batch prepare``, whose
    module loads ``cryptography`` and the store (70 ms, on the app's start-up path)."""
    parser = argparse.ArgumentParser(
        prog="expedito",
        description="Gestion d'accès pour Entreprises et Organisations — Messages structurés "
        "(SFTP) in the terminal.",
    )
    parser.add_argument("--db", metavar="PATH",
                        help="SQLite database file (default: $EXPEDITO_DB, else the user data "
                        "directory)")
    parser.add_argument("--demo", action="store_true",
                        help=f"open a demo database in {DEMO_DIR} (created and seeded when "
                        "missing) and write the demo key and certificate there")
    parser.add_argument("--no-mouse", action="store_true", help="run with the mouse off")
    parser.add_argument("--no-serve", action="store_true",
                        help="do not run the sync worker and SFTP server in this process "
                        "(when 'expedito serve' already runs on the database)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("app", help="open the terminal app (the default)")
    sub.add_parser("demo", help="create or complete the demo database and credential files")
    batch = sub.add_parser("batch", help="batch files sent over the SFTP channel")
    actions = batch.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    prepare = actions.add_parser(
        "prepare", help="write a named and signed FI/FS/GO set, ready to upload",
        description="Write a correctly named FI/FS/GO set, signed with the channel's "
        "certificate, ready to upload (the GO file last). With --demo, the demo database, "
        "certificate and key are used.")
    if with_batch:
        from sync.intake.prepare import add_arguments

        add_arguments(prepare)
    return parser


def open_store(args: argparse.Namespace) -> Path:
    """Open the database the arguments name; for ``--demo`` seed it and write the files."""
    from store.db import open_database, resolve_db_path

    if args.demo or args.command == "demo":
        path = Path(args.db) if args.db else DEMO_DIR / "expedito-demo.sqlite3"
        open_database(path)
        from store.demo import seed_demo
        from store.democreds import write_demo_credentials

        seed_demo()
        write_demo_credentials(path.parent if args.db else DEMO_DIR)
        return path
    path = resolve_db_path(args.db)
    open_database(path)
    return path


def batch_prepare(args: argparse.Namespace) -> int:
    """``expedito batch prepare``: headless, and it opens a database only if there is one."""
    from store.db import resolve_db_path
    from store.democreds import CERTIFICATE_NAME
    from sync.intake.prepare import run

    db_path: Path | None = None
    if args.db:
        db_path = Path(args.db).expanduser()
    elif args.demo:
        db_path = DEMO_DIR / "expedito-demo.sqlite3"
        args.cert = args.cert or DEMO_DIR / f"{CERTIFICATE_NAME}.cer"
        args.key = args.key or DEMO_DIR / f"{CERTIFICATE_NAME}.key"
    elif (default := resolve_db_path(None)).is_file():
        db_path = default
    return run(args, db_path)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(with_batch="batch" in argv)
    args = parser.parse_args(argv)
    if args.command == "batch":
        return batch_prepare(args)
    if args.command in (None, "app"):
        # The app paints its first screen, then opens the store (``open_store``) in a thread:
        # peewee and the migrations stay off the start-up path.
        from tui.app import run_app

        return run_app(None, args)
    try:
        path = open_store(args)
    except OSError as exc:
        print(f"expedito: cannot open the database: {exc}", file=sys.stderr)
        return 2
    if args.command == "demo":
        print(f"Demo database: {path}")
        print(f"Demo key and certificate: {path.parent}")
        return 0
    from tui.app import run_app

    return run_app(path, args)


if __name__ == "__main__":
    sys.exit(main())
