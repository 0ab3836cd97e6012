"""``expedito serve --workers N``: N processes serving one SFTP port, and their supervisor.

Python runs one thread at a time in a process, so one process serves SFTP with one core.
With ``--workers N`` the command becomes a supervisor that starts N worker processes, each a
whole ``serve`` (SFTP server, batch intake, sync worker) on the same database and homes.
Each worker binds its own listening socket to the same address with ``SO_REUSEPORT``
(Linux): the kernel spreads the incoming connections between them. What must happen once
still does, through the database: the cycle's lease (``sync_cycle``) runs each slot in one
of them, the intake's claims (``intake_claim``) answer each GO once.

The supervisor:

- takes the port first (:func:`reserve_port`: it is free, else one line and exit 1; port 0
  becomes a real one) and keeps it bound, without listening, so the workers' sockets can
  join it and nobody else can take it while a worker restarts;
- starts the workers (:class:`Supervisor`), each with a pipe on which it says ``ready`` once
  it serves; one that ends before that ends them all (its own line on stderr says why);
- restarts a worker that ends later, a second after, at most ``RESTARTS`` times in
  ``RESTART_WINDOW`` seconds for one worker; beyond that it stops everything and exits 1;
- on SIGTERM or SIGINT sends SIGTERM to every worker, waits ``STOP_TIMEOUT`` seconds for
  them to stop cleanly (the intake finishes the set at hand), kills what is left, exits 0.

A worker asks the kernel for SIGTERM when its supervisor dies (:func:`bind_to_parent`), so a
``kill -9`` of the supervisor leaves no orphan serving on.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

MAX_WORKERS = 64
RESTART_DELAY = 1.0  # seconds before a worker that ended is started again
RESTARTS = 5  # restarts of one worker allowed within RESTART_WINDOW
RESTART_WINDOW = 300.0
START_TIMEOUT = 120.0  # seconds for a worker to say it is ready
STOP_TIMEOUT = 20.0  # seconds the workers have to stop after SIGTERM
READY = b"ready\n"
PR_SET_PDEATHSIG = 1

Command = Callable[["WorkerSlot"], list[str]]


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(text: str) -> int:
    """``--workers``' value: 1 to ``MAX_WORKERS``; ``ValueError`` with the line to show."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WORKERS:
        raise ValueError(
            f"{text!r} is not a number of processes: give 1 to {MAX_WORKERS} "
            "(1 serves in this process)"
        )
    return value


