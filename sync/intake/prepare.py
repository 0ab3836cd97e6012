"""``expedito batch prepare``: write a correctly named FI/FS/GO set, ready to upload.

For partners testing their channel, for demos and for the tests. Each data file (or each
part of one file split with ``--parts``) becomes ``FI.<PURPOSE>.<SENDER>.<DATE>.<SEQ>.<ENV>
.<PARTS>.<PART>`` with its detached signature in the matching FS file (none for simulation,
S), and an empty GO file closes the set. Upload the FI and FS files first, the GO last.

Memory stays bounded whatever the input's size: the data is copied into each FI 1 MiB at a
time and the FI signed over its digest (``store.signing``). An input whose part would be
larger than the server accepts (``--max-file-size``, 512 MB by default, as ``serve``) is
refused with the ``--parts`` that would make it fit.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from store.batchnames import (
    CANCEL,
    DATA,
    ENVIRONMENTS,
    FOLDER_OF_ENV,
    GO,
    OUT_FOLDER_OF,
    SIGNATURE,
    SIMULATION,
    format_name,
    split_name,
)
from store.clock import local_now
from store.signing import SigningKey, sign_detached
from sync.credential_files import read_certificate, read_private_key

MAX_PARTS = 9
DEFAULT_MAX_FILE_MB = 512  # what ``expedito serve`` accepts by default
MB = 1024 * 1024
CHUNK = 1 << 20
LAST_SEQUENCE = 99_999
_PURPOSE = re.compile(r"[A-Z]{4}")

if TYPE_CHECKING:
    from store.db import Target


class PrepareError(Exception):
    """A set cannot be prepared as asked; the message says why."""


@dataclass(frozen=True)
class FileSlice:
    """``length`` bytes of the file ``path`` from ``offset``: a part, never read whole."""

    path: Path
    offset: int
    length: int


Part = bytes | FileSlice


@dataclass(frozen=True)
class PreparedSet:
    data: tuple[Path, ...]
    signatures: tuple[Path, ...]
    go: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file, in upload order (the GO last)."""
        return (*self.data, *self.signatures, self.go)


def write_set(
    out_dir: Path,
    parts: Sequence[Part],
    *,
    purpose: str,
    sender: int | str,
    date: str,
    sequence: int | str,
    env: str,
    cert: x509.Certificate | None = None,
    key: SigningKey | None = None,
    sign: bool | None = None,
    overwrite: bool = False,
) -> PreparedSet:
    """Write the FI files of ``parts``, their FS (when ``sign``, by default unless S) and a GO.

    Fields are used as given (integers zero-padded), so tests can also write broken names.
    """
    if not 1 <= len(parts) <= MAX_PARTS:
        raise PrepareError(f"a set has 1 to {MAX_PARTS} parts, not {len(parts)}")
    sign = env != SIMULATION if sign is None else sign
    if sign and (cert is None or key is None):
        raise PrepareError("a certificate and its private key are needed to sign")
    count = len(parts)
    fields = (purpose, sender, date, sequence, env)
    go = out_dir / format_name(GO, *fields, count)
    data = [out_dir / format_name(DATA, *fields, count, i) for i in range(1, count + 1)]
    signatures = (
        [out_dir / format_name(SIGNATURE, *fields, count, i) for i in range(1, count + 1)]
        if sign
        else []
    )
    if not overwrite:
        existing = [p.name for p in (*data, *signatures, go) if p.exists()]
        if existing:
            raise PrepareError(f"already there: {', '.join(existing)}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PrepareError(
            f"--out {out_dir}: cannot create it ({exc.strerror or exc}): give "
            "a directory you can write"
        ) from None
    for i, part in enumerate(parts):
        _write(data[i], part)
        if sign:
            assert cert is not None and key is not None
            _write(signatures[i], sign_detached(data[i], cert, key))  # read back in chunks
    _write(go, b"")
    return PreparedSet(tuple(data), tuple(signatures), go)


def split_file(path: Path, size: int, parts: int) -> list[FileSlice]:
    """Cut the file ``path`` of ``size`` bytes in ``parts`` slices of (nearly) equal size."""
    if not 1 <= parts <= MAX_PARTS:
        raise PrepareError(f"--parts {parts}: give 1 to {MAX_PARTS}")
    if size < parts:
        raise PrepareError(f"{path}: {size} bytes cannot be cut in {parts} parts")
    length, extra = divmod(size, parts)
    bounds = [i * length + min(i, extra) for i in range(parts + 1)]
    return [FileSlice(path, bounds[i], bounds[i + 1] - bounds[i]) for i in range(parts)]


