"""Start-up: what the command line asks for, read once, for the app and for ``expedito serve``.

``Startup.from_args(args)`` builds the one ``Schedule`` (``--period``, checked by
``sync.schedule.Schedule`` and nowhere else); the service configuration carries it to the
worker (``service_config``), the app's countdown and its pages read it from the app's back
office. ``tui.cli`` parses the command line and builds it; ``tui.app.run_app`` takes it: the
CLI and the app both depend on this module, neither on the other's internals.

Light on purpose: the store (peewee) and the services (paramiko) load inside the methods that
need them, off the app's start-up path, and Textual is never imported here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sync.schedule import Schedule

if TYPE_CHECKING:
    from store.db import Target
    from sync.openssh.accounts import SystemAccounts
    from sync.services import ServiceConfig

DEMO_DIR = Path.home() / "expedito-demo"
DEMO_DB_NAME = "expedito-demo.sqlite3"


@dataclass(frozen=True)
class Startup:
    """The parsed command line and the schedule built from it."""

    args: argparse.Namespace
    schedule: Schedule

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Startup:
        """``ValueError`` (one line for the user) when ``--period`` does not divide 60."""
        return cls(args, Schedule(args.period))

    @property
    def demo(self) -> bool:
        return bool(self.args.demo)

    @property
    def serve(self) -> bool:
        """Run the back-office services in the app's process (not ``--no-serve``)."""
        return not self.args.no_serve

    @property
    def mouse(self) -> bool:
        return not self.args.no_mouse

    def open_store(self) -> Target:
        """Open the database the arguments name (a SQLite file, or a PostgreSQL URL); for
        ``--demo`` seed it and write the files.

        ``store.db.DatabaseUnavailable`` (one line for the user) when it cannot be used."""
        from store.db import database_target, open_database, resolve_db_path

        args = self.args
        if args.demo or args.command == "demo":
            path = database_target(args.db) if args.db else DEMO_DIR / DEMO_DB_NAME
            open_database(path, make_parent=not args.db)
            if getattr(args, "worker", None) is not None:
                return path  # a worker of serve --workers: its supervisor seeded it
            from store.demo import seed_demo
            from store.demo_sender import seed_demo_sender
            from store.democreds import write_demo_credentials

            seed_demo()
            seed_demo_sender()
            write_demo_credentials(path.parent if isinstance(path, Path) else DEMO_DIR)
            return path
        path = resolve_db_path(args.db)
        open_database(path, make_parent=not args.db)  # a --db in a missing directory: refused
        return path

    def service_config(self, db_path: Target | None) -> ServiceConfig:
        """The services' configuration, with the schedule: homes and host key next to a --db
        or --demo SQLite file (``db_path``: where it was opened), else (and for PostgreSQL)
        in the user data directory."""
        from store.db import data_dir
        from sync.homes import default_homes_root
        from sync.hostkey import HOST_KEY_NAME
        from sync.limits import limits_from_options
        from sync.services import ServiceConfig

        args = self.args
        beside = db_path.parent if isinstance(db_path, Path) and (args.db or args.demo) else None
        if args.homes:
            homes = Path(args.homes).expanduser()
        else:
            homes = beside / "homes" if beside is not None else default_homes_root()
        key_dir = beside if beside is not None else data_dir()
        cert, key = getattr(args, "service_cert", None), getattr(args, "service_key", None)
        if (cert is None) != (key is None):
            raise ValueError("--service-cert and --service-key go together")
        worker = getattr(args, "worker", None)  # one of serve --workers N (sync.supervisor)
        return ServiceConfig(
            homes_root=homes,
            host=args.host,
            port=args.port,
            host_key_path=key_dir / HOST_KEY_NAME,
            schedule=self.schedule,
            service_cert_path=Path(cert).expanduser() if cert else None,
            service_key_path=Path(key).expanduser() if key else None,
            limits=limits_from_options(vars(args)),
            front=getattr(args, "front", "embedded"),
            system_accounts=system_accounts(args),
            keys_dir=Path(args.keys_dir).expanduser().absolute()
            if getattr(args, "keys_dir", None)
            else None,
            reuse_port=worker.count if worker is not None else 0,
            proxy_sources=getattr(args, "proxy_protocol", ()),
            scan_homes=worker is None or worker.number == 1,  # the first worker scans for all
        )


def system_accounts(args: argparse.Namespace) -> SystemAccounts | None:
    """``serve --front openssh``'s keeper of the system accounts (``--accounts``)."""
    if getattr(args, "front", "embedded") != "openssh":
        return None
    from sync.openssh.accounts import ExtraUsers, UserAdd

    if args.accounts == "useradd":
        return UserAdd()
    return ExtraUsers(Path(args.extrausers_dir))
