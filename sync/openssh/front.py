"""OpenSSH as the SFTP front, on Expedito's side: accounts, homes, revocation, the intake's
eyes on the folders.

:class:`OpenSSHFront` runs one thread. Each second it reads who may log in
(:func:`store.accounts.live_users`, one light query); when that changes it ends the sessions
of those who left (revocation: the key is already gone, since ``authorized-keys`` reads the
database), lays out the new users' homes (:func:`sync.openssh.accounts.lay_out`: the cycle
makes none, and sshd's ``ChrootDirectory`` needs the home before the first login), brings the
system accounts to the new set and tells the intake's follower which folders to watch. The
cycle's activation of a channel is thus on the system within a second (this is the
background step after the cycle), and so is a revocation.

A second thread publishes the sessions sshd serves (read from ``/proc``:
:mod:`sync.openssh.sessions`) as the embedded server does, for the *Sessions SFTP* page; a
session an operator ends there is killed, as revocation does. From the same look at ``/proc``
it kills any process of a technical user it has revoked (until it is live again): a login
that raced a revocation (its key read just before the key went, its process of the user's
uid appearing after the revocation's sweep) ends within half a second of appearing.

It also reads the folders. With inotify, a GO or TD closed after writing, renamed into an IN
folder, or linked there (internal-sftp's SSH_FXP_RENAME links the new name, then unlinks the
old: a file created that no session of the partner holds open for writing) is handed to the
intake at once (:meth:`Intake.on_upload`, the same path as the embedded server's hook, the
same claims). Without inotify, or when events were lost, the intake's scans find it
(``settle``: a set still being written is left for the next). A file the partner writes in
an OUT folder (the kernel cannot refuse it where it allows deleting) is removed as soon as it
is closed.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from store.accounts import Account, live_keys, live_users, provisioned_accounts
from store.batchnames import HOME_FOLDERS, OUT_FOLDERS, closing_kind
from store.db import db
from store.keys import ProvisionedKey, authorized_line
from sync.intake.service import Intake
from sync.openssh.accounts import (
    SystemAccounts,
    end_processes,
    end_sessions,
    is_ours,
    lay_out,
    written_by,
)
from sync.openssh.inotify import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_IGNORED,
    IN_MOVED_TO,
    IN_Q_OVERFLOW,
    Inotify,
)
from sync.openssh.keyfiles import KeyFiles
from sync.openssh.names import keys_dir_of, uid_of
from sync.openssh.sessions import SshdSession, sshd_sessions
from sync.session_board import SessionBoard

log = logging.getLogger("expedito.openssh")

POLL_SECONDS = 1.0
SETTLE_SECONDS = 2.0  # a set changed within this is still being written (scans only)
SCAN_SECONDS = 2.0  # the intake's rescan period when there is no inotify


class OpenSSHFront:
    """Keeps the system side of the OpenSSH front equal to the database, and feeds the intake."""

    def __init__(
        self,
        homes_root: Path,
        accounts: SystemAccounts,
        intake: Intake | None,
        poll: float = POLL_SECONDS,
        keys_dir: Path | None = None,
    ) -> None:
        self.homes_root = Path(homes_root)
        self.accounts = accounts
        self.intake = intake
        self.poll = poll
        self.key_files = KeyFiles(
            keys_dir if keys_dir is not None else Path(keys_dir_of(os.fspath(homes_root)))
        )
        self._live: dict[str, int] = {}
        self._keys: dict[str, tuple[ProvisionedKey, ...]] = {}
        self._unmade: set[str] = set()  # live users whose home could not be made yet
        self._by_uid: dict[int, Account] = {}  # the live accounts by their system uid
        self._revoked: frozenset[int] = frozenset()  # the uids of users revoked since start
        self.board = SessionBoard(self._sessions_ending_strays)
        self._board_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        try:
            self.inotify: Inotify | None = Inotify() if intake is not None else None
        except OSError as exc:
            log.warning("openssh: %s; the intake scans every %.0f s", exc, SCAN_SECONDS)
            self.inotify = None
        self._watches: dict[int, tuple[Account, Path]] = {}
        self._watched: dict[str, list[int]] = {}

    @property
    def follows(self) -> bool:
        """Does inotify tell the intake of uploads (else its scans find them)?"""
        return self.inotify is not None

    def reconcile(self) -> tuple[list[str], list[str]]:
        """Bring homes, accounts, sessions and watches to the database now: ``(added,
        removed)`` system accounts. Blocking.

        The revoked go first (their sessions ended), then the new users' homes are laid out
        (the cycle makes none: sshd's ``ChrootDirectory`` needs one before the first login).
        A home that cannot be made is one log line, and tried again at every pass until it
        is; meanwhile sshd refuses that user's logins (no chroot)."""
        with self._lock:
            live, keys = live_users(), live_keys()
            if (
                live == self._live
                and keys == self._keys
                and not self._unmade
                and self._thread is not None
            ):
                return [], []
            wanted = {name: uid_of(sender_id) for name, sender_id in live.items()}
            wanted_uids = set(wanted.values())
            # the revoked keys first (fail closed: any file of a user not live, e.g. left by
            # an earlier run), before their sessions end
            for name in self.key_files.remove_others(set(wanted)):
                log.info("openssh: the key file of %s is removed", name)
            # revoked: the board ends any process of theirs that appears from now on (a login
            # that raced this), until they are live again
            revoked = {uid_of(sender_id) for sender_id in self._live.values()}
            revoked |= set(self.accounts.managed().values())
            self._revoked = frozenset(
                uid for uid in self._revoked | revoked if is_ours(uid) and uid not in wanted_uids
            )
            for name, uid in self.accounts.managed().items():
                if name not in wanted and is_ours(uid):  # revoked: end its sessions first
                    killed = end_sessions(uid)
                    if killed:
                        log.info("openssh: %s revoked, %d session process(es) ended", name, killed)
            for name, uid in wanted.items():
                if name not in self._live or name in self._unmade:
                    self._lay_out(name, uid)
            self._unmade &= set(wanted)
            added, removed = self.accounts.apply(wanted)
            self._keep_key_files(wanted, keys)
            self._live, self._keys = live, keys
            accounts = provisioned_accounts()
            self._by_uid = {uid_of(account.sender_id): account for account in accounts}
            if self.inotify is not None:
                self._follow(accounts)
            if added or removed:
                log.info("openssh: system accounts added %s, removed %s", added, removed)
            return added, removed

    def _keep_key_files(
        self, wanted: dict[str, int], keys: dict[str, tuple[ProvisionedKey, ...]]
    ) -> None:
        """One file per live user whose system account is ours (the uid the cycle gave it:
        a name the machine has for another uid gets none), with the keys of that uid, as
        ``expedito authorized-keys USER UID`` prints them."""
        managed = self.accounts.managed()
        files = {
            name: [
                authorized_line(key, name)
                for key in keys.get(name, ())
                if uid_of(key.sender_id) == uid
            ]
            for name, uid in wanted.items()
            if managed.get(name) == uid and not name.startswith(".") and "/" not in name
        }
        self.key_files.keep({name: lines for name, lines in files.items() if lines})

    def _lay_out(self, name: str, uid: int) -> None:
        try:
            lay_out(self.homes_root, name, uid)
        except OSError as exc:
            if name not in self._unmade:
                log.error(
                    "openssh: the home of %s cannot be made (%s: %s); its logins are refused "
                    "until it can (tried again every %g s)",
                    name,
                    exc.filename or self.homes_root / name,
                    exc.strerror or exc,
                    self.poll,
                )
            self._unmade.add(name)
        else:
            if name in self._unmade:
                log.info("openssh: the home of %s is made", name)
            self._unmade.discard(name)

    def _follow(self, accounts: list[Account]) -> None:
        assert self.inotify is not None
        by_user = {account.technical_user: account for account in accounts}
        for user in set(self._watched) - set(by_user):
            for wd in self._watched.pop(user):
                self.inotify.remove(wd)
                self._watches.pop(wd, None)
        for user, account in by_user.items():
            if user in self._watched or user in self._unmade:  # followed once it is made
                continue
            wds = []
            for folder in HOME_FOLDERS:
                path = self.homes_root / user / folder
                try:
                    wd = self.inotify.add(os.fspath(path), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
                except OSError as exc:
                    log.warning("openssh: cannot follow %s (%s)", path, exc)
                    continue
                self._watches[wd] = (account, path)
                wds.append(wd)
            self._watched[user] = wds
            if self.intake is not None:
                self.intake.scan(account)  # what arrived before the watch

    # the thread -------------------------------------------------------------------------

    def live_sessions(self) -> list[SshdSession]:
        """The sessions sshd serves now (``/proc``: ``sync.openssh.sessions``)."""
        return sshd_sessions(self._by_uid, self.homes_root)

    def _sessions_ending_strays(self) -> list[SshdSession]:
        """The sessions, for the board (twice a second); and, from the same look at
        ``/proc``, the processes of a technical user revoked since this front started (and
        not live again) are killed.

        This closes the race of a login with its revocation: a session whose key was read
        just before the key went (the file removed, or the channel deleted under
        ``--keys command``) but whose process of the user's uid appears only after the
        revocation's sweep (``reconcile``) is ended here, within half a second of appearing.
        The database is read again after the processes were seen, so a user who became
        live since the last ``reconcile`` keeps its first session; if it cannot be read,
        they are killed (fail closed)."""
        found: dict[int, list[int]] = {}
        revoked = self._revoked
        sessions = sshd_sessions(self._by_uid, self.homes_root, found if revoked else None)
        strays = {uid: pids for uid, pids in found.items() if uid in revoked}
        if strays:
            try:
                live = {uid_of(sender_id) for sender_id in live_users().values()}
            except Exception as exc:
                log.warning("openssh: who is live cannot be read (%s): ending the processes "
                            "of uids not live at the last look", exc)  # fmt: skip
                live = set()
            for uid, pids in strays.items():
                if uid not in live and (ended := end_processes(uid, pids)):
                    log.warning(
                        "openssh: %d process(es) of uid %d ended: not a live technical user "
                        "(a login that raced its revocation)",
                        ended,
                        uid,
                    )
        return sessions

    def start(self) -> None:
        """Reconcile once (blocking), then keep at it in a thread; another publishes the
        sessions for the operators (``sync.session_board``) and ends those they end."""
        self.reconcile()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="expedito-openssh", daemon=True)
        self._thread.start()
        self._board_thread = threading.Thread(
            target=self.board.run, args=(self._stop,), name="expedito-openssh-sessions", daemon=True
        )
        self._board_thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        board, self._board_thread = self._board_thread, None
        self._stop.set()
        for running in (thread, board):
            if running is not None:
                running.join(timeout)
        if self.inotify is not None:
            self.inotify.close()
            self.inotify = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.inotify is not None:
                    self._read_events(self.poll)
                else:
                    self._stop.wait(self.poll)
                try:
                    self.reconcile()
                except Exception:
                    log.exception("openssh: could not bring the system accounts up to date")
        finally:
            if db.obj is not None and not db.is_closed():
                db.close()  # this thread's connection

    def _read_events(self, timeout: float) -> None:
        assert self.inotify is not None and self.intake is not None
        for wd, mask, name in self.inotify.read(timeout):
            if mask & IN_Q_OVERFLOW:
                log.warning("openssh: inotify events lost; scanning the homes")
                self.intake.scan_all()
                continue
            watched = self._watches.get(wd)
            if mask & IN_IGNORED or watched is None:
                continue
            account, folder = watched
            if folder.name in OUT_FOLDERS:
                _refuse_out(folder / name, account)
            elif closing_kind(name) is not None:
                path = folder / name
                # created: by SSH_FXP_RENAME (internal-sftp links the new name, then unlinks
                # the old: no close, no move), or opened to be written (its close will come)
                if mask & IN_CREATE and written_by(uid_of(account.sender_id), path):
                    continue
                self.intake.on_upload(account, path)


def _refuse_out(path: Path, account: Account) -> None:
    """A file the partner wrote in an OUT folder (POSIX lets whoever may delete there create
    too): removed once closed. Only the partner's own files (its uid): the acknowledgements
    are the intake's, whichever node and user wrote them."""
    try:
        if os.lstat(path).st_uid == uid_of(account.sender_id):
            os.unlink(path)
            log.warning(
                "openssh: %s wrote %s in an OUT folder; removed", account.technical_user, path.name
            )
    except FileNotFoundError:
        pass
