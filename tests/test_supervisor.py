"""The supervisor of ``serve --workers`` (``sync.supervisor``) with real worker processes —
small Python programs that say ready like a ``serve`` worker and then do what the test
needs: restart with a bound, a worker that cannot start, stop on request; and the port it
takes first."""

from __future__ import annotations

import functools
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from sync import supervisor
from sync.reuseport import steer_by_address
from sync.supervisor import Supervisor, WorkerSlot, reserve_port
from tests.support.sftp_attack import wait_for

WORKER = """
import os, sys, time
number, count, fd, parent = (int(p) for p in sys.argv[1].split(":"))
behaviour = sys.argv[2]
if behaviour == "fail-at-start":
    print("worker: cannot start", file=sys.stderr)
    sys.exit(3)
os.write(fd, b"ready\\n")
os.close(fd)
if behaviour == "die-soon" and number == 2:
    time.sleep(0.1)
    sys.exit(1)
time.sleep(60)
"""


def command_for(behaviour: str, tmp_path: Path) -> supervisor.Command:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)

    def command(slot: WorkerSlot) -> list[str]:
        return [sys.executable, str(script), str(slot), behaviour]

    return command


def run(sup: Supervisor, stop_after: float | None = None) -> int:
    if stop_after is not None:
        threading.Timer(stop_after, sup.stop).start()
    return sup.run()


def test_workers_are_announced_then_stopped_on_request(tmp_path: Path) -> None:
    announced: list[Sequence[int]] = []
    sup = Supervisor(command_for("serve", tmp_path), 3, announced.append)
    started = time.monotonic()
    assert run(sup, stop_after=3) == 0
    assert time.monotonic() - started < 15  # SIGTERM ends the sleeping workers at once
    (pids,) = announced
    assert len(set(pids)) == 3
    assert all(w.process is None or w.process.poll() is not None for w in sup.workers)


def test_a_worker_that_cannot_start_stops_them_all_with_its_status(tmp_path: Path) -> None:
    said: list[str] = []
    sup = Supervisor(command_for("fail-at-start", tmp_path), 2, say=said.append)
    assert run(sup) == 3
    assert said and "could not start (exit status 3)" in said[-1], said


def test_a_worker_that_keeps_ending_is_restarted_a_bounded_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_DELAY", 0.1)
    said: list[str] = []
    sup = Supervisor(command_for("die-soon", tmp_path), 2, say=said.append)
    assert run(sup) == 1
    restarts = [line for line in said if "starting it again" in line]
    assert len(restarts) == supervisor.RESTARTS, said
    assert all(line.startswith("expedito: worker 2 (pid ") for line in restarts)
    assert f"ended {supervisor.RESTARTS + 1} times within" in said[-1], said
    assert all(w.process is None or w.process.poll() is not None for w in sup.workers)


def test_the_port_is_taken_first_and_not_shared_with_another_program(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError):
            reserve_port("127.0.0.1", other.getsockname()[1])
    with reserve_port("127.0.0.1", 0) as keeper:
        port = keeper.getsockname()[1]
        assert port != 0
        # a worker's listening socket joins it (SO_REUSEPORT), and is the one connected to
        with socket.socket() as worker:
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            worker.bind(("127.0.0.1", port))
            worker.listen()
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                worker.settimeout(5)
                worker.accept()[0].close()
            # another serve on the same port is refused though it would ask SO_REUSEPORT
            with pytest.raises(OSError):
                reserve_port("127.0.0.1", port)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_each_address_s_connections_go_to_one_worker(host: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sources = [f"127.0.4.{n}" for n in range(2, 10)] if family == socket.AF_INET else [host]
    with reserve_port(host, 0) as keeper:
        port = keeper.getsockname()[1]
        workers = []
        for _ in range(2):
            worker = socket.socket(family)
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            worker.bind((host, port))
            worker.listen()
            assert steer_by_address(worker, 2)
            worker.setblocking(False)
            workers.append(worker)
        chosen: dict[str, set[int]] = {}
        try:
            for source in sources:
                for _ in range(6):  # each from another port
                    with socket.socket(family) as client:
                        client.bind((source, 0))
                        client.connect((host, port))
                        accepted = functools.partial(_accepted, workers, source, chosen)
                        assert wait_for(accepted, timeout=5)
        finally:
            for worker in workers:
                worker.close()
    assert all(len(used) == 1 for used in chosen.values()), chosen
    if family == socket.AF_INET:
        assert set().union(*chosen.values()) == {0, 1}, chosen  # and the addresses spread


def _accepted(workers: list[socket.socket], source: str, chosen: dict[str, set[int]]) -> bool:
    for index, worker in enumerate(workers):
        try:
            connection, _ = worker.accept()
        except BlockingIOError:
            continue
        connection.close()
        chosen.setdefault(source, set()).add(index)
        return True
    return False


def test_serve_on_a_port_another_program_holds_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run_ = subprocess.run(
            [
                *(sys.executable, "-m", "tui.cli", "--db", str(tmp_path / "x.sqlite3")),
                *("serve", "--port", str(port), "--workers", "2"),
            ],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run_.returncode == 1 and run_.stderr.count("\n") == 1, run_.stderr
    assert run_.stderr.startswith(f"expedito: cannot serve on 127.0.0.1:{port}: ")
