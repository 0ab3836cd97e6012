"""What one login costs the embedded SFTP server: CPU time per login, measured on the server's
process (``/proc/PID/stat``), far less sensitive to the machine's load than wall time.

    python bench/sftp_login_cost.py [--logins 100] [--parallel 1] [--workers 1] [--command ls]

Starts ``expedito serve`` (``bench/serve_process.py``) on a fresh database with the demo sender
provisioned, makes one login first (its home made, caches warm), then ``--logins`` logins with
OpenSSH ``sftp -b`` (``--command``, then ``bye``), ``--parallel`` at a time, and prints the
server's CPU per login (user and system apart, the whole process tree) and the clients' wall
time per login. Needs neither root nor sshd.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serve_process import ServeProcess, _tree  # noqa: E402  (beside this script)

SFTP = shutil.which("sftp") or "/usr/bin/sftp"
USER = "BENCHUSER01"


def user_system(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of ``pid``'s tree (and the children it reaped)."""
    user = system = 0
    for _, fields in _tree(pid):
        user += int(fields[11]) + int(fields[13])
        system += int(fields[12]) + int(fields[14])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def login(port: int, key: Path, commands: str, cwd: Path, i: int = 0) -> bool:
    """One ``sftp -b`` login, from its own loopback address (127.0.1.2, 127.0.1.3, …: the
    per-address limits count each apart)."""
    source = f"127.0.{1 + i // 250}.{2 + i % 250}"
    done = subprocess.run(
        [
            SFTP, "-b", "-", "-i", str(key), "-P", str(port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
            "-o", f"BindAddress={source}", f"{USER}@127.0.0.1",
        ],
        input=commands, capture_output=True, text=True, cwd=cwd, timeout=60,
    )  # fmt: skip
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--command", default="ls", help="the sftp command of each login")
    parser.add_argument(
        "--parallel", type=int, default=1, help="logins at once (default 1: one after the other)"
    )
    parser.add_argument("--keep", help="a folder for the database and homes (reused)")
    parser.add_argument(
        "--profiler",
        help="a command run during the logins, {pid} the server's, stopped with SIGINT: "
        "'py-spy record --native --format raw -o OUT --pid {pid}', 'perf record -g -p {pid}'",
    )
    args = parser.parse_args()

    from store.db import open_database
    from store.demo import seed_demo
    from store.democreds import write_demo_credentials
    from sync.cycle import run_cycle
    from sync.schedule import current_slot
    from tests.support.registration import register_demo_sender

    work = Path(args.keep or tempfile.mkdtemp(prefix="expedito-logins-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        db = work / "bench.sqlite3"
        homes = work / "homes"
        creds = write_demo_credentials(work / "creds")
        if not db.exists():
            open_database(db)
            seed_demo()
            register_demo_sender(creds, USER, now=None)
            now = datetime.now(UTC)
            run_cycle(current_slot(now), homes, lambda: now)
        commands = f"{args.command}\nbye\n"
        # one user for all (``--parallel`` of them at once)
        options = ["--max-sessions", str(args.parallel + 10)]
        with ServeProcess(db, homes, args.workers, options) as serve:
            port = serve.address[1]
            if not login(port, creds.ssh_private_key, commands, work):
                print("the first login failed")
                return 1
            time.sleep(0.5)
            load = os.getloadavg()[0]
            profiler = None
            if args.profiler:
                profiler = subprocess.Popen(
                    shlex.split(args.profiler.format(pid=serve.pid)),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(2)
            user0, system0 = user_system(serve.pid)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.parallel) as pool:
                failed = list(
                    pool.map(
                        lambda i: login(port, creds.ssh_private_key, commands, work, i),
                        range(args.logins),
                    )
                ).count(False)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            client = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
            time.sleep(0.6)  # the sessions' ends swept
            user1, system1 = user_system(serve.pid)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
        n = args.logins
        user, system = (user1 - user0) * 1000 / n, (system1 - system0) * 1000 / n
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after; {n} logins ({args.command!r}, bye), "
            f"--workers {args.workers}, {args.parallel} at once: "
            f"server CPU {user + system:5.1f} ms a login "
            f"(user {user:4.1f}, system {system:4.1f}); the client (sftp and ssh) "
            f"{client * 1000 / n:5.1f} ms CPU and {wall * 1000 / n:5.1f} ms wall a login; "
            f"failed {failed}",
            flush=True,
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
