"""Batch file names: ``TYPE.PURPOSE.SENDER.YYYYMMDD.SEQ.ENV[.PARTS.PART]`` and the folders.

``split_name`` never fails: it splits on dots and fills missing fields with "" so that every
GO file, however badly named, can be answered with the identifier of what is wrong with it.
Whether the fields are *valid* is for :mod:`sync.intake.checks` to say.

TYPE is case-sensitive: FI data, FS signature, GO go (closes the set), TD cancel. FI and FS
carry PARTS.PART, GO and TD stop after PARTS.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA, SIGNATURE, GO, CANCEL = "FI", "FS", "GO", "TD"
MEMBER_TYPES = (DATA, SIGNATURE)

PRODUCTION, TEST, SIMULATION = "R", "T", "S"
ENVIRONMENTS = (PRODUCTION, TEST, SIMULATION)

# The folders the partner writes, the environment each one is for, and where its answers go.
IN_FOLDERS = {"IN": PRODUCTION, "INTEST": TEST, "INTEST-S": SIMULATION}
ENV_FOLDERS = {env: folder for folder, env in IN_FOLDERS.items()}
OUT_FOLDERS = {"IN": "OUT", "INTEST": "OUTTEST", "INTEST-S": "OUTTEST-S"}
HOME_FOLDERS = (*IN_FOLDERS, *OUT_FOLDERS.values())

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


def format_name(kind: str, purpose: str, sender: int | str, date: str, sequence: int | str,
                env: str, parts: int | str | None = None, part: int | str | None = None) -> str:
    """Join fields into a name; integers are zero-padded (sender 6, sequence 5 digits)."""
    fields = [kind, purpose, f"{sender:06d}" if isinstance(sender, int) else sender, date,
              f"{sequence:05d}" if isinstance(sequence, int) else sequence, env]
    fields += [str(value) for value in (parts, part) if value is not None]
    return ".".join(fields)


def set_name(kind: str, name: BatchName, part: int | str | None = None) -> str:
    """The name of another file of ``name``'s set: its FI or FS (with ``part``) or its GO."""
    return format_name(kind, *name.key, name.parts, part)
