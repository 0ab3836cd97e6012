"""The checks a closed set goes through, each with its ACRF error identifier.

The GO file's own name is checked first (:func:`check_go_name`); when it is wrong nothing
else is looked at, since the set it names cannot be trusted. Then the files of the set
(:func:`check_members`), then each FI's signature (:func:`check_signature`). Whether the name
was used before (``ACRF-133``) is checked by :func:`store.batches.record_acknowledged`, in the
transaction that records the set.

Choices the portal guide leaves open:

- A simulation set (S) outside ``INTEST-S`` gets ``ACRF-126``, as R outside ``IN`` gets
  ``ACRF-118`` and T outside ``INTEST`` gets ``ACRF-119``.
- Fields after PARTS on a GO (or after PART on an FI/FS) are an invalid part number
  (``ACRF-115``): those files carry no such field.
- A simulation set needs no FS, but an FS that comes with it is checked like any other.
- Consequences are not reported twice: when a file's part fields are invalid, the set's FI
  numbering (``ACRF-120``) is not judged on top.
- Whatever an FS holds that cannot be read as a signature (bad base64 or DER, nesting beyond
  the reader's bounds, a file over ``MAX_SIGNATURE_FILE``, an embedded certificate with an
  unknown key algorithm or version) is ``ACRF-125``.
- An error of the server itself while checking a set (a bug: anything but a temporary fault,
  which is retried) rejects the set with ``ACRF-999`` (``INTERNAL_ERROR``), so that the
  partner still gets an answer; the log has the details under the GO's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from cryptography import x509

from store.batches import BatchError
from store.batchnames import (
    DATA,
    ENV_OF_FOLDER,
    ENVIRONMENTS,
    MEMBER_TYPES,
    PRODUCTION,
    SIMULATION,
    TEST,
    BatchName,
)
from store.errors import ValidationError
from store.signing import same_certificate, verify_detached

SENDER_MISMATCH = "ACRF-108"
DATE_NOT_8_DIGITS = "ACRF-109"
DATE_IMPOSSIBLE = "ACRF-110"
DATE_IN_FUTURE = "ACRF-111"
SEQUENCE_LENGTH = "ACRF-112"
SEQUENCE_NOT_NUMERIC = "ACRF-113"
PART_COUNT_INVALID = "ACRF-114"
PART_NUMBER_INVALID = "ACRF-115"
PART_BEYOND_COUNT = "ACRF-116"
ENV_INVALID = "ACRF-117"
PRODUCTION_OUTSIDE_IN = "ACRF-118"
TEST_OUTSIDE_INTEST = "ACRF-119"
DATA_FILES_INCONSISTENT = "ACRF-120"
SIGNATURE_MISSING = "ACRF-122"
SIGNATURE_INVALID = "ACRF-125"
SIMULATION_OUTSIDE_INTEST_S = "ACRF-126"
SEQUENCE_ZERO = "ACRF-127"
TYPE_UNKNOWN = "ACRF-129"
GO_WITHOUT_FILES = "ACRF-130"
NAME_USED = "ACRF-133"
OTHER_CERTIFICATE = "ACRF-153"
PURPOSE_NOT_SECURED = "ACRF-154"
INTERNAL_ERROR = "ACRF-999"

MAX_SIGNATURE_FILE = 2 << 20  # an FS is a few KB; larger ones are not read (ACRF-125)

WRONG_FOLDER = {
    PRODUCTION: PRODUCTION_OUTSIDE_IN,
    TEST: TEST_OUTSIDE_INTEST,
    SIMULATION: SIMULATION_OUTSIDE_INTEST_S,
}

_DIGIT = re.compile(r"[1-9]")
_DATE = re.compile(r"[0-9]{8}")
_SEQUENCE = re.compile(r"[0-9]{5}")


@dataclass(frozen=True)
class SignedPart:
    """An FI file and the FS file that signs it, to verify."""

    data: BatchName
    signature: BatchName


def check_go_name(
    go: BatchName, folder: str, sender_number: int, today: date, file_codes: frozenset[str]
) -> list[BatchError]:
    """The GO file's own fields, in the order they appear in the name."""
    codes: list[str] = []
    if go.purpose not in file_codes:
        codes.append(PURPOSE_NOT_SECURED)
    if go.sender != f"{sender_number:06d}":
        codes.append(SENDER_MISMATCH)
    codes += _date_problems(go.date, today)
    if len(go.sequence) != 5:
        codes.append(SEQUENCE_LENGTH)
    elif not _SEQUENCE.fullmatch(go.sequence):
        codes.append(SEQUENCE_NOT_NUMERIC)
    elif go.sequence == "00000":
        codes.append(SEQUENCE_ZERO)
    if go.env not in ENVIRONMENTS:
        codes.append(ENV_INVALID)
    elif ENV_OF_FOLDER.get(folder) != go.env:
        codes.append(WRONG_FOLDER[go.env])
    if not _DIGIT.fullmatch(go.parts):
        codes.append(PART_COUNT_INVALID)
    if go.extra:
        codes.append(PART_NUMBER_INVALID)
    return [BatchError(code, go.text) for code in codes]


