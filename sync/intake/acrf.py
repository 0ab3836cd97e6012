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
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

FORM_ID = "ACRF001"


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


def write_atomically(target: Path, data: bytes, staging: Path | None = None) -> None:
    """Write ``target`` so that it is never seen half-written: temporary file, fsync, rename.

    The data is on disk before the name appears, so a crash never leaves a truncated ACRF.
    The folder itself is not fsynced (nor are the moves of the set's files): like the database
    (WAL, synchronous=normal), a power cut may forget the last second of work, and the intake
    then treats the GO again.

    The temporary file goes in ``staging`` (a folder the partner cannot see) when it is on the
    same file system as ``target``, else next to ``target`` under a dot name.
    """
    folder = target.parent
    temporary = folder / f".{target.name}.tmp"
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
        if staging.stat().st_dev == folder.stat().st_dev:
            temporary = staging / f"{target.name}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
