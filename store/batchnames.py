"""Batch file names and the folders they travel through: the one place that says what they are.

Names: ``TYPE.PURPOSE.SENDER.YYYYMMDD.SEQ.ENV[.PARTS.PART]``. TYPE is case-sensitive: FI data,
FS signature, GO go (closes the set), TD cancel. FI and FS carry PARTS.PART, GO and TD stop
after PARTS. ``split_name`` never fails: it splits on dots and fills missing fields with ""
so that every GO file, however badly named, can be answered with the identifier of what is
wrong with it; whether the fields are *valid* is for :mod:`sync.intake.checks` to say.

Folders: each SFTP home holds the three IN folders the partner writes (IN production R,
INTEST test T, INTEST-S simulation S) and the three OUT folders where the answers go (OUT,
OUTTEST, OUTTEST-S, in that order).

Answers: ``FO.ACRF.999999.YYYYMMDD.SEQ.ENV``, the institution's own number as sender.

This lives in ``store`` because the store names the acknowledgements it numbers; the SFTP
homes, the intake and ``batch prepare`` (all in ``sync``) import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DATA, SIGNATURE, GO, CANCEL = "FI", "FS", "GO", "TD"
MEMBER_TYPES = (DATA, SIGNATURE)

PRODUCTION, TEST, SIMULATION = "R", "T", "S"
ENVIRONMENTS = (PRODUCTION, TEST, SIMULATION)

IN_FOLDERS = ("IN", "INTEST", "INTEST-S")  # the partner writes here ...
OUT_FOLDERS = ("OUT", "OUTTEST", "OUTTEST-S")  # ... and reads the answers here
HOME_FOLDERS = IN_FOLDERS + OUT_FOLDERS
# The environment each IN folder is for, the IN folder of each environment, the OUT folder
# that answers each IN folder.
ENV_OF_FOLDER = dict(zip(IN_FOLDERS, ENVIRONMENTS, strict=True))
FOLDER_OF_ENV = dict(zip(ENVIRONMENTS, IN_FOLDERS, strict=True))
OUT_FOLDER_OF = dict(zip(IN_FOLDERS, OUT_FOLDERS, strict=True))

ACK_TYPE, ACK_PURPOSE = "FO", "ACRF"
INSTITUTION_NUMBER = "999999"  # the sender number on the institution's own files

SetKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class BatchName:
    """A file name cut into its fields (missing ones are "")."""

    text: str
    kind: str
    purpose: str
    sender: str
    date: str
    sequence: str
    env: str
    parts: str
    part: str
    extra: tuple[str, ...]  # fields after PART (FI, FS) or after PARTS (GO, TD)

    @property
    def key(self) -> SetKey:
        """PURPOSE.SENDER.DATE.SEQ.ENV: what the files of one set share."""
        return (self.purpose, self.sender, self.date, self.sequence, self.env)


def split_name(name: str) -> BatchName:
    fields = name.split(".")
    padded = fields + [""] * (8 - len(fields))
    kind, purpose, sender, date, sequence, env, parts = padded[:7]
    if kind in (GO, CANCEL):
        part, extra = "", tuple(fields[7:])
    else:
        part, extra = padded[7], tuple(fields[8:])
    return BatchName(name, kind, purpose, sender, date, sequence, env, parts, part, extra)


# What clients add to a name they upload under before renaming it to the real one: WinSCP's
# ``NAME.filepart``, ``NAME.partial`` and rclone's ``NAME.XXXXXXXX.partial`` (8 random
# characters); and a leading dot (lftp's ``.in.NAME``, sshfs and editors' hidden files).
TEMPORARY_SUFFIXES = (".filepart", ".partial")


def is_temporary_name(name: str) -> bool:
    """Is ``name`` a temporary upload name? Such a file is never part of a set (a
    ``GO.….filepart`` is not a GO): it counts once renamed to its final name."""
    return name.startswith(".") or name.endswith(TEMPORARY_SUFFIXES)


def closing_kind(name: str) -> str | None:
    """``GO`` or ``TD`` when the file ``name`` closes or cancels a set, else None.

    The one test of it: the intake's upload hook, its scans, its worker and the listing of a
    set's members all ask this. TYPE is what comes before the first dot (case-sensitive); a
    temporary name closes nothing.
    """
    kind = name.split(".", 1)[0]
    return kind if kind in (GO, CANCEL) and not is_temporary_name(name) else None


def format_name(
    kind: str,
    purpose: str,
    sender: int | str,
    date: str,
    sequence: int | str,
    env: str,
    parts: int | str | None = None,
    part: int | str | None = None,
) -> str:
    """Join fields into a name; integers are zero-padded (sender 6, sequence 5 digits)."""
    fields = [
        kind,
        purpose,
        f"{sender:06d}" if isinstance(sender, int) else sender,
        date,
        f"{sequence:05d}" if isinstance(sequence, int) else sequence,
        env,
    ]
    fields += [str(value) for value in (parts, part) if value is not None]
    return ".".join(fields)


def acrf_name(today: date, sequence: int, env: str) -> str:
    """The name of the acknowledgement numbered ``sequence`` on ``today`` for ``env``."""
    return format_name(ACK_TYPE, ACK_PURPOSE, INSTITUTION_NUMBER, f"{today:%Y%m%d}", sequence, env)
