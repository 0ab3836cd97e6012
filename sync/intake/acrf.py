"""The acknowledgement (ACRF) of a set: its XML, and writing it where the partner reads.

::

    <?xml version='1.0' encoding='UTF-8'?>
    <ACRF>
      <Form>
        <Identification>ACRF001</Identification>
      </Form>
      <FileReference>
        <FileName>GO.DMFA.123456.20260115.00001.T.1</FileName>
        <ReferenceNbr>000000000042</ReferenceNbr>
      </FileReference>
      <ReceptionResult>
        <ResultCode>0</ResultCode>
        <ErrorID>ACRF-125</ErrorID>
      </ReceptionResult>
    </ACRF>

ResultCode is 1 (accepted, no ErrorID) or 0 (rejected, one ErrorID per problem found).

As the real service does, the acknowledgement is a set of its own (:func:`write_acrf`):
``FO.ACRF.999999.YYYYMMDD.SEQ.ENV`` (the XML), ``FS.ACRF.…`` (a detached CMS signature of it
by the service's certificate, :mod:`sync.service_signer`) and ``GO.ACRF.…``, written last, so
partners' software verifies and picks it up like any set.

Durability: an acknowledgement's data is on disk before its names appear (a crash never
leaves a truncated ACRF). :func:`write_acrf` does it for one; the intake's batches
:func:`stage_acrf` many, :func:`sync_files` them together (one journal commit for all rather
than one per file), then :func:`publish` each, and sync the folders once for the batch before
the sets are marked processed in the database.
"""

from __future__ import annotations

import os
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

FORM_ID = "ACRF001"
TEMPORARY_SUFFIX = ".tmp"
STALE_AFTER = 600.0  # seconds: an ACRF is written in milliseconds; older temporaries are left
_TAG = f"{socket.gethostname()}.{os.getpid()}"
ACK_DATA, ACK_SIGNATURE, ACK_GO = "FO", "FS", "GO"
AckSigner = Callable[[bytes], bytes]
"""Signs an ACRF's XML: the detached signature that goes in its ``FS.ACRF`` file."""


@dataclass(frozen=True)
class Acknowledgement:
    file_name: str
    ticket: str
    result: int
    errors: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return self.result == 1


