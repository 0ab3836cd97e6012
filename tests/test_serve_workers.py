"""``expedito serve --workers N`` and several ``serve`` groups on one database, as real
processes with OpenSSH's ``sftp`` on loopback ports:

- two workers share one port: logins are served by both (the pid in each upload's log
  line), those of one address by one of them, each GO gets one ACRF, each slot's cycle runs
  once;
- two groups on two ports (standing in for two nodes) share the database — SQLite, and
  PostgreSQL — and the homes: uploads through both answered once each, and a channel removed
  through the services ends a session open on each group within a second;
- a worker killed is started again; the supervisor killed leaves no worker behind; a bad
  ``--workers`` is one line and exit 2.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import sessions
from store.accounts import Account
from store.batches import sender_batch_sets
from store.clock import local_now
from store.db import db
from store.democreds import DemoCredentials
from store.models import SFTP
from store.senders import remove_channel
from sync.intake.acrf import parse_acrf
from sync.intake.prepare import write_set
from tests.support.credentials import signing_pair
from tests.support.database import database_argument
from tests.support.intake import DATA, make_home
from tests.support.network import free_port
from tests.support.registration import DEMO_USER, person_id, provisioned_account, qualite_id
from tests.support.sftp import (
    bind_to,
    process_ended,
    sftp,
    sftp_command,
    sftp_shell,
    ssh_child,
    write_command,
)
from tests.support.sftp_attack import wait_for
from tests.test_reports_metrics import scrape

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RECEIVED = re.compile(r"\[worker (\d+) pid (\d+)\] expedito\.sftp \S+: received (GO\.\S+)")
CYCLE_DONE = re.compile(r"\[worker \d+ pid (\d+)\] expedito\.sync sync cycle (.+?) done in")


class Group:
    """``expedito serve --workers N`` on a port of its own (a node, on this machine)."""

    def __init__(
        self, db: str, homes: Path, logs: Path, name: str, workers: int, *options: str
    ) -> None:
        self.port = free_port()
        self.log = logs / f"{name}.log"
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tui.cli", "--db", db, "serve"),
                *("--port", str(self.port), "--homes", str(homes), "--period", "1"),
                *("--workers", str(workers)),
                *options,
            ],
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        found: list[str] = []

        def ready() -> bool:
            found[:] = re.findall(r"^Workers: .* pids ([\d, ]+)$", self.text(), re.M)
            return bool(found) or self.process.poll() is not None

        assert wait_for(ready, timeout=60) and found, self.text()
        self.pids = [int(pid) for pid in found[0].split(", ")]
        assert len(self.pids) == workers

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def served(self) -> dict[str, int]:
        """``{GO name: pid of the worker that received it}``."""
        return {go: int(pid) for _, pid, go in RECEIVED.findall(self.text())}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


class Sets:
    """Signed sets of the demo sender, made in a local folder, uploaded with ``sftp -b``."""

    def __init__(self, creds: DemoCredentials, sender_number: int, work: Path) -> None:
        self.creds = creds
        self.sender_number = sender_number
        self.work = work
        self.sequence = 0
        self.gos: list[str] = []

    def upload(self, port: int, count: int, source: str | None = None) -> list[str]:
        """``count`` sets at once, each through its own session (FI, FS, then the GO), from
        ``source``, else each from its own loopback address; their GO names."""
        cert, key = signing_pair(self.creds)
        clients = []
        for _ in range(count):
            self.sequence += 1
            prepared = write_set(
                self.work / f"outbox-{self.sequence:05d}",
                [DATA],
                purpose="DMFA",
                sender=self.sender_number,
                date=local_now().strftime("%Y%m%d"),
                sequence=self.sequence,
                env="T",
                cert=cert,
                key=key,
            )
            self.gos.append(prepared.go.name)
            commands = "".join(f"put {path} INTEST/\n" for path in prepared.paths)
            address = source or f"127.0.2.{self.sequence % 250 + 1}"
            command = sftp_command(port, self.creds.ssh_private_key, DEMO_USER, *bind_to(address))
            client = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            clients.append((client, commands))
        for client, commands in clients:
            _, err = client.communicate(commands.encode(), timeout=60)
            assert client.returncode == 0, err.decode()
        return self.gos[-count:]

    def check_answered_once(self, home: Path, sender_id: int) -> None:
        """Every GO uploaded has one ACRF, accepted; nothing else is answered."""

        def acrfs() -> list[Path]:
            return sorted(n for n in (home / "OUTTEST").iterdir() if n.name.startswith("FO."))

        assert wait_for(lambda: len(acrfs()) >= len(self.gos), timeout=60), len(acrfs())
        time.sleep(1.0)  # a second answer to a set would show by now
        answers = [parse_acrf(path.read_bytes()) for path in acrfs()]
        assert sorted(a.file_name for a in answers) == sorted(self.gos)
        assert all(a.accepted for a in answers), [a.errors for a in answers]
        assert len({a.ticket for a in answers}) == len(self.gos)
        recorded = sender_batch_sets(sender_id, limit=10 * len(self.gos))
        assert sorted(b.go_name for b in recorded) == sorted(self.gos)


class Nodes:
    """Groups started on the demo database (its sender provisioned, its home made)."""

    def __init__(self, account: Account, creds: DemoCredentials, tmp_path: Path) -> None:
        self.account = account
        self.homes = tmp_path / "homes"
        self.home = make_home(self.homes)
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.groups: list[Group] = []
        self.sets = Sets(creds, account.sender_number, tmp_path)

    def start(self, name: str, workers: int, *options: str) -> Group:
        self.groups.append(
            Group(database_argument(), self.homes, self.logs, name, workers, *options)
        )
        return self.groups[-1]

    def check_answered_once(self) -> None:
        self.sets.check_answered_once(self.home, self.account.sender_id)


@pytest.fixture
def nodes(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[Nodes]:
    """Every group is stopped at the end, and must have stopped cleanly, workers included."""
    started = Nodes(provisioned_account(demo_credentials), demo_credentials, tmp_path)
    yield started
    for group in started.groups:
        group.stop()
    workers = [pid for group in started.groups for pid in group.pids]
    assert wait_for(lambda: all(map(process_ended, workers)), timeout=5), workers


def cycles_ran(*groups: Group) -> Counter[str]:
    """How many processes ran each slot's cycle (the log lines of every worker)."""
    return Counter(slot for group in groups for _, slot in CYCLE_DONE.findall(group.text()))