def _date_problems(text: str, today: date) -> list[str]:
    if not _DATE.fullmatch(text):
        return [DATE_NOT_8_DIGITS]
    try:
        day = datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return [DATE_IMPOSSIBLE]
    return [DATE_IN_FUTURE] if day > today else []


def check_members(
    go: BatchName, members: Sequence[BatchName]
) -> tuple[list[BatchError], list[SignedPart]]:
    """The set's FI/FS files against its (valid) GO: problems, and the FI/FS pairs to verify."""
    if not members:
        return [BatchError(GO_WITHOUT_FILES, go.text)], []
    errors: list[BatchError] = []
    data: dict[int, BatchName] = {}
    signatures: dict[int, BatchName] = {}
    numbering_judged = True
    inconsistent = False
    for member in sorted(members, key=lambda m: m.text):
        if member.kind not in MEMBER_TYPES:
            errors.append(BatchError(TYPE_UNKNOWN, member.text))
            continue
        problem = _part_problem(member)
        if problem is not None:
            errors.append(BatchError(problem, member.text))
            numbering_judged = False
            continue
        if member.parts != go.parts:
            inconsistent = True
            continue
        (data if member.kind == DATA else signatures)[int(member.part)] = member
    if numbering_judged and (inconsistent or set(data) != set(range(1, int(go.parts) + 1))):
        errors.append(BatchError(DATA_FILES_INCONSISTENT, go.text))
    pairs: list[SignedPart] = []
    for part, fi in sorted(data.items()):
        fs = signatures.get(part)
        if fs is not None:
            pairs.append(SignedPart(fi, fs))
        elif go.env != SIMULATION:
            errors.append(BatchError(SIGNATURE_MISSING, fi.text))
    return errors, pairs


def _part_problem(member: BatchName) -> str | None:
    if not _DIGIT.fullmatch(member.parts):
        return PART_COUNT_INVALID
    if not _DIGIT.fullmatch(member.part) or member.extra:
        return PART_NUMBER_INVALID
    if int(member.part) > int(member.parts):
        return PART_BEYOND_COUNT
    return None


def check_signature(signature: Path, data: Path, registered: x509.Certificate | None) -> str | None:
    """``ACRF-125`` when the FS ``signature`` does not verify over the FI ``data``,
    ``ACRF-153`` when it was made with another certificate than the channel's; None when all
    is well. The FI is hashed while it is read, never held whole; ``FileNotFoundError``
    when either file is gone."""
    if signature.stat().st_size > MAX_SIGNATURE_FILE:
        return SIGNATURE_INVALID
    try:
        signer = verify_detached(signature.read_bytes(), data)
    except ValidationError:
        return SIGNATURE_INVALID
    if registered is None or not same_certificate(signer, registered):
        return OTHER_CERTIFICATE
    return None
