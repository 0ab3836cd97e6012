"""The batch intake: GO and TD files seen on the SFTP server are processed off its threads.

The SFTP server calls :meth:`Intake.on_upload` from a session thread once an upload into
``IN``, ``INTEST`` or ``INTEST-S`` is complete under its final name. GO (close a set) and TD
(cancel it) files are queued for one worker thread; FI and FS files wait for their GO.

A GO file's set is checked (:mod:`sync.intake.checks`), recorded with a ticket
(:mod:`store.batches`), moved out of the partner's home, and answered with an ACRF in the
matching OUT folder. Where the files go, outside every home::

    <spool_root>/accepted/<sender number>/<ticket>/   accepted sets, kept for processing
    <spool_root>/rejected/<sender number>/<ticket>/   rejected sets, kept for support
    <spool_root>/tmp/                                 acknowledgements being written

``spool_root`` defaults to ``<homes_root>/../intake``. Nothing is deleted there: retention is
an operator's decision. A TD file deletes the FI/FS files of its set still in the folder,
and itself, and records the set as cancelled; no acknowledgement is written for it (the
portal sends none), and a TD that finds nothing to cancel is recorded all the same, so the
partner's list shows it. Files whose names belong to no GO stay where they are.

The work for one set is ordered so that a crash at any point is finished later: the set is
recorded (decided, ticket allocated) first, then its FI/FS files are moved, the ACRF
written, the GO moved last and the row marked processed. A GO still in the folder whose set
is recorded but not processed is finished with the recorded decision when it is seen again
(:meth:`Intake.scan` at start-up).
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import stat
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509

from store.accounts import Account, channel_certificate, channel_file_codes
from store.batches import (
    RESULT_ACCEPTED,
    BatchError,
    BatchFile,
    BatchSetInfo,
    NewBatchSet,
    mark_processed,
    name_state,
    record_acknowledged,
    record_cancelled,
    unfinished_sets,
)
from store.batchnames import (
    CANCEL,
    ENV_OF_FOLDER,
    GO,
    IN_FOLDERS,
    OUT_FOLDER_OF,
    BatchName,
    split_name,
)
from store.clock import Now, local_now
from store.db import db
from sync.intake.acrf import Acknowledgement, acrf_xml, write_atomically
from sync.intake.checks import (
    DATA_FILES_INCONSISTENT,
    NAME_USED,
    check_go_name,
    check_members,
    check_signature,
)

log = logging.getLogger("expedito.intake")
CHANNEL_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class IntakeResult:
    """What became of a set closed by a GO file."""

    batch: BatchSetInfo
    ack_path: Path
    destination: Path

    @property
    def accepted(self) -> bool:
        return self.batch.result == RESULT_ACCEPTED

    @property
    def error_codes(self) -> tuple[str, ...]:
        return self.batch.error_codes


@dataclass(frozen=True)
class _Member:
    name: BatchName
    path: Path
    size: int


_Task = tuple[Account, Path]


class Intake:
    """Checks and acknowledges the sets closed in the SFTP homes under ``homes_root``.

    ``on_upload`` is the SFTP server's hook; ``start``/``stop`` run the worker thread;
    ``process_go`` and ``process_td`` do the work synchronously (the worker, tests, bench).
    """

    def __init__(self, homes_root: Path, spool_root: Path | None = None, *,
                 now: Now = local_now) -> None:
        self.homes_root = Path(homes_root)
        self.spool_root = Path(spool_root) if spool_root else self.homes_root.parent / "intake"
        self.accepted_root = self.spool_root / "accepted"
        self.rejected_root = self.spool_root / "rejected"
        self.staging = self.spool_root / "tmp"
        self.failures: list[tuple[Path, BaseException]] = []
        self._now = now
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._channels: dict[int, tuple[float, frozenset[str], x509.Certificate | None]] = {}

    # -- the SFTP server's side ------------------------------------------------------------

    def on_upload(self, account: Account, path: Path) -> None:
        """Queue a GO or TD file for the worker; return at once. Other files wait."""
        path = Path(path)
        if path.parent.name not in IN_FOLDERS or path.name.split(".", 1)[0] not in (GO, CANCEL):
            return
        with self._idle:
            self._pending += 1
        self._queue.put((account, path))

    def scan(self, account: Account) -> int:
        """Queue the GO and TD files already in the account's IN folders (oldest first), then
        the sets a crash left recorded but unfinished whose GO is no longer there (moved out
        just before the crash, or deleted by the partner); returns how many were queued.

        For start-up: sets closed while no intake ran, or left half-done by a crash.
        """
        home = self.homes_root / account.technical_user
        found: list[tuple[float, Path]] = []
        for folder in IN_FOLDERS:
            try:
                entries = list(os.scandir(home / folder))
            except FileNotFoundError:
                continue
            found += [(entry.stat().st_mtime, Path(entry.path)) for entry in entries
                      if entry.name.split(".", 1)[0] in (GO, CANCEL) and entry.is_file()]
        paths = [path for _, path in sorted(found)]
        queued = set(paths)
        paths += [path for batch in unfinished_sets(account.sender_id)
                  if (path := home / batch.folder / batch.go_name) not in queued]
        for path in paths:
            self.on_upload(account, path)  # process_go finishes a recorded set, GO or not
        return len(paths)

    # -- the worker ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="expedito-intake", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop the worker."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued file is processed; False when ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def __enter__(self) -> Intake:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while (task := self._queue.get()) is not None:
                account, path = task
                try:
                    if path.name.startswith(f"{CANCEL}."):
                        self.process_td(account, path)
                    else:
                        self.process_go(account, path)
                except Exception as exc:
                    log.exception("intake: %s could not be processed", path)
                    self.failures.append((path, exc))
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()
        finally:
            if db.obj is not None and not db.is_closed():
                db.close()  # this thread's connection

    # -- the work --------------------------------------------------------------------------

    def process_go(self, account: Account, go_path: Path) -> IntakeResult | None:
        """Check, record, move and acknowledge the set closed by ``go_path``.

        None when there is nothing to do: the GO is gone (cancelled, already processed) or
        is not in one of the account's IN folders.
        """
        go_path = Path(go_path)
        if not self._belongs(account, go_path):
            return None
        folder = go_path.parent.name
        go = split_name(go_path.name)
        history = name_state(account.sender_id, account.sender_number, folder, go.text,
                             go.date, go.sequence, go.env)
        if history.unfinished is not None:
            unfinished = history.unfinished
            if not (self._destination(account, unfinished) / go.text).exists():
                return self._finish(account, go_path, unfinished)
            # That set was finished but for its mark when the process died (its GO moved
            # out, its ACRF written); this GO is a new upload of the same name: close the
            # old one, then check this one as any other (its name is used: rejected).
            mark_processed(unfinished.id, self._now())
            history = name_state(account.sender_id, account.sender_number, folder, go.text,
                                 go.date, go.sequence, go.env)
        now = self._now()
        try:
            go_size = go_path.stat().st_size
        except FileNotFoundError:
            return None
        members = self._members(go_path.parent, go)
        file_codes, registered = self._channel(account.channel_id)
        errors = check_go_name(go, folder, account.sender_number, now.date(), file_codes)
        if not errors and history.used:
            errors = [BatchError(NAME_USED, go.text)]
        checked = not errors
        if checked:
            member_errors, pairs = check_members(go, [m.name for m in members])
            errors += member_errors
            for pair in pairs:
                try:
                    signature = (go_path.parent / pair.signature.text).read_bytes()
                    data = (go_path.parent / pair.data.text).read_bytes()
                except FileNotFoundError:  # deleted by the partner meanwhile
                    errors.append(BatchError(DATA_FILES_INCONSISTENT, pair.data.text))
                    continue
                code = check_signature(signature, data, registered)
                if code is not None:
                    errors.append(BatchError(code, pair.data.text))
        files = (*(BatchFile(m.name.text, m.size) for m in members), BatchFile(go.text, go_size))
        new = NewBatchSet(account.sender_id, account.channel_id, go.text, folder, go.env,
                          go.purpose, go.date, go.sequence, files, now)
        batch = record_acknowledged(new, errors, ENV_OF_FOLDER[folder], now.date(),
                                    account.sender_number, NAME_USED if checked else None)
        return self._finish(account, go_path, batch)

    def process_td(self, account: Account, td_path: Path) -> BatchSetInfo | None:
        """Cancel the set ``td_path`` names: delete its files still in the folder, record it."""
        td_path = Path(td_path)
        if not self._belongs(account, td_path):
            return None
        td = split_name(td_path.name)
        try:
            td_size = td_path.stat().st_size
        except FileNotFoundError:
            return None
        members = self._members(td_path.parent, td)
        for member in members:
            member.path.unlink(missing_ok=True)
        td_path.unlink(missing_ok=True)
        files = (*(BatchFile(m.name.text, m.size) for m in members), BatchFile(td.text, td_size))
        now = self._now()
        batch = record_cancelled(NewBatchSet(
            account.sender_id, account.channel_id, td.text, td_path.parent.name, td.env,
            td.purpose, td.date, td.sequence, files, now), now)
        log.info("intake: %s cancelled %d file(s)", td.text, len(members))
        return batch

    def _belongs(self, account: Account, path: Path) -> bool:
        home = (self.homes_root / account.technical_user).resolve()
        if path.parent.name in IN_FOLDERS and path.parent.resolve().parent == home:
            return True
        log.warning("intake: %s is not in an IN folder of %s", path, account.technical_user)
        return False

    def _members(self, folder: Path, closing: BatchName) -> list[_Member]:
        """The files of the set ``closing`` (a GO or TD) names: same PURPOSE.SENDER.DATE.SEQ.ENV
        in the same folder, of any type but GO and TD."""
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        if all(closing.key):  # a folder may hold thousands of files: a cheap test first
            stem = "." + ".".join(closing.key)
            names = [text for text in names if stem in text]
        members: list[_Member] = []
        for text in names:
            name = split_name(text)
            if text == closing.text or name.kind in (GO, CANCEL) or name.key != closing.key:
                continue
            path = folder / text
            try:
                status = path.stat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(status.st_mode):
                members.append(_Member(name, path, status.st_size))
        return sorted(members, key=lambda m: m.name.text)

    def _channel(self, channel_id: int) -> tuple[frozenset[str], x509.Certificate | None]:
        """The channel's file-name codes and registered certificate, kept a few seconds.

        A channel's data changes at most at a synchronisation; a few seconds of cache spare
        two queries per set when many sets arrive together.
        """
        moment = time.monotonic()
        cached = self._channels.get(channel_id)
        if cached is not None and moment - cached[0] < CHANNEL_CACHE_SECONDS:
            return cached[1], cached[2]
        der = channel_certificate(channel_id)
        certificate = x509.load_der_x509_certificate(der) if der else None
        codes = channel_file_codes(channel_id)
        self._channels[channel_id] = (moment, codes, certificate)
        return codes, certificate

    def _destination(self, account: Account, batch: BatchSetInfo) -> Path:
        """Where a recorded set's files go: ``accepted`` or ``rejected``, sender, ticket."""
        area = self.accepted_root if batch.result == RESULT_ACCEPTED else self.rejected_root
        return area / f"{account.sender_number:06d}" / str(batch.ticket)

    def _finish(self, account: Account, go_path: Path, batch: BatchSetInfo) -> IntakeResult:
        """Move the set out of the home, write its ACRF, mark it processed (in that order)."""
        assert batch.ticket is not None and batch.ack_name is not None
        destination = self._destination(account, batch)
        destination.mkdir(parents=True, exist_ok=True)
        folder = go_path.parent
        for file in batch.files:
            if file.name != go_path.name:
                _move(folder / file.name, destination / file.name)
        out = folder.parent / OUT_FOLDER_OF[folder.name]
        out.mkdir(exist_ok=True)
        ack_path = out / batch.ack_name
        ack = Acknowledgement(batch.go_name, batch.ticket, RESULT_ACCEPTED
                              if batch.result == RESULT_ACCEPTED else 0, batch.error_codes)
        write_atomically(ack_path, acrf_xml(ack), self.staging)
        _move(go_path, destination / go_path.name)
        done = self._now()
        mark_processed(batch.id, done)
        batch = replace(batch, processed_at=done)
        log.info("intake: %s %s, ticket %s, %s", batch.go_name,
                 "accepted" if ack.accepted else f"rejected {list(ack.errors)}", batch.ticket,
                 batch.ack_name)
        return IntakeResult(batch, ack_path, destination)


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return
    except OSError:  # another file system
        shutil.move(source, target)