@dataclass(frozen=True)
class WorkerSlot:
    """Who a worker is: its number (1…N) of ``count``, the fd it says ``ready`` on, and the
    supervisor's pid. Passed as ``--worker NUMBER:COUNT:FD:PID`` (an option not shown)."""

    number: int
    count: int
    ready_fd: int
    parent: int

    def __str__(self) -> str:
        return f"{self.number}:{self.count}:{self.ready_fd}:{self.parent}"

    @classmethod
    def parse(cls, text: str) -> WorkerSlot:
        number, count, fd, parent = (int(part) for part in text.split(":"))
        return cls(number, count, fd, parent)


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not listening: the workers'
    listening sockets join it. ``OSError`` when another program holds the port (even one
    that listens with ``SO_REUSEPORT`` itself: another ``serve`` must not join this one).
    Port 0 picks a free port (``getsockname()``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # free, whoever asks?
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = int(probe.getsockname()[1])
    keeper = socket.socket(family, socket.SOCK_STREAM)
    try:
        keeper.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        keeper.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        keeper.bind((host, port))
    except OSError:
        keeper.close()
        raise
    return keeper


def bind_to_parent(parent: int) -> bool:
    """In a worker: have the kernel send SIGTERM when the supervisor dies (Linux's
    ``PR_SET_PDEATHSIG``). False when the supervisor is already gone."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == parent


def say_ready(slot: WorkerSlot) -> None:
    """In a worker, once it serves: tell the supervisor."""
    with contextlib.suppress(OSError):
        os.write(slot.ready_fd, READY)
    with contextlib.suppress(OSError):
        os.close(slot.ready_fd)


@dataclass
class Worker:
    number: int
    process: subprocess.Popen[bytes] | None = None
    ready_fd: int | None = None  # our end of its pipe, until it said ready or closed it
    ready: bool = False
    starts: list[float] = field(default_factory=list)  # monotonic times it was started
    restart_at: float | None = None


class GiveUp(Exception):
    """A worker could not start, or ended too often: stop them all (the line to show)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervisor:
    """Runs ``count`` workers (``command(slot)`` is a worker's argv) until a signal."""

    def __init__(
        self,
        command: Command,
        count: int,
        announce: Callable[[Sequence[int]], None] = lambda pids: None,
        say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        self.command = command
        self.workers = [Worker(number) for number in range(1, count + 1)]
        self.announce = announce  # once all are ready the first time: their pids
        self.say = say
        self._stopping = threading.Event()

    # The workers --------------------------------------------------------------------------

    def _start(self, worker: Worker) -> None:
        read_fd, write_fd = os.pipe()
        slot = WorkerSlot(worker.number, len(self.workers), write_fd, os.getpid())
        try:
            worker.process = subprocess.Popen(self.command(slot), pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        worker.ready_fd, worker.ready, worker.restart_at = read_fd, False, None
        worker.starts.append(time.monotonic())

    def _close_pipe(self, worker: Worker) -> None:
        if worker.ready_fd is not None:
            os.close(worker.ready_fd)
            worker.ready_fd = None

    def _read_ready(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a worker's word on its pipe."""
        fds = {w.ready_fd: w for w in self.workers if w.ready_fd is not None}
        if not fds:
            self._stopping.wait(timeout)
            return
        try:
            readable, _, _ = select.select(list(fds), [], [], timeout)
        except InterruptedError:  # a signal: the loop looks at _stopping
            return
        for fd in readable:
            worker = fds[fd]
            data = os.read(fd, 64)
            worker.ready = worker.ready or data.startswith(READY)
            self._close_pipe(worker)  # ready, or it closed the pipe (it is ending)

    def _ended(self, worker: Worker, all_ready: bool) -> None:
        """``worker`` ended on its own: restart it soon, or give up."""
        assert worker.process is not None
        code = worker.process.returncode
        pid = worker.process.pid
        self._close_pipe(worker)
        if not all_ready and not worker.ready:
            raise GiveUp(
                f"worker {worker.number} (pid {pid}) could not start ({_status(code)})",
                code if code > 0 else 1,
            )
        now = time.monotonic()
        recent = [t for t in worker.starts if now - t < RESTART_WINDOW]
        if len(recent) > RESTARTS:
            raise GiveUp(
                f"worker {worker.number} ended {len(recent)} times within "
                f"{RESTART_WINDOW:.0f} s (last: pid {pid}, {_status(code)}): stopping",
                1,
            )
        self.say(
            f"expedito: worker {worker.number} (pid {pid}) ended ({_status(code)}): "
            f"starting it again in {RESTART_DELAY:.0f} s"
        )
        worker.process = None
        worker.restart_at = now + RESTART_DELAY

    def _stop_all(self) -> None:
        running = [w.process for w in self.workers if w.process is not None]
        for process in running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(
                    f"expedito: worker pid {process.pid} did not stop within "
                    f"{STOP_TIMEOUT:.0f} s: killed"
                )
                process.kill()
                process.wait()
        for worker in self.workers:
            self._close_pipe(worker)

    # The loop ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run`` to stop the workers and return (any thread, or a signal handler)."""
        self._stopping.set()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    def run(self) -> int:
        """Start the workers and keep them running until SIGTERM or SIGINT (or ``stop``):
        0 once they stopped, else the exit status of giving up (its line said why)."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        started = time.monotonic()
        all_ready = False
        try:
            for worker in self.workers:
                self._start(worker)
            while not self._stopping.is_set():
                self._read_ready(0.2)
                now = time.monotonic()
                for worker in self.workers:
                    if worker.process is None:
                        if worker.restart_at is not None and now >= worker.restart_at:
                            self._start(worker)
                    elif worker.process.poll() is not None:
                        self._ended(worker, all_ready)
                if not all_ready and all(w.ready for w in self.workers):
                    all_ready = True
                    self.announce([w.process.pid for w in self.workers if w.process])
                if not all_ready and now - started > START_TIMEOUT:
                    raise GiveUp(f"the workers were not ready within {START_TIMEOUT:.0f} s", 1)
        except GiveUp as exc:
            self.say(f"expedito: {exc}")
            self._stop_all()
            return exc.code
        self._stop_all()
        return 0
