"""Concurrent uploads with the OpenSSH ``sftp`` client, and a burst of logins, against the SFTP
fronts: the embedded server, bare sshd + internal-sftp, and sshd behind Expedito's fragment.

    python bench/sftp_concurrency.py [--clients 50,100] [--files 20] [--file-mb 1]
        [--burst 200] [--fronts embedded,sshd,openssh] [--workers N] [--keys file|command]

For each N of ``--clients``: N ``sftp`` clients at once, each from its own loopback address
(127.0.1.2, 127.0.1.3, …), each putting ``--files`` files of ``--file-mb`` MB into IN (plain
files: no set, so the intake only looks at them), one pass of each front, alternating which
goes first. Printed per front: the wall time, the aggregate MB/s, the server's CPU time per MB
(this process for the embedded server, the whole process tree with ``--workers N``; for sshd
its master's CPU and its reaped children's, which include every session and every ``expedito
authorized-keys``), its peak resident memory, the sessions that failed and the files whose
md5 differs; then the ratios to sshd. Then ``--burst`` logins released at the same instant,
each from its own address, no retry, against each server with its defaults (sshd's
``MaxStartups 10:30:100``; for the uploads sshd gets ``200:30:1000``, without which it refuses
them). The embedded server keeps its defaults but one user for every client (sshd has no
per-user session limit) and room in IN. ``--workers N`` (N > 1) runs it as ``expedito serve
--workers N`` in processes of their own (``bench/serve_process.py``). ``openssh`` is the real
deployment: ``expedito sshd-config``'s fragment, ``expedito serve --front openssh`` in its own
process (its CPU counted with sshd's) keeping the system account (``useradd``), the intake
following the folders; its cost over bare ``sshd`` is the key lookup (``--keys``: the key
files the front keeps, by default, or the ``AuthorizedKeysCommand`` at each login) and the
intake.

Runs as root (sshd, chroot, accounts); installs nothing; leaves the machine as found (sshd
killed, the account and group removed, the site directory in /srv removed).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serve_process import ServeProcess, tree_rss_bytes  # noqa: E402  (beside this script)

SSHD = "/usr/sbin/sshd"
SFTP = shutil.which("sftp") or "/usr/bin/sftp"
USER = "BENCHUSER01"
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise RuntimeError("sshd did not start")
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def sftp(port: int, key: Path, user: str, commands: str, cwd: Path, source: str = "") -> bool:
    command = [
        SFTP, "-b", "-", "-i", str(key), "-P", str(port),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=60", "-c", "aes128-gcm@openssh.com",
    ]  # fmt: skip
    if source:
        command += ["-o", f"BindAddress={source}"]
    done = subprocess.run(
        [*command, f"{user}@127.0.0.1"], input=commands, capture_output=True, text=True,
        cwd=cwd, timeout=900,
    )  # fmt: skip
    return done.returncode == 0


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and of its children it has reaped (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def start_sshd(work: Path, port: int, body: str) -> subprocess.Popen[bytes]:
    host_key = work / "sshd_host_ed25519_key"
    if not host_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True
        )
    config = work / f"sshd_config_{port}"
    config.write_text(
        f"ListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile none\nUsePAM no\n{body}"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    wait_listening(port, process)
    return process


def client_address(i: int) -> str:
    """The i-th client's own loopback address (127.0.1.2, 127.0.1.3, …)."""
    return f"127.0.{1 + i // 250}.{2 + i % 250}"


class PeakMemory:
    """Samples a process tree's resident memory every 0.2 s while in a ``with``."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self._rss())

    def _rss(self) -> int:
        if self.pid == os.getpid():  # the embedded server: this process, not its clients
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            return pages * os.sysconf("SC_PAGE_SIZE")
        return tree_rss_bytes(self.pid)

    def __enter__(self) -> PeakMemory:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Result:
    wall: float
    cpu_ms_per_mb: float
    failed: int
    peak_mib: float
    bad_data: int


def run_uploads(
    name: str, port: int, user: str, key: Path, client: Path, clients: int,
    args: argparse.Namespace, cpu: Callable[[], float], pid: int, home_in: Path,
) -> Result:  # fmt: skip
    """``clients`` sftp sessions at once, each from its own address, each putting
    ``--files`` files of ``--file-mb`` MB into IN; the files' md5 checked afterwards."""
    commands = [
        "".join(f"put f{n:02}.bin IN/{name}-{i}-{n:02}.bin\n" for n in range(args.files))
        for i in range(clients)
    ]
    before = cpu()
    with PeakMemory(pid) as memory:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            ok = list(
                pool.map(
                    lambda i: sftp(port, key, user, commands[i], client, client_address(i)),
                    range(clients),
                )
            )
        wall = time.perf_counter() - started
        time.sleep(0.3)  # sshd reaps its sessions' processes (their CPU counts once reaped)
    used = cpu() - before
    total = clients * args.files * args.file_mb
    expected = {n: md5(client / f"f{n:02}.bin") for n in range(args.files)}
    bad = 0
    for i in range(clients):
        for n in range(args.files):
            path = home_in / f"{name}-{i}-{n:02}.bin"
            bad += not path.exists() or md5(path) != expected[n]
            path.unlink(missing_ok=True)
    result = Result(wall, used * 1000 / total, ok.count(False), memory.peak / MB, bad)
    print(
        f"{name:9} N={clients:3} x {args.files} x {args.file_mb} MB: {wall:6.2f} s "
        f"({total / wall:6.1f} MB/s), server CPU {result.cpu_ms_per_mb:5.2f} ms/MB, "
        f"peak memory {result.peak_mib:6.1f} MiB, sessions failed {result.failed}, "
        f"files wrong or missing {bad}",
        flush=True,
    )
    return result


