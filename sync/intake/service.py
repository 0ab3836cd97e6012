"""The batch intake: GO and TD files seen on the SFTP server are processed off its threads.

The SFTP server calls :meth:`Intake.on_upload` from a session thread once an upload into
``IN``, ``INTEST`` or ``INTEST-S`` is complete under its final name. GO (close a set) and TD
(cancel it) files are queued for the worker threads; FI and FS files wait for their GO.

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

GOs that wait together (a burst of uploads) are worked through in batches of up to
``batch`` (:meth:`Intake.process_gos`): their sets are claimed in one transaction, recorded in
one, and marked processed in one, and their ACRFs are synced to disk together; a lone GO is
a batch of one, answered at once. The work is ordered so that a crash at any point is
finished later: the sets are recorded (decided, tickets allocated) first, then their FI/FS
files are moved, the ACRFs written under temporary names and synced, given their names, the
GOs moved, the folders synced, and last the rows marked processed: a set marked processed
has its ACRF on disk and its GO gone. A GO still in the folder whose set is recorded but not
processed is finished with the recorded decision when it is seen again (:meth:`Intake.scan`
at start-up, and every ``rescan`` seconds).

Exactly once, whoever else runs: before it reads a file of a set the intake claims the set
in the database (:mod:`store.claims`: owner and lease; the GO's home, folder and name are
the key), and it records its decision only while the claim is still its own. Any number of
intakes on one database — several ``expedito serve`` here or on other machines sharing the
homes — answer each GO once and move its files once; a claim whose owner died (``kill -9``)
is taken over at once on the same machine, after the lease elsewhere.

Never stranded: every failure while checking a set is an answer (a parse failure of an FS
is ``ACRF-125``; anything unexpected ``ACRF-999``), and a temporary one (database locked
beyond its busy timeout, a full disk, a folder not writable for a while) is retried by the
worker with a growing delay (:mod:`sync.intake.retry`), one log line per attempt; the GO
stays in the folder until it is answered. Each failed attempt is also written in the
database (:mod:`store.retries`: attempts, last error, next try) for the operators'
*Réception*, and forgotten when the set is answered. The worker also rescans every home each
``rescan`` seconds, for GOs another intake left (it died) or that arrived while this one
could not take them, and clears the temporary files of ACRF writes a killed process left.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509

from store import claims, retries
from store.accounts import Account, channel_certificate, channel_file_codes, provisioned_accounts
from store.batches import (
    RESULT_ACCEPTED,
    BatchError,
    BatchFile,
    BatchSetInfo,
    Decision,
    NameState,
    NewBatchSet,
    mark_processed,
    mark_processed_many,
    name_state,
    record_acknowledged_many,
    record_cancelled,
    unfinished_sets,
)
from store.batchnames import (
    CANCEL,
    ENV_OF_FOLDER,
    IN_FOLDERS,
    OUT_FOLDER_OF,
    OUT_FOLDERS,
    BatchName,
    closing_kind,
    is_temporary_name,
    split_name,
)
from store.clock import Now, local_now
from store.db import db
from sync.intake.acrf import (
    Acknowledgement,
    AckSigner,
    StagedAcrf,
    clean_temporaries,
    discard,
    publish,
    stage_acrf,
    sync_files,
)
from sync.intake.checks import (
    DATA_FILES_INCONSISTENT,
    INTERNAL_ERROR,
    NAME_USED,
    check_go_name,
    check_members,
    check_signature,
)
from sync.intake.retry import backoff, is_temporary

log = logging.getLogger("expedito.intake")
CHANNEL_CACHE_SECONDS = 5.0
RESCAN_SECONDS = 60.0
LISTING_KEPT_SECONDS = 10.0
THREADS = 4  # worker threads: while one waits (fsync, the database, the GIL) others work
BATCH = 64  # GOs taken together from a backlog (one claim, record and mark transaction)
SYNC_THREADS = 8  # the fsyncs of a batch, issued together


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


@dataclass
class _Retry:
    account: Account
    attempts: int
    due: float  # time.monotonic(); math.inf once queued again


_Task = tuple[Account, Path]
Outcome = IntakeResult | Exception | None  # of one GO of a batch: process_gos


@dataclass
class _Set:
    """A GO of a batch whose set this intake claimed, as it goes through the steps."""

    index: int  # in the batch
    account: Account
    path: Path
    go: BatchName
    held: claims.Claim
    batch: BatchSetInfo | None = None  # recorded
    destination: Path = Path()  # where its files go (set once recorded)
    staged: StagedAcrf | None = None

    @property
    def recorded(self) -> BatchSetInfo:
        assert self.batch is not None
        return self.batch

    @property
    def ack(self) -> StagedAcrf:
        assert self.staged is not None
        return self.staged


class Intake:
    """Checks and acknowledges the sets closed in the SFTP homes under ``homes_root``.

    ``on_upload`` is the SFTP server's hook; ``start``/``stop`` run the worker threads
    (``threads`` of them: each GO or TD is queued once, so one thread has it at a time, and
    the claims keep other intakes off it);
    ``process_go`` and ``process_td`` do the work synchronously (the worker, tests, bench).
    ``accounts`` lists the homes the periodic rescan looks in (default: every provisioned
    account); ``rescan`` is its period in seconds (None: no periodic rescan), ``lease`` the
    claims' lease in seconds. ``settle``: a scan leaves a GO or TD whose set (same folder,
    same PURPOSE.SENDER.DATE.SEQ.ENV) had a file changed less than ``settle`` seconds ago for
    the next scan — where uploads appear under their final name while still being written
    (OpenSSH's internal-sftp), so a file being written is never taken; 0 with the embedded
    server, whose files appear whole. ``batch``: at most this many queued GOs are taken
    together (:meth:`process_gos`).
    """

    def __init__(
        self,
        homes_root: Path,
        spool_root: Path | None = None,
        *,
        now: Now = local_now,
        rescan: float | None = RESCAN_SECONDS,
        lease: float = claims.LEASE_SECONDS,
        accounts: Callable[[], Iterable[Account]] = provisioned_accounts,
        signer: AckSigner | None = None,
        settle: float = 0.0,
        threads: int = THREADS,
        batch: int = BATCH,
    ) -> None:
        self.homes_root = Path(homes_root)
        self.spool_root = Path(spool_root) if spool_root else self.homes_root.parent / "intake"
        self.accepted_root = self.spool_root / "accepted"
        self.rejected_root = self.spool_root / "rejected"
        self.staging = self.spool_root / "tmp"
        self.failures: list[tuple[Path, BaseException]] = []
        self.owner = claims.new_owner()
        self.rescan = rescan
        self.settle = settle
        self.lease = lease
        self._accounts = accounts
        self._now = now
        self.signer = signer  # signs each ACRF (FS.ACRF + GO.ACRF); None: the FO alone
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._known: dict[Path, float] = {}  # queued or waiting for a retry: since when
        # each IN folder's last listing: when it began, its names by set key (_members)
        self._listings: dict[Path, tuple[float, dict[tuple[str, ...], list[str]]]] = {}
        self._retries: dict[Path, _Retry] = {}
        self._idle = threading.Condition()
        self.threads = max(1, threads)
        self.batch = max(1, batch)
        self._pool: ThreadPoolExecutor | None = None
        self._workers: list[threading.Thread] = []
        self._due_lock = threading.Lock()  # one thread at a time requeues retries, rescans
        self._next_scan = 0.0
        self._channels: dict[int, tuple[float, frozenset[str], x509.Certificate | None]] = {}

    # -- the SFTP server's side ------------------------------------------------------------

    def on_upload(self, account: Account, path: Path) -> None:
        """Queue a GO or TD file for the worker; return at once. Other files wait."""
        path = Path(path)
        if path.parent.name not in IN_FOLDERS or closing_kind(path.name) is None:
            return
        with self._idle:
            if path in self._known:
                return
            self._known[path] = time.monotonic()
        self._queue.put((account, path))

    def scan(self, account: Account) -> int:
        """Queue the GO and TD files already in the account's IN folders (oldest first), then
        the sets a crash left recorded but unfinished whose GO is no longer there (moved out
        just before the crash, or deleted by the partner); returns how many were found.

        For start-up and the periodic rescan: sets closed while no intake ran, left
        half-done by a crash, or left by another intake that died.
        """
        home = self.homes_root / account.technical_user
        found: list[tuple[float, Path]] = []
        for folder in IN_FOLDERS:
            try:
                entries = list(os.scandir(home / folder))
            except FileNotFoundError:
                continue
            unsettled = self._unsettled(entries) if self.settle > 0 else set()
            for entry in entries:
                if closing_kind(entry.name) is None:
                    continue
                if split_name(entry.name).key in unsettled:
                    continue
                try:
                    if entry.is_file():
                        found.append((entry.stat().st_mtime, Path(entry.path)))
                except FileNotFoundError:
                    continue
        paths = [path for _, path in sorted(found)]
        queued = set(paths)
        paths += [
            path
            for batch in unfinished_sets(account.sender_id)
            if (path := home / batch.folder / batch.go_name) not in queued
        ]
        for path in paths:
            self.on_upload(account, path)  # process_go finishes a recorded set, GO or not
        return len(paths)

    def _unsettled(self, entries: list[os.DirEntry[str]]) -> set[tuple[str, ...]]:
        """The set keys of ``entries`` with a file changed within ``settle`` seconds."""
        recent = time.time() - self.settle
        keys: set[tuple[str, ...]] = set()
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_mtime > recent:
                    keys.add(split_name(entry.name).key)
            except FileNotFoundError:
                continue
        return keys

    def scan_all(self) -> int:
        """Scan every home ``accounts`` lists, and clear the temporaries of ACRF writes a
        killed process left; returns how many GO/TD files were found."""
        clean_temporaries(self.staging)
        found = 0
        for account in self._accounts():
            found += self.scan(account)
            home = self.homes_root / account.technical_user
            for folder in OUT_FOLDERS:
                clean_temporaries(home / folder, dot_only=True)
        return found

    # -- the worker ----------------------------------------------------------------------

    def start(self) -> None:
        if self._workers:
            return
        self._next_scan = time.monotonic() + (self.rescan or 0.0)
        self._workers = [
            threading.Thread(target=self._run, name=f"expedito-intake-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for thread in self._workers:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop the workers (sets waiting for a retry stay:
        their GO is still in the folder for the next start)."""
        workers, self._workers = self._workers, []
        for _ in workers:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._idle:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    @property
    def queue_length(self) -> int:
        """GO and TD files queued or waiting for a retry (for the metrics)."""
        with self._idle:
            return len(self._known)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued file is answered (retries included); False when
        ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._known, timeout)

    @property
    def retrying(self) -> int:
        """How many GO/TD files wait for another attempt."""
        with self._idle:
            return len(self._retries)

    def __enter__(self) -> Intake:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while True:
                try:
                    task = self._queue.get(timeout=self._until_due())
                except queue.Empty:
                    self._due_work()
                    continue
                if task is None:
                    break
                tasks, stopping = self._more([task])
                self._attempt_many(tasks)
                if stopping:
                    break
        finally:
            if db.obj is not None and not db.is_closed():
                db.close()  # this thread's connection

    def _more(self, tasks: list[_Task]) -> tuple[list[_Task], bool]:
        """``tasks`` and what else is queued already, up to ``batch`` in all (a backlog is
        worked through in batches; a lone GO alone, at once); True when the stop signal
        was among them (this thread's: it stops after this batch)."""
        while len(tasks) < self.batch:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is None:
                return tasks, True
            tasks.append(task)
        return tasks, False

    def _until_due(self) -> float | None:
        """Seconds until the next retry or rescan (None: nothing is due, ever)."""
        with self._idle:
            dues = [retry.due for retry in self._retries.values() if retry.due < math.inf]
        if self.rescan is not None:
            dues.append(self._next_scan)
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def _due_work(self) -> None:
        """Queue the retries that are due (marked queued: no other thread takes them again
        meanwhile), and rescan the homes when it is time; one thread at a time."""
        if not self._due_lock.acquire(blocking=False):
            return
        try:
            self._requeue_and_rescan()
        finally:
            self._due_lock.release()

    def _requeue_and_rescan(self) -> None:
        moment = time.monotonic()
        with self._idle:
            due = [
                (path, retry.account)
                for path, retry in self._retries.items()
                if retry.due <= moment
            ]
            for path, _ in due:
                self._retries[path].due = math.inf
        for path, account in due:
            self._queue.put((account, path))
        if self.rescan is not None and moment >= self._next_scan:
            self._next_scan = moment + self.rescan
            try:
                self.scan_all()
            except Exception as exc:
                log.warning(
                    "intake: rescan of the homes failed (%s); next in %.0f s",
                    _describe(exc),
                    self.rescan,
                )

    def _attempt_many(self, tasks: list[_Task]) -> None:
        """Process the GO and TD files ``tasks`` names, in their order: each run of GOs as one
        batch (:meth:`process_gos`), each TD alone; a temporary failure is retried later,
        anything else is logged and recorded in ``failures``."""
        outcomes: list[Exception | None] = [None] * len(tasks)
        run: list[int] = []

        def flush() -> None:
            try:
                results: Sequence[Outcome] = self.process_gos([tasks[i] for i in run])
            except Exception as exc:
                results = [exc] * len(run)
            for i, result in zip(run, results, strict=True):
                outcomes[i] = result if isinstance(result, Exception) else None
            run.clear()

        for index, (account, path) in enumerate(tasks):
            if closing_kind(path.name) != CANCEL:
                run.append(index)
                continue
            if run:
                flush()
            try:
                self.process_td(account, path)
            except Exception as exc:
                outcomes[index] = exc
        if run:
            flush()
        for (account, path), outcome in zip(tasks, outcomes, strict=True):
            self._settle(account, path, outcome)

    def _settle(self, account: Account, path: Path, exc: Exception | None) -> None:
        """After an attempt at one GO or TD file: ``exc`` (its failure) schedules a retry;
        None forgets the file (answered, cancelled, gone or taken over)."""
        retry: _Retry | None = None
        retried: _Retry | None = None
        if exc is not None:
            with self._idle:
                previous = self._retries.get(path)
            attempts = previous.attempts + 1 if previous else 1
            delay = backoff(attempts)
            attempts = self._record_failure(account, path, attempts, exc, delay)
            retry = _Retry(account, attempts, time.monotonic() + delay)
            if is_temporary(exc):
                log.warning(
                    "intake: %s not answered yet (%s); attempt %d in %.0f s",
                    path.name,
                    _describe(exc),
                    attempts + 1,
                    delay,
                )
            else:
                log.error(
                    "intake: %s could not be processed; attempt %d in %.0f s",
                    path.name,
                    attempts + 1,
                    delay,
                    exc_info=exc,
                )
                self.failures.append((path, exc))
        with self._idle:
            if retry is not None:
                self._retries[path] = retry
            else:
                retried = self._retries.pop(path, None)
                self._known.pop(path, None)
            self._idle.notify_all()
        if retry is None and retried is not None:  # answered, cancelled, gone or taken over
            self._forget_failures(account, path)

    def _record_failure(
        self, account: Account, path: Path, attempts: int, exc: BaseException, delay: float
    ) -> int:
        """Write the failed attempt for the operators (``store.retries``); the attempts
        counted for the set (an earlier intake's too). A database that cannot take it costs
        a log line: the next failure writes it."""
        try:
            return retries.record_failure(
                _claim_key(account, path, split_name(path.name)),
                account.technical_user,
                account.sender_number,
                path.parent.name,
                path.name,
                attempts,
                is_temporary(exc),
                _describe(exc),
                delay,
                self.owner,
            )
        except Exception as error:
            log.warning("intake: failure of %s not recorded (%s)", path.name, _describe(error))
            return attempts

    def _forget_failures(self, account: Account, path: Path) -> None:
        try:
            retries.clear(_claim_key(account, path, split_name(path.name)))
        except Exception as error:
            log.warning("intake: retries of %s not cleared (%s)", path.name, _describe(error))

    # -- the work --------------------------------------------------------------------------

    def process_go(self, account: Account, go_path: Path) -> IntakeResult | None:
        """Check, record, move and acknowledge the set closed by ``go_path``.

        None when there is nothing to do: the GO is gone (cancelled, already processed), is
        not in one of the account's IN folders, or another intake holds the set's claim.
        """
        (outcome,) = self.process_gos([(account, Path(go_path))])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def process_gos(self, tasks: Sequence[_Task]) -> list[Outcome]:
        """:meth:`process_go` for many GOs at once, as one batch: their sets claimed in one
        transaction, checked one by one, recorded in one transaction, their files moved and
        their ACRFs written, synced to disk together, and marked processed in one
        transaction. The outcome of each, in order: its result, None (nothing to do), or
        the exception that kept it from being answered (its claim given up: retry it).

        What the sets of one batch share is their transactions and their syncs: a failure
        of one of those (the database locked too long, a full disk) fails each of them; a
        set's own failure fails it alone.
        """
        outcomes: list[Outcome] = [None] * len(tasks)
        sets = self._claim_sets(tasks, outcomes)
        try:
            finishing = self._decide_and_record(sets, outcomes)
            self._finish(finishing, outcomes)
        except BaseException:
            _release_all([s.held for s in sets if not isinstance(outcomes[s.index], IntakeResult)])
            raise
        return outcomes

    def _claim_sets(self, tasks: Sequence[_Task], outcomes: list[Outcome]) -> list[_Set]:
        """The GOs of ``tasks`` whose sets this intake now holds the claims of."""
        wanted = []
        for index, (account, path) in enumerate(tasks):
            path = Path(path)
            if self._belongs(account, path):
                go = split_name(path.name)
                wanted.append((index, account, path, go, _claim_key(account, path, go)))
        if not wanted:
            return []
        try:
            taken = claims.claim_many([key for *_, key in wanted], self.owner, self.lease)
        except Exception as exc:
            for index, *_ in wanted:
                outcomes[index] = exc
            return []
        sets = []
        for index, account, path, go, key in wanted:
            if key in taken:
                sets.append(_Set(index, account, path, go, (key, self.owner)))
            else:
                log.info("intake: %s is being processed by another intake", go.text)
        return sets

    def _decide_and_record(self, sets: list[_Set], outcomes: list[Outcome]) -> list[_Set]:
        """Check each set and record the decisions in one transaction; the sets to finish
        (recorded now, or by an earlier attempt that did not finish)."""
        finishing: list[_Set] = []
        deciding: list[tuple[_Set, Decision]] = []
        for one in sets:
            try:
                step = self._decide(one)
            except Exception as exc:
                self._fail(one, exc, outcomes)
                continue
            if step is None:
                _release(one.held)
            elif isinstance(step, Decision):
                deciding.append((one, step))
            else:
                one.batch = step
                finishing.append(one)
        if not deciding:
            return finishing
        try:
            recorded = record_acknowledged_many([decision for _, decision in deciding])
        except Exception as exc:
            if len(deciding) == 1 or is_temporary(exc):
                self._fail_all([one for one, _ in deciding], exc, outcomes)
                return finishing
            # Something about one of the sets: each recorded on its own, so that it fails alone
            recorded = [self._record_alone(one, decision, outcomes) for one, decision in deciding]
        for (one, _), batch in zip(deciding, recorded, strict=True):
            if batch is None:  # failed, or taken over by another intake
                if outcomes[one.index] is None:
                    log.warning("intake: %s was taken over by another intake", one.go.text)
                continue
            one.batch = batch
            finishing.append(one)
        return finishing

    def _record_alone(
        self, one: _Set, decision: Decision, outcomes: list[Outcome]
    ) -> BatchSetInfo | None:
        """Record one set in a transaction of its own; None when it failed (its outcome) or
        its claim was taken over."""
        try:
            (batch,) = record_acknowledged_many([decision])
        except Exception as exc:
            self._fail(one, exc, outcomes)
            return None
        return batch

    def _decide(self, one: _Set) -> Decision | BatchSetInfo | None:
        """What to do with a claimed set: record the decision of its check, finish what an
        earlier attempt recorded (that set's row), or nothing (the GO is gone)."""
        account, go_path, go = one.account, one.path, one.go
        folder = go_path.parent.name
        history = self._history(account, folder, go)
        if history.unfinished is not None:
            unfinished = history.unfinished
            if not (self._destination(account, unfinished) / go.text).exists():
                return unfinished
            # That set was finished but for its mark when the process died (its GO moved
            # out, its ACRF written); this GO is a new upload of the same name: close the
            # old one, then check this one as any other (its name is used: rejected).
            mark_processed(unfinished.id, self._now())
            history = self._history(account, folder, go)
        now = self._now()
        try:
            go_size = go_path.stat().st_size
        except FileNotFoundError:
            return None
        members = self._members(go_path.parent, go)
        try:
            errors, checked = self._check(account, go_path, go, members, history)
        except Exception as exc:
            if is_temporary(exc):
                raise
            log.exception(
                "intake: %s: internal error while checking the set; answered with %s",
                go.text,
                INTERNAL_ERROR,
            )
            errors, checked = [BatchError(INTERNAL_ERROR, go.text)], False
        files = (*(BatchFile(m.name.text, m.size) for m in members), BatchFile(go.text, go_size))
        new = NewBatchSet(
            account.sender_id,
            account.channel_id,
            go.text,
            folder,
            go.env,
            go.purpose,
            go.date,
            go.sequence,
            files,
            now,
        )
        return Decision(
            new,
            errors,
            ENV_OF_FOLDER[folder],
            now.date(),
            account.sender_number,
            NAME_USED if checked else None,
            one.held,
        )

    def _fail(self, one: _Set, exc: Exception, outcomes: list[Outcome]) -> None:
        outcomes[one.index] = exc
        _release(one.held)

    def _fail_all(self, sets: list[_Set], exc: Exception, outcomes: list[Outcome]) -> None:
        for one in sets:
            outcomes[one.index] = exc
        _release_all([one.held for one in sets])

    def _history(self, account: Account, folder: str, go: BatchName) -> NameState:
        return name_state(
            account.sender_id, account.sender_number, folder, go.text, go.date, go.sequence, go.env
        )

    def _check(
        self,
        account: Account,
        go_path: Path,
        go: BatchName,
        members: list[_Member],
        history: NameState,
    ) -> tuple[list[BatchError], bool]:
        """The set's problems, and whether it was checked beyond its GO's name (then its
        name's reuse is checked again when it is recorded)."""
        folder = go_path.parent
        file_codes, registered = self._channel(account.channel_id)
        errors = check_go_name(
            go, folder.name, account.sender_number, self._now().date(), file_codes
        )
        if not errors and history.used:
            errors = [BatchError(NAME_USED, go.text)]
        if errors:
            return errors, False
        member_errors, pairs = check_members(go, [m.name for m in members])
        errors += member_errors
        for pair in pairs:
            try:
                code = check_signature(
                    folder / pair.signature.text, folder / pair.data.text, registered
                )
            except FileNotFoundError:  # deleted by the partner meanwhile
                code = DATA_FILES_INCONSISTENT
            if code is not None:
                errors.append(BatchError(code, pair.data.text))
        return errors, True

    def process_td(self, account: Account, td_path: Path) -> BatchSetInfo | None:
        """Cancel the set ``td_path`` names: delete its files still in the folder, record it."""
        td_path = Path(td_path)
        if not self._belongs(account, td_path):
            return None
        td = split_name(td_path.name)
        held = self._claim(account, td_path, td)
        if held is None:
            return None
        try:
            try:
                td_size = td_path.stat().st_size
            except FileNotFoundError:
                _release(held)
                return None
            members = self._members(td_path.parent, td)
            for member in members:
                member.path.unlink(missing_ok=True)
            td_path.unlink(missing_ok=True)
            files = (
                *(BatchFile(m.name.text, m.size) for m in members),
                BatchFile(td.text, td_size),
            )
            now = self._now()
            batch = record_cancelled(
                NewBatchSet(
                    account.sender_id,
                    account.channel_id,
                    td.text,
                    td_path.parent.name,
                    td.env,
                    td.purpose,
                    td.date,
                    td.sequence,
                    files,
                    now,
                ),
                now,
                claim=held,
            )
        except claims.ClaimLost:
            log.warning("intake: %s was taken over by another intake", td.text)
            return None
        except BaseException:
            _release(held)
            raise
        log.info("intake: %s cancelled %d file(s)", td.text, len(members))
        return batch

    def _claim(self, account: Account, path: Path, name: BatchName) -> claims.Claim | None:
        """Claim the set ``name`` closes (or cancels) in this folder of the account's home;
        None when another intake holds it. GO and TD of one set share the claim."""
        key = _claim_key(account, path, name)
        if claims.claim(key, self.owner, self.lease):
            return key, self.owner
        log.info("intake: %s is being processed by another intake", name.text)
        return None

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
            names = self._listing(folder, closing)
        except FileNotFoundError:
            return []
        members: list[_Member] = []
        for text in names:
            if text == closing.text or closing_kind(text) is not None:
                continue
            name = split_name(text)
            if name.key != closing.key or is_temporary_name(text):
                continue
            path = folder / text
            try:
                status = path.stat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(status.st_mode):
                members.append(_Member(name, path, status.st_size))
        return sorted(members, key=lambda m: m.name.text)

    def _listing(self, folder: Path, closing: BatchName) -> list[str]:
        """The names in ``folder`` that may belong to the set ``closing`` names (same key
        fields; :meth:`_members` checks each).

        A folder may hold thousands of files while many GOs wait: one listing serves every
        GO queued before it began (their sets' files were there by then; a file gone since
        is skipped when :meth:`_members` looks at it), instead of one listing per GO.
        """
        with self._idle:
            since = self._known.get(folder / closing.text)
            cached = self._listings.get(folder)
        if since is None:  # not queued (a direct call): a listing of its own
            since = time.monotonic()
        if cached is None or cached[0] < since:
            began = time.monotonic()
            index: dict[tuple[str, ...], list[str]] = {}
            for text in os.listdir(folder):
                fields = text.split(".", 6)
                index.setdefault(tuple((fields + [""] * 6)[1:6]), []).append(text)
            cached = (began, index)
            with self._idle:
                for path, (taken, _) in list(self._listings.items()):
                    if began - taken > LISTING_KEPT_SECONDS:
                        del self._listings[path]
                latest = self._listings.get(folder)
                if latest is None or latest[0] < began:
                    self._listings[folder] = cached
        return cached[1].get(closing.key, [])

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

    def _finish(self, sets: list[_Set], outcomes: list[Outcome]) -> None:
        """Move the recorded sets out of the home, write their ACRFs, mark them processed.

        In this order, so that a crash anywhere leaves each set to be finished later with its
        recorded decision, and never a second answer: each set's FI/FS moved to its
        destination; the ACRFs written under temporary names and synced to disk together;
        each ACRF given its names, then its GO moved; the folders whose names changed synced;
        then the sets marked processed (their claims released) in one transaction. A set
        marked processed has its ACRF on disk and its GO gone from the folder.
        """
        staged: list[_Set] = []
        for one in sets:
            try:
                self._stage(one)
            except Exception as exc:
                self._fail(one, exc, outcomes)
                continue
            staged.append(one)
        if not staged:
            return
        try:
            sync_files([f for one in staged for f in one.ack.data_files], self._syncer())
        except Exception as exc:
            for one in staged:
                discard(one.ack)
            self._fail_all(staged, exc, outcomes)
            return
        published: list[_Set] = []
        for one in staged:
            try:
                publish(one.ack)
                _move(one.path, one.destination / one.path.name)
            except Exception as exc:
                discard(one.ack)
                self._fail(one, exc, outcomes)
                continue
            published.append(one)
        folders = {one.path.parent for one in published}
        folders |= {one.ack.target.parent for one in published}
        folders |= {one.destination.parent for one in published}
        try:
            sync_files(sorted(folders), self._syncer())
            done = self._now()
            mark_processed_many([(one.recorded.id, one.held) for one in published], done)
        except Exception as exc:
            self._fail_all(published, exc, outcomes)
            return
        for one in published:
            batch = replace(one.recorded, processed_at=done)
            outcomes[one.index] = IntakeResult(batch, one.ack.target, one.destination)
            log.info(
                "intake: %s %s, ticket %s, %s",
                batch.go_name,
                "accepted"
                if batch.result == RESULT_ACCEPTED
                else f"rejected {list(batch.error_codes)}",
                batch.ticket,
                batch.ack_name,
            )

    def _stage(self, one: _Set) -> None:
        """Move the set's FI/FS to its destination; write its ACRF under temporary names."""
        batch = one.recorded
        assert batch.ticket is not None and batch.ack_name is not None
        one.destination = self._destination(one.account, batch)
        one.destination.mkdir(parents=True, exist_ok=True)
        folder = one.path.parent
        for file in batch.files:
            if file.name != one.path.name:
                _move(folder / file.name, one.destination / file.name)
        out = folder.parent / OUT_FOLDER_OF[folder.name]
        out.mkdir(exist_ok=True)
        ack = Acknowledgement(
            batch.go_name,
            batch.ticket,
            RESULT_ACCEPTED if batch.result == RESULT_ACCEPTED else 0,
            batch.error_codes,
        )
        one.staged = stage_acrf(out / batch.ack_name, ack, self.signer, self.staging)

    def _syncer(self) -> Executor:
        """The threads that sync a batch's files together (made at first use)."""
        with self._idle:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="expedito-sync")
            return self._pool


def _claim_key(account: Account, path: Path, name: BatchName) -> str:
    """The set's key in the claims and the retries: GO and TD of one set share it."""
    return f"{account.technical_user}/{path.parent.name}/{name.text[len(name.kind) :]}"


def _release_all(held: list[claims.Claim]) -> None:
    """:func:`_release` each of ``held``, in one transaction."""
    try:
        claims.release_many(held)
    except Exception as exc:
        log.warning("intake: %d claim(s) kept (%s)", len(held), _describe(exc))


def _release(held: claims.Claim) -> None:
    """Give a claim up after a failure, if the database lets us (else its lease runs out,
    or this intake takes it again at its next attempt)."""
    try:
        claims.release(*held)
    except Exception as exc:
        log.warning("intake: claim on %s kept (%s)", held[0], _describe(exc))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return
    except OSError:  # another file system
        shutil.move(source, target)