def sync_cycle_owners() -> dict[str, str]:
    rows = db.execute_sql("SELECT slot, owner FROM sync_cycle WHERE status = 'done'").fetchall()
    return {str(slot): str(owner) for slot, owner in rows}


def test_two_workers_share_the_port_answer_each_go_once_and_run_each_slot_once(
    nodes: Nodes,
) -> None:
    group, sets = nodes.start("node", 2), nodes.sets
    sets.upload(group.port, 4)  # from 4 addresses, 127.0.2.2 to .5
    one_address = sets.upload(group.port, 4, source="127.0.3.7")
    served = group.served()
    assert sorted(served) == sorted(sets.gos)
    assert set(served.values()) == set(group.pids), served  # both workers served logins
    assert len({served[go] for go in one_address}) == 1, served  # one address, one worker
    nodes.check_answered_once()
    ran = cycles_ran(group)
    assert ran and set(ran.values()) == {1}, ran  # each slot by one process only
    owners = sync_cycle_owners()
    assert {int(owner.split(":")[1]) for owner in owners.values()} <= set(group.pids)
    assert group.stop() == 0
    assert "Traceback" not in group.text()


@pytest.mark.both_backends
def test_two_groups_on_one_database_answer_once_and_a_revocation_ends_sessions_on_both(
    nodes: Nodes, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    first, second = nodes.start("first", 2), nodes.start("second", 2)
    nodes.sets.upload(first.port, 4)
    nodes.sets.upload(second.port, 4)
    nodes.check_answered_once()
    assert sorted({**first.served(), **second.served()}) == sorted(nodes.sets.gos)
    assert first.served() and second.served()
    ran = cycles_ran(first, second)
    assert ran and set(ran.values()) == {1}, ran  # each slot once across the two groups

    key = demo_credentials.ssh_private_key
    shells = [sftp_shell(g.port, key, DEMO_USER, tmp_path) for g in (first, second)]
    try:
        for shell in shells:
            write_command(shell, "ls")
        assert wait_for(lambda: len(sessions.live_sessions()) == 2, timeout=30)
        pids = {s.pid for s in sessions.live_sessions()}
        assert len(pids & set(first.pids)) == 1 and len(pids & set(second.pids)) == 1
        connections = [ssh_child(shell) for shell in shells]
        asked = time.monotonic()
        remove_channel(person_id("dieter"), qualite_id(), SFTP)  # as the portal's page does
        assert wait_for(lambda: all(process_ended(c) for c in connections), timeout=10)
        elapsed = time.monotonic() - asked
    finally:
        for shell in shells:
            if shell.poll() is None:
                shell.kill()
            shell.communicate(timeout=10)
    print(f"revocation: both sessions ended {elapsed:.3f} s after it")  # pytest -s shows it
    assert elapsed < 1.0, f"sessions ended {elapsed:.2f} s after the revocation"
    for group in (first, second):
        assert "access revoked, closing" in group.text()
        assert group.stop() == 0
        assert "Traceback" not in group.text()


def test_a_users_sessions_are_counted_across_groups_and_a_killed_worker_frees_its_own(
    nodes: Nodes, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """``--max-sessions 1`` on two groups of two workers sharing the homes: one session of the
    user in all four; the worker holding it killed (``kill -9``), the other group lets the
    user in at once."""
    first = nodes.start("first", 2, "--max-sessions", "1")
    second = nodes.start("second", 2, "--max-sessions", "1")
    key = demo_credentials.ssh_private_key
    shell = sftp_shell(first.port, key, DEMO_USER, tmp_path)
    try:
        write_command(shell, "ls")
        assert wait_for(lambda: len(sessions.live_sessions()) == 1, timeout=30)
        holder = sessions.live_sessions()[0].pid
        assert holder in first.pids
        refused = sftp(second.port, key, DEMO_USER, "ls\n")
        assert refused.returncode != 0
        assert f"too many sessions for {DEMO_USER} (at most 1 at once)" in refused.stderr
        os.kill(holder, signal.SIGKILL)
        assert wait_for(lambda: process_ended(holder), timeout=10)
        let_in = sftp(second.port, key, DEMO_USER, "ls\n")
        assert let_in.returncode == 0, let_in.stderr
        assert "IN" in let_in.stdout
    finally:
        if shell.poll() is None:
            shell.kill()
        shell.communicate(timeout=10)


def test_metrics_add_up_the_workers(
    nodes: Nodes, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """``serve --workers 2 --metrics``: one endpoint; the sessions of both workers added up,
    the sets (from the database) counted once."""
    group = nodes.start("node", 2, "--metrics", "127.0.0.1:0")
    found = re.search(
        r"^Metrics: (http://\S+) \(the 2 workers' figures added up\)$", group.text(), re.M
    )
    assert found, group.text()
    nodes.sets.upload(group.port, 2)
    nodes.check_answered_once()
    shells = []
    try:
        for address in ("127.0.2.1", "127.0.2.2"):  # the BPF program: one to each worker
            key = demo_credentials.ssh_private_key
            shell = sftp_shell(group.port, key, DEMO_USER, options=bind_to(address))
            shells.append(shell)
            write_command(shell, "ls")
        assert wait_for(lambda: len({s.pid for s in sessions.live_sessions()}) == 2, timeout=30)
        values = scrape(found.group(1))
    finally:
        for shell in shells:
            shell.communicate("bye\n", timeout=20)
    assert values["expedito_workers_answering"] == 2
    assert values["expedito_sftp_sessions"] == 2
    assert values['expedito_batch_sets_total{result="accepted"}'] == 2  # once, not per worker
    assert values["expedito_sftp_received_bytes_total"] > 0
    assert group.stop() == 0


def test_a_killed_worker_is_started_again_and_none_outlives_the_supervisor(
    nodes: Nodes,
) -> None:
    group = nodes.start("node", 2)
    victim = group.pids[1]
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: "worker 2 (pid" in group.text(), timeout=10), group.text()
    assert f"worker 2 (pid {victim}) ended (killed by SIGKILL)" in group.text()
    assert wait_for(lambda: len(_children(group.process.pid)) == 2, timeout=30)
    assert victim not in _children(group.process.pid)
    nodes.sets.upload(group.port, 2)  # still served
    nodes.check_answered_once()
    workers = _children(group.process.pid)
    group.process.kill()  # SIGKILL: the supervisor cannot stop them; the kernel tells them
    group.process.wait()
    assert wait_for(lambda: all(process_ended(p) for p in workers), timeout=20)


def test_a_bad_number_of_workers_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for given in ("0", "x", "65"):
        run = subprocess.run(
            [
                *(sys.executable, "-m", "tui.cli", "--db", str(tmp_path / "x.sqlite3")),
                *("serve", "--port", "0", "--workers", given),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.count("\n") == 1, run.stderr
        assert f"argument --workers: '{given}' is not a number of processes" in run.stderr


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