def next_sequence(
    out_dir: Path, sender: int, date: str, env: str, recorded: Iterable[int] = ()
) -> int:
    """One more than the highest sequence used for the sender, date and environment, in
    ``recorded`` (the database) and in the names of the files in ``out_dir``."""
    used = set(recorded)
    number = f"{sender:06d}"
    if out_dir.is_dir():
        for entry in os.scandir(out_dir):
            name = split_name(entry.name)
            if (
                name.kind in (DATA, SIGNATURE, GO, CANCEL)
                and name.sender == number
                and name.date == date
                and name.env == env
                and name.sequence.isdigit()
                and name.sequence.isascii()
            ):
                used.add(int(name.sequence))
    value = max(used, default=0) + 1
    if value > LAST_SEQUENCE:
        raise PrepareError(f"no sequence left for {number} on {date} ({env})")
    return value


def load_certificate(path: Path) -> x509.Certificate:
    return read_certificate(path, PrepareError)


def load_private_key(path: Path) -> SigningKey:
    return read_private_key(path, PrepareError)


def _write(path: Path, data: Part) -> None:
    """Write ``data`` as ``path`` (a temporary name, then renamed); a slice is copied 1 MiB at
    a time."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        if isinstance(data, bytes):
            temporary.write_bytes(data)
        else:
            with data.path.open("rb") as source, temporary.open("wb") as target:
                source.seek(data.offset)
                left = data.length
                while left > 0 and (chunk := source.read(min(CHUNK, left))):
                    target.write(chunk)
                    left -= len(chunk)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PrepareError(f"{path}: cannot write it ({exc.strerror or exc})") from None


def _key_matches(cert: x509.Certificate, key: SigningKey) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(
        key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)
    )


# -- the command ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        type=Path,
        help="the data: one file per part (or one file cut with --parts)",
    )
    parser.add_argument(
        "--purpose", required=True, help="the application's file-name code: DMFA, DIMN, DUCN, …"
    )
    parser.add_argument(
        "--env",
        required=True,
        choices=ENVIRONMENTS,
        help="R production (IN), T test (INTEST), S simulation (INTEST-S)",
    )
    parser.add_argument("--key", type=Path, help="the signing certificate's private key (PEM)")
    parser.add_argument(
        "--cert", type=Path, help="the certificate registered on the channel (DER or PEM)"
    )
    parser.add_argument(
        "--sender",
        type=int,
        help="sender number (default: the active sender in the database whose "
        "channel holds --cert, else the only or first one)",
    )
    parser.add_argument(
        "--seq",
        type=int,
        help="sequence (default: the next unused one for the sender, date and "
        "environment, in the database and in --out)",
    )
    parser.add_argument("--date", help="YYYYMMDD (default: today)")
    parser.add_argument(
        "--parts", type=int, metavar="N", help=f"cut the one FILE in N parts (1 to {MAX_PARTS})"
    )
    parser.add_argument(
        "--max-file-size",
        type=int,
        metavar="MB",
        default=DEFAULT_MAX_FILE_MB,
        help="the largest file the server accepts (default "
        f"{DEFAULT_MAX_FILE_MB} MB, as 'expedito serve'): a larger part is "
        "refused",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="where to write the set (default: the current directory)",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the database to take the sender and used sequences from",
    )


def run(args: argparse.Namespace, db_path: Target | None) -> int:
    """Run ``batch prepare`` with the parsed ``args``; ``db_path`` is None without a database."""
    try:
        prepared = _prepare(args, db_path)
    except PrepareError as exc:
        print(f"expedito batch prepare: {exc}", file=sys.stderr)
        return 2
    for path in prepared.paths:
        print(path)
    folder = FOLDER_OF_ENV[args.env]
    print(
        f"Upload them into {folder}, the GO file last; the acknowledgement (ACRF) appears "
        f"in {OUT_FOLDER_OF[folder]}.",
        file=sys.stderr,
    )
    return 0


def prepare(args: argparse.Namespace, db_path: Target | None) -> PreparedSet:
    """Write the set the parsed ``args`` ask for (``batch prepare``, ``batch send``);
    :class:`PrepareError` says why not."""
    return _prepare(args, db_path)


def _prepare(args: argparse.Namespace, db_path: Target | None) -> PreparedSet:
    purpose = str(args.purpose).upper()
    known = _known_purposes(db_path)
    if not _PURPOSE.fullmatch(purpose) or (known and purpose not in known):
        valid = f"one of {', '.join(known)}" if known else "four letters such as DMFA"
        raise PrepareError(f"--purpose {args.purpose!r} is not an application's code: give {valid}")
    date = args.date or f"{local_now():%Y%m%d}"
    if not re.fullmatch(r"[0-9]{8}", date):
        raise PrepareError(f"--date {date!r}: YYYYMMDD")
    if args.parts is not None and not 1 <= args.parts <= MAX_PARTS:
        raise PrepareError(f"--parts {args.parts}: give 1 to {MAX_PARTS}")
    if len(args.files) > 1 and args.parts:
        raise PrepareError("--parts cuts one FILE; with several, each FILE is a part")
    if args.max_file_size < 1:
        raise PrepareError(f"--max-file-size {args.max_file_size}: give at least 1 (MB)")
    parts = _plan(args.files, args.parts, args.max_file_size * MB)
    sign = args.env != SIMULATION
    cert = load_certificate(args.cert) if args.cert else None
    key = load_private_key(args.key) if args.key else None
    if sign and (cert is None or key is None):
        raise PrepareError(f"--key and --cert are needed to sign (environment {args.env})")
    if cert is not None and key is not None and not _key_matches(cert, key):
        raise PrepareError("--key is not the private key of --cert")
    sender, recorded = _from_database(db_path, args.sender, cert, date, args.env)
    if not 1 <= sender <= 999_999:
        raise PrepareError(f"--sender {sender}: six digits")
    sequence = (
        args.seq
        if args.seq is not None
        else next_sequence(args.out, sender, date, args.env, recorded)
    )
    if not 1 <= sequence <= LAST_SEQUENCE:
        raise PrepareError(f"--seq {sequence}: 1 to {LAST_SEQUENCE}")
    return write_set(
        args.out,
        parts,
        purpose=purpose,
        sender=sender,
        date=date,
        sequence=sequence,
        env=args.env,
        cert=cert,
        key=key,
        sign=sign,
    )


def _plan(files: Sequence[Path], parts: int | None, limit: int) -> list[FileSlice]:
    """The parts to write, as slices of the input files (nothing read yet); refused when an
    input is empty or a part would be larger than ``limit`` bytes."""
    sizes = []
    for path in files:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise PrepareError(f"{path}: {exc.strerror or exc}") from None
        if size == 0:
            raise PrepareError(f"{path} is empty: there is nothing to send")
        sizes.append(size)
    slices = (
        split_file(files[0], sizes[0], parts)
        if parts
        else [FileSlice(path, 0, size) for path, size in zip(files, sizes, strict=True)]
    )
    largest = max(slices, key=lambda s: s.length)
    if largest.length > limit:
        total = sum(sizes) if parts or len(files) == 1 else largest.length
        needed = -(-total // limit)
        if len(files) == 1 and needed <= MAX_PARTS:
            advice = f"cut it with --parts {needed}"
        else:
            advice = (
                f"split it into files of at most {limit // MB} MB (a set has "
                f"{MAX_PARTS} parts at most)"
            )
        raise PrepareError(
            f"{largest.path}: a part of {_size(largest.length)} is larger than "
            f"the server accepts ({limit // MB} MB): {advice}"
        )
    return slices


def _size(count: int) -> str:
    return f"{count / MB:.1f} MB" if count >= MB else f"{count} bytes"


def _known_purposes(db_path: Target | None) -> list[str]:
    """The applications' file-name codes in the database (empty without one)."""
    if db_path is None or (isinstance(db_path, Path) and not db_path.is_file()):
        return []
    from store.channels import applications
    from store.db import DatabaseUnavailable, close_database, open_database

    try:
        open_database(db_path, make_parent=False)
    except DatabaseUnavailable as exc:
        raise PrepareError(str(exc)) from None
    try:
        return [code for app in applications() for code in app.file_codes]
    finally:
        close_database()


def _from_database(
    db_path: Target | None, sender: int | None, cert: x509.Certificate | None, date: str, env: str
) -> tuple[int, set[int]]:
    """The sender (given or found) and the sequences the database has for it."""
    if db_path is None:
        if sender is None:
            raise PrepareError("--sender is needed (no database to take it from: --db)")
        return sender, set()
    if isinstance(db_path, Path) and not db_path.is_file():
        raise PrepareError(f"no database at {db_path}")
    from store.batches import default_sender_number, recorded_sequences, sender_id_of
    from store.db import DatabaseUnavailable, close_database, open_database

    try:
        open_database(db_path, make_parent=False)
    except DatabaseUnavailable as exc:
        raise PrepareError(str(exc)) from None
    try:
        if sender is None:
            der = cert.public_bytes(serialization.Encoding.DER) if cert is not None else None
            sender = default_sender_number(der)
            if sender is None:
                raise PrepareError(f"no active sender in {db_path}: give --sender")
        sender_id = sender_id_of(sender)
        recorded = recorded_sequences(sender_id, date, env) if sender_id is not None else set()
    finally:
        close_database()
    return sender, recorded