def run_burst(name: str, port: int, user: str, key: Path, client: Path, burst: int) -> None:
    """``burst`` logins released at the same instant, each from its own address, no retry."""
    gate = threading.Barrier(burst)

    def login(i: int) -> tuple[bool, float]:
        gate.wait()
        started = time.perf_counter()
        done = sftp(port, key, user, "pwd\n", client, client_address(i))
        return done, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(burst) as pool:
        outcomes = list(pool.map(login, range(burst)))
    wall = time.perf_counter() - started
    refused = sum(not done for done, _ in outcomes)
    slowest = max(took for _, took in outcomes)
    print(
        f"{name:9} burst of {burst} logins from {burst} addresses: {refused} refused, "
        f"all done in {wall:5.2f} s (slowest login {slowest:5.2f} s)",
        flush=True,
    )


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="50,100", help="N, or several: 1,10,50,100")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--file-mb", type=int, default=1)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--fronts", default="embedded,sshd")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="the embedded server as 'expedito serve --workers N' (default 1: in this process)",
    )
    parser.add_argument(
        "--keys",
        choices=("file", "command"),
        default="file",
        help="the openssh front's keys: the files it keeps (default) or the "
        "AuthorizedKeysCommand at each login (sshd-config --keys)",
    )
    args = parser.parse_args()
    if os.geteuid() != 0 or not os.path.exists(SSHD):
        print("run as root, with OpenSSH's server installed (apt-get install openssh-server)")
        return 2
    fronts = args.fronts.split(",")
    counts = [int(n) for n in args.clients.split(",") if n]

    from store.batchnames import HOME_FOLDERS
    from store.db import open_database
    from store.demo import seed_demo
    from store.democreds import write_demo_credentials
    from sync.cycle import run_cycle
    from sync.hostkey import load_or_create_host_keys
    from sync.limits import ServerLimits
    from sync.openssh.accounts import UserAdd, end_sessions
    from sync.openssh.sshd_config import quick_keys_command
    from sync.schedule import current_slot
    from sync.sftp_server import SFTPService
    from tests.support.registration import register_demo_sender

    accounts = UserAdd()
    if "openssh" in fronts and accounts.managed():
        print("this machine already has Expedito accounts: not touched")
        return 2
    # made once nothing can stop the run (an early return left them behind)
    work = Path(tempfile.mkdtemp(prefix="expedito-bench-"))
    site = Path("/srv") / f"expedito-bench-{secrets.token_hex(4)}"
    site.mkdir(mode=0o755)
    processes: list[subprocess.Popen[Any]] = []
    try:
        db = work / "bench.sqlite3"
        open_database(db)
        seed_demo()
        creds = write_demo_credentials(work / "creds")
        key = creds.ssh_private_key
        register_demo_sender(creds, USER, now=None)
        homes = site / "homes"
        now = datetime.now(UTC)
        run_cycle(current_slot(now), homes, lambda: now)
        client = work / "client"
        client.mkdir()
        for n in range(args.files):
            (client / f"f{n:02}.bin").write_bytes(os.urandom(args.file_mb * MB))
        load = os.getloadavg()[0]
        print(
            f"{os.cpu_count()} cores, load average {load:.1f}; OpenSSH sftp client, aes128-gcm; "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            flush=True,
        )
        results: dict[tuple[str, int], Result] = {}
        bare = work / "bare"
        for folder in HOME_FOLDERS:
            (bare / folder).mkdir(parents=True)
        authorized = work / "authorized_keys"
        authorized.write_text(creds.ssh_public_key.read_text())
        authorized.chmod(0o600)

        @contextlib.contextmanager
        def embedded(clients: int) -> Iterator[tuple[int, Callable[[], float], int]]:
            """The embedded server: its port, its CPU and the pid whose memory is its."""
            # Expedito's defaults, but one user for every client (sshd has no per-user
            # session limit) and room in IN for what they all send
            limits = ServerLimits(
                max_file_size=(args.file_mb + 16) * MB,
                max_sessions_per_user=max(clients, args.burst) + 10,
                in_quota=(clients + 1) * args.files * (args.file_mb + 1) * MB,
            )
            if args.workers > 1:
                options = [
                    *("--max-file-size", str(limits.max_file_size // MB)),
                    *("--max-sessions", str(limits.max_sessions_per_user)),
                    *("--in-quota", str(limits.in_quota // MB)),
                ]
                with ServeProcess(db, homes, args.workers, options) as serve:
                    yield serve.address[1], serve.cpu, serve.pid
                return
            started = SFTPService(
                homes, load_or_create_host_keys(work / "hk"), port=0, limits=limits
            )
            started.start()
            try:
                yield started.address[1], time.process_time, os.getpid()
            finally:
                started.stop()

        def bare_sshd(max_startups: str) -> tuple[subprocess.Popen[bytes], int]:
            port = free_port()
            startups = f"MaxStartups {max_startups}\n" if max_startups else ""
            process = start_sshd(
                work, port,
                f"Port {port}\nAuthorizedKeysFile {authorized}\nStrictModes no\n{startups}"
                f"PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp -d {bare}\n",
            )  # fmt: skip
            processes.append(process)
            return process, port

        for clients in counts:
            # one pass of each, alternating which goes first
            order = fronts if counts.index(clients) % 2 == 0 else fronts[::-1]
            for front in order:
                if front == "embedded":
                    with embedded(clients) as (port, cpu, pid):
                        results[(front, clients)] = run_uploads(
                            front, port, USER, key, client, clients, args, cpu, pid,
                            homes / USER / "IN",
                        )  # fmt: skip
                elif front == "sshd":
                    # sshd's default MaxStartups (10:30:100) refuses uploads past 10 at once
                    sshd, port = bare_sshd("200:30:1000")
                    sshd_pid = sshd.pid
                    results[(front, clients)] = run_uploads(
                        front, port, "root", key, client, clients, args,
                        functools.partial(tree_cpu, sshd_pid), sshd_pid, bare / "IN",
                    )  # fmt: skip
                    sshd.kill()
                    sshd.wait(timeout=10)
        if counts and "embedded" in fronts and "sshd" in fronts:
            print(
                "ratios (goal: CPU per MB at most 1.3 x sshd's, time sshd/embedded at least 0.9):"
            )
            for clients in counts:
                ours, theirs = results[("embedded", clients)], results[("sshd", clients)]
                print(
                    f"  N={clients:3}: CPU per MB "
                    f"{ours.cpu_ms_per_mb / theirs.cpu_ms_per_mb:4.2f} x sshd's, "
                    f"time sshd/embedded {theirs.wall / ours.wall:4.2f}",
                    flush=True,
                )

        if args.burst:
            # each server with its defaults: Expedito's limits, sshd's MaxStartups 10:30:100
            if "embedded" in fronts:
                with embedded(0) as (port, _cpu, _pid):
                    run_burst("embedded", port, USER, key, client, args.burst)
            if "sshd" in fronts:
                sshd, port = bare_sshd("")
                run_burst("sshd", port, "root", key, client, args.burst)
                sshd.kill()
                sshd.wait(timeout=10)

        if "openssh" in fronts:
            from serve_process import tree_cpu_seconds  # beside this script

            # the services as deployed: 'expedito serve --front openssh' in a process of its
            # own (accounts, homes, the intake following the folders), its CPU counted with
            # sshd's (not this process's: its threads run the clients)
            front = subprocess.Popen(
                [sys.executable, "-m", "tui.cli", "--db", str(db), "serve", "--front", "openssh",
                 "--homes", str(homes), "--accounts", "useradd"],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            processes.append(front)
            assert front.stdout is not None
            for line in front.stdout:  # serve prints this once started
                if line.startswith("Next synchronisation"):
                    break
            deadline = time.monotonic() + 30
            while USER not in accounts.managed() and time.monotonic() < deadline:
                time.sleep(0.1)
            port = free_port()
            # sshd runs the AuthorizedKeysCommand only from a root-owned path nobody else can
            # write (a checkout under /tmp or a home is refused): a wrapper in the site
            # that starts as the fragment's default does (the module as a script, -S -I)
            command = site / "expedito"
            command.write_text(f'#!/bin/sh\nexec {" ".join(quick_keys_command(db))} "$@"\n')
            command.chmod(0o755)
            fragment = subprocess.run(
                [sys.executable, "-m", "tui.cli", "--db", str(db), "sshd-config", "--homes",
                 str(homes), "--port", str(port), "--command", str(command),
                 "--keys", args.keys],
                cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            (site / "expedito.conf").write_text(fragment)
            sshd = start_sshd(
                work, port,
                f"Include {site / 'expedito.conf'}\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
            )  # fmt: skip
            processes.append(sshd)
            sshd_pid = sshd.pid
            for clients in counts:
                run_uploads(
                    "openssh", port, USER, key, client, clients, args,
                    lambda: tree_cpu(sshd_pid) + tree_cpu_seconds(front.pid), sshd_pid,
                    homes / USER / "IN",
                )  # fmt: skip
            if args.burst:
                run_burst("openssh", port, USER, key, client, args.burst)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()  # serve --front openssh: a clean stop
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        if "openssh" in fronts:  # the accounts it made (none were there before)
            for uid in accounts.managed().values():
                end_sessions(uid)
            time.sleep(0.2)
            accounts.remove_all()
        shutil.rmtree(site, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
