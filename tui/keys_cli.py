"""``expedito authorized-keys USER [UID]``: sshd's ``AuthorizedKeysCommand``.

Prints the provisioned key of a live technical user, prefixed with the ``restrict`` option
(no forwarding, no tty, no rc), and nothing for anyone else (exit 0: sshd then tries its other
sources, which the fragment leaves empty). Given ``UID`` (the fragment passes ``%U``), only
for the uid the cycle gave that user (``sync.openssh.names.uid_of``).

Read-only and quick: no argparse, no peewee, no migrations; the database is opened with
``mode=ro`` and queried once (:mod:`store.keys`). It fails closed: any error prints nothing
on stdout, one line on stderr (sshd logs it), and exits 1.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # ``typing`` and ``pathlib``: a third of this command's imports
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

USAGE = "usage: expedito [--db PATH] authorized-keys USER [UID]"


def keys_lines(db_path: Path | str, user: str, uid: int | None) -> list[str]:
    """The ``authorized_keys`` lines for ``user`` (empty: nobody we know); ``db_path``: a
    SQLite file, or a PostgreSQL URL."""
    from store.keys import authorized_line, open_read_only, provisioned_keys
    from sync.openssh.names import uid_of

    url = isinstance(db_path, str) and db_path.startswith(("postgresql://", "postgres://"))
    if not url and not os.path.isfile(db_path):
        raise FileNotFoundError(f"no database at {db_path}")
    connection = open_read_only(db_path)
    try:
        found = provisioned_keys(connection, user)
    finally:
        connection.close()
    return [
        authorized_line(key, user) for key in found if uid is None or uid == uid_of(key.sender_id)
    ]


def parse(argv: Sequence[str]) -> tuple[Path | str, str, int | None]:
    """``[--db PATH] authorized-keys USER [UID]`` → (database, user, uid); ValueError."""
    args = list(argv)
    db: str | None = None
    if args[:1] == ["--db"] and len(args) >= 2:
        db, args = args[1], args[2:]
    elif args[:1] and args[0].startswith("--db="):
        db, args = args[0][5:], args[1:]
    if args[:1] != ["authorized-keys"] or not 2 <= len(args) <= 3:
        raise ValueError(USAGE)
    user, uid_text = args[1], args[2] if len(args) == 3 else None
    uid = None
    if uid_text is not None:
        if not uid_text.isdigit():
            raise ValueError(f"UID {uid_text!r} is not a number ({USAGE})")
        uid = int(uid_text)
    return database_path(db), user, uid


def database_path(given: str | None) -> Path | str:
    """``--db``, else ``$EXPEDITO_DB`` (both cheap: a PostgreSQL URL as it is), else the user
    data directory's file (``store.db``, which loads peewee: by hand only; the sshd fragment
    always gives --db)."""
    chosen = given or os.environ.get("EXPEDITO_DB")
    if chosen and chosen.startswith(("postgresql://", "postgres://")):
        return chosen
    if chosen:
        return os.path.expanduser(chosen.removeprefix("sqlite:///"))
    from store.db import resolve_db_path

    return resolve_db_path(None)


def main(argv: Sequence[str]) -> int:
    """Print the key lines; 2 for a usage error, 1 for any other failure (nothing printed)."""
    try:
        db_path, user, uid = parse(argv)
    except ValueError as exc:
        print(f"expedito authorized-keys: {exc}", file=sys.stderr)
        return 2
    try:
        lines = keys_lines(db_path, user, uid)
        text = "".join(f"{line}\n" for line in lines)
        data = text.encode("ascii", "strict")
        while data:
            data = data[os.write(sys.stdout.fileno(), data) :]
    except Exception as exc:
        print(f"expedito authorized-keys: {user}: no key given ({exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # sshd's fast path: ``python3 -S -I …/tui/keys_cli.py --db …``
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main(sys.argv[1:]))
