"""``expedito report``: what the operators' scripts read, as CSV or JSON on stdout.

    expedito report certificates --within 60 --format csv   channels whose certificate
                                                            expires within 60 days
    expedito report sets --since 2026-01-01 --format json   sets received since a date

Headless (no Textual); the database is the one ``--db`` names (or ``$EXPEDITO_DB``, or the
default one). A bad argument is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

FORMATS = ("csv", "json")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="report", metavar="REPORT", required=True)
    certificates = kinds.add_parser("certificates", help="channels whose certificate expires soon")
    certificates.add_argument(
        "--within",
        type=int,
        default=60,
        metavar="DAYS",
        help="expiring within DAYS days, or expired (default 60)",
    )
    certificates.add_argument("--format", choices=FORMATS, default="csv")
    sets = kinds.add_parser("sets", help="sets received since a date")
    sets.add_argument(
        "--since", required=True, metavar="DATE", type=_date, help="YYYY-MM-DD (or YYYYMMDD)"
    )
    sets.add_argument("--format", choices=FORMATS, default="csv")


def _date(text: str) -> date:
    for layout in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r}: a date YYYY-MM-DD")


def run_report(args: argparse.Namespace) -> int:
    from store.db import close_database, open_database, resolve_db_path
    from store.ops import expiring_certificates, sets_since

    path = resolve_db_path(args.db)
    if isinstance(path, Path) and not path.is_file():
        print(f"expedito report: no database at {path} (--db)", file=sys.stderr)
        return 2
    from store.db import DatabaseUnavailable

    if args.report == "certificates" and args.within < 0:
        print("expedito report: --within is a number of days, 0 or more", file=sys.stderr)
        return 2
    try:
        open_database(path)
    except DatabaseUnavailable as exc:
        print(f"expedito report: {exc}", file=sys.stderr)
        return 1
    try:
        rows: Sequence[Any] = (
            expiring_certificates(args.within)
            if args.report == "certificates"
            else sets_since(args.since)
        )
    finally:
        close_database()
    write(rows, args.format, sys.stdout, _columns(args.report))
    return 0


def _columns(report: str) -> list[str]:
    from store.ops import ExpiringCertificate, ReceivedSet

    kind = ExpiringCertificate if report == "certificates" else ReceivedSet
    return [field.name for field in fields(kind)]


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def write(rows: Sequence[Any], layout: str, out: Any, columns: list[str]) -> None:
    records = [
        {key: _plain(value) for key, value in asdict(row).items()}
        for row in rows
        if is_dataclass(row) and not isinstance(row, type)
    ]
    if layout == "json":
        json.dump(records, out, ensure_ascii=False, indent=1)
        out.write("\n")
        return
    import csv  # not when only the command line is parsed (the app's)

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(
            [
                " ".join(value) if isinstance(value, list) else "" if value is None else value
                for value in (record[column] for column in columns)
            ]
        )