def acrf_xml(ack: Acknowledgement) -> bytes:
    root = ET.Element("ACRF")
    ET.SubElement(ET.SubElement(root, "Form"), "Identification").text = FORM_ID
    reference = ET.SubElement(root, "FileReference")
    ET.SubElement(reference, "FileName").text = ack.file_name
    ET.SubElement(reference, "ReferenceNbr").text = ack.ticket
    reception = ET.SubElement(root, "ReceptionResult")
    ET.SubElement(reception, "ResultCode").text = str(ack.result)
    for code in ack.errors:
        ET.SubElement(reception, "ErrorID").text = code
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def parse_acrf(data: bytes) -> Acknowledgement:
    """Read an ACRF back (for tests and for partners' tools); ValueError when malformed."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    if root.tag != "ACRF" or root.findtext("Form/Identification") != FORM_ID:
        raise ValueError("not an ACRF001 acknowledgement")
    result = root.findtext("ReceptionResult/ResultCode")
    if result not in ("0", "1"):
        raise ValueError(f"ResultCode {result!r}")
    return Acknowledgement(
        root.findtext("FileReference/FileName") or "",
        root.findtext("FileReference/ReferenceNbr") or "",
        int(result),
        tuple(e.text or "" for e in root.findall("ReceptionResult/ErrorID")),
    )


def ack_companions(ack_name: str) -> tuple[str, str]:
    """The ``FS.ACRF.…`` and ``GO.ACRF.…`` names that go with ``FO.ACRF.…``."""
    rest = ack_name.split(".", 1)[1]
    return f"{ACK_SIGNATURE}.{rest}", f"{ACK_GO}.{rest}"


def write_acrf(
    target: Path, ack: Acknowledgement, signer: AckSigner | None = None, staging: Path | None = None
) -> Path:
    """Write the acknowledgement ``target`` (``FO.ACRF.…``): its XML, then, with ``signer``,
    its signature ``FS.ACRF.…`` and its ``GO.ACRF.…`` last (each atomically: a partner who
    sees the GO finds the other two whole). Writing again overwrites (a crash's redo)."""
    staged = stage_acrf(target, ack, signer, staging)
    try:
        sync_files(staged.data_files)
        publish(staged)
    except BaseException:
        discard(staged)
        raise
    return target


@dataclass(frozen=True)
class StagedAcrf:
    """An acknowledgement written under temporary names, not yet where the partner reads:
    (temporary, final name) of its files, in the order they must appear (the empty
    ``GO.ACRF`` last)."""

    target: Path
    files: tuple[tuple[Path, Path], ...]
    sizes: tuple[int, ...]

    @property
    def data_files(self) -> list[Path]:
        """The temporaries that hold data (the empty ``GO.ACRF`` has none a crash could
        lose): what must be on disk before the names appear."""
        return [
            temporary for (temporary, _), size in zip(self.files, self.sizes, strict=True) if size
        ]


def stage_acrf(
    target: Path, ack: Acknowledgement, signer: AckSigner | None = None, staging: Path | None = None
) -> StagedAcrf:
    """Write the files of the acknowledgement ``target`` under temporary names, not synced:
    :func:`sync_files` (many acknowledgements together), then :func:`publish`."""
    xml = acrf_xml(ack)
    contents = [(target, xml)]
    if signer is not None:
        signature, go = ack_companions(target.name)
        contents += [(target.with_name(signature), signer(xml)), (target.with_name(go), b"")]
    written: list[tuple[Path, Path]] = []
    try:
        for final, data in contents:
            written.append((_write_temporary(final, data, staging), final))
    except BaseException:
        discard(StagedAcrf(target, tuple(written), ()))
        raise
    return StagedAcrf(target, tuple(written), tuple(len(data) for _, data in contents))


def sync_files(paths: Sequence[Path], pool: Executor | None = None) -> None:
    """fsync each of ``paths`` (files or folders); with ``pool``, all at once from its
    threads, so that the file system commits them together (one journal commit for many
    files instead of one each) — the call returns once every one is on disk."""
    if pool is None or len(paths) < 2:
        for path in paths:
            _fsync(path)
        return
    for _ in pool.map(_fsync, paths):  # raises the first failure
        pass


def publish(staged: StagedAcrf) -> Path:
    """Give the staged files their names, in order (the ``GO.ACRF`` last)."""
    for temporary, final in staged.files:
        os.replace(temporary, final)
    return staged.target


def discard(staged: StagedAcrf) -> None:
    """Remove the temporaries of an acknowledgement that will not be published."""
    for temporary, _ in staged.files:
        temporary.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(target: Path, data: bytes, staging: Path | None = None) -> None:
    """Write ``target`` so that it is never seen half-written: temporary file, fsync, rename.

    The data is on disk before the name appears, so a crash never leaves a truncated ACRF
    (an empty file, the ``GO.ACRF``, has none: it is not fsynced).
    """
    temporary = _write_temporary(target, data, staging)
    try:
        if data:
            _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_temporary(target: Path, data: bytes, staging: Path | None) -> Path:
    """Write ``data`` in a temporary file for ``target``; return its path.

    The temporary file goes in ``staging`` (a folder the partner cannot see) when it is on the
    same file system as ``target``, else next to ``target`` under a dot name. Its name
    carries this host and process (``….<host>.<pid>.tmp``): :func:`clean_temporaries`
    removes those a killed process left.
    """
    folder = target.parent
    temporary = folder / f".{target.name}.{_TAG}{TEMPORARY_SUFFIX}"
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
        if staging.stat().st_dev == folder.stat().st_dev:
            temporary = staging / f"{target.name}.{_TAG}{TEMPORARY_SUFFIX}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def clean_temporaries(folder: Path, *, dot_only: bool = False) -> int:
    """Remove the temporary files of ACRF writes that will never finish: made by a process
    of this host that has ended (a ``kill -9``), or older than ``STALE_AFTER``. In a
    partner's OUT folder (``dot_only``) only dot names are looked at. Returns how many."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    removed = 0
    host = socket.gethostname()
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.endswith(TEMPORARY_SUFFIX) or (dot_only and not name.startswith(".")):
            continue
        stem = name[: -len(TEMPORARY_SUFFIX)]
        writer_host, _, pid = stem.rpartition(".")
        try:
            stale = now - entry.stat().st_mtime > STALE_AFTER
            if stale or (
                writer_host.endswith(f".{host}") and pid.isdigit() and not _alive(int(pid))
            ):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
