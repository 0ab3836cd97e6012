"""Concurrent uploads with the OpenSSH ``sftp`` client, and a burst of logins, against the SFTP
fronts: the embedded server, bare sshd + internal-sftp, and sshd behind Expedito's fragment.

    python bench/sftp_concurrency.py [--clients 50] [--size-mb 20] [--burst 200]
                                     [--fronts embedded,sshd,openssh] [--workers N]

Each front gets ``--clients`` OpenSSH ``sftp`` clients at once, each uploading ``--size-mb``
MB into IN (plain files: no set, so the intake only looks at them), then ``--burst`` clients
that each log in from their own loopback address (127.0.0.2, 127.0.0.3, …) and run ``pwd``.
Printed per front: the wall time of the uploads, the aggregate MB/s, the server's CPU time per
MB (this process for the embedded server; for sshd its master's CPU and its reaped children's,
which include every session and every ``expedito authorized-keys``), and how many burst logins
failed. ``--workers N`` (N > 1) runs the embedded server as ``expedito serve --workers N``
in processes of their own (``bench/serve_process.py``; its CPU is the whole tree's: the
supervisor and every worker). ``openssh`` is the real deployment: ``expedito sshd-config``'s
fragment, the services with ``front=openssh`` keeping the system account (``useradd``), the
intake following the folders; its cost over bare ``sshd`` is the key lookup and the intake.

Runs as root (sshd, chroot, accounts); installs nothing; leaves the machine as found (sshd
killed, the account and group removed, the site directory in /srv removed).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def run_front(
    name: str, port: int, user: str, key: Path, client: Path, args: argparse.Namespace,
    cpu: Callable[[], float],
) -> None:  # fmt: skip
    before = cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        ok = list(
            pool.map(
                lambda i: sftp(port, key, user, f"put payload.bin IN/{name}{i}.bin\n", client),
                range(args.clients),
            )
        )
    wall = time.perf_counter() - started
    used = cpu() - before
    total = args.clients * args.size_mb
    with ThreadPoolExecutor(min(args.burst, 200) or 1) as pool:
        logins = list(
            pool.map(
                lambda i: sftp(
                    port, key, user, "pwd\n", client, f"127.0.{2 + i // 250}.{2 + i % 250}"
                ),
                range(args.burst),
            )
        )
    print(
        f"{name:9} {args.clients} clients x {args.size_mb} MB: {wall:6.2f} s "
        f"({total / wall:6.1f} MB/s), server CPU {used * 1000 / total:5.2f} ms/MB, "
        f"uploads failed {ok.count(False)}; burst of {args.burst} logins: "
        f"{logins.count(False)} refused",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--fronts", default="embedded,sshd,openssh")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="the embedded server as 'expedito serve --workers N' (default 1: in this process)",
    )
    args = parser.parse_args()
    if os.geteuid() != 0 or not os.path.exists(SSHD):
        print("run as root, with OpenSSH's server installed (apt-get install openssh-server)")
        return 2
    fronts = args.fronts.split(",")

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
    from sync.services import ServiceConfig, Services
    from sync.sftp_server import SFTPService
    from tests.support.registration import register_demo_sender

    work = Path(tempfile.mkdtemp(prefix="expedito-bench-"))
    site = Path("/srv") / f"expedito-bench-{secrets.token_hex(4)}"
    site.mkdir(mode=0o755)
    accounts = UserAdd()
    if accounts.managed():
        print("this machine already has Expedito accounts: not touched")
        return 2
    processes: list[subprocess.Popen[bytes]] = []
    service = services = None
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
        with (client / "payload.bin").open("wb") as handle:
            for _ in range(args.size_mb):
                handle.write(os.urandom(MB))
        print(f"{os.cpu_count()} cores; OpenSSH sftp client, aes128-gcm", flush=True)

        if "embedded" in fronts:
            # the same room as the sshd fragment gives (MaxStartups 200:30:1000), and one user
            # for every client: sshd has no per-user session limit
            limits = ServerLimits(
                max_file_size=(args.size_mb + 16) * MB,
                max_startups=(200, 30, 1000),
                per_source_max_startups=args.clients + 1,
                max_sessions_per_user=args.clients + args.burst,
                in_quota=(args.clients + 1) * (args.size_mb + 1) * MB,
            )
            if args.workers > 1:
                from serve_process import ServeProcess  # beside this script

                options = [
                    *("--max-file-size", str(limits.max_file_size // MB)),
                    *("--max-startups", ":".join(map(str, limits.max_startups))),
                    *("--per-source-max-startups", str(limits.per_source_max_startups)),
                    *("--max-sessions", str(limits.max_sessions_per_user)),
                    *("--in-quota", str(limits.in_quota // MB)),
                ]
                with ServeProcess(db, homes, args.workers, options) as serve:
                    run_front("embedded", serve.address[1], USER, key, client, args, serve.cpu)
            else:
                service = SFTPService(
                    homes, load_or_create_host_keys(work / "hk"), port=0, limits=limits
                )
                service.start()
                run_front(
                    "embedded", service.address[1], USER, key, client, args, time.process_time
                )
                service.stop()
                service = None
            for path in (homes / USER / "IN").iterdir():
                path.unlink()

        if "sshd" in fronts:
            bare = work / "bare"
            for folder in HOME_FOLDERS:
                (bare / folder).mkdir(parents=True)
            authorized = work / "authorized_keys"
            authorized.write_text(creds.ssh_public_key.read_text())
            authorized.chmod(0o600)
            port = free_port()
            sshd = start_sshd(
                work, port,
                f"Port {port}\nAuthorizedKeysFile {authorized}\nStrictModes no\n"
                f"MaxStartups 200:30:1000\nPermitRootLogin prohibit-password\n"
                f"Subsystem sftp internal-sftp -d {bare}\n",
            )  # fmt: skip
            processes.append(sshd)
            run_front("sshd", port, "root", key, client, args, lambda: tree_cpu(sshd.pid))

        if "openssh" in fronts:
            services = Services(
                ServiceConfig(
                    homes_root=homes, host_key_path=work / "hk", spool_root=site / "intake",
                    front="openssh", system_accounts=accounts, run_worker=False,
                )
            )  # fmt: skip
            services.start_in_thread()
            port = free_port()
            # sshd runs the AuthorizedKeysCommand only from a root-owned path nobody else can
            # write (a checkout under /tmp or a home is refused): a wrapper in the site
            # that starts as the fragment's default does (the module as a script, -S -I)
            command = site / "expedito"
            command.write_text(f'#!/bin/sh\nexec {" ".join(quick_keys_command(db))} "$@"\n')
            command.chmod(0o755)
            fragment = subprocess.run(
                [sys.executable, "-m", "tui.cli", "--db", str(db), "sshd-config", "--homes",
                 str(homes), "--port", str(port), "--command", str(command)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            (site / "expedito.conf").write_text(fragment)
            sshd = start_sshd(
                work, port,
                f"Include {site / 'expedito.conf'}\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
            )  # fmt: skip
            processes.append(sshd)
            run_front(
                "openssh", port, USER, key, client, args,
                lambda: tree_cpu(sshd.pid) + time.process_time(),
            )  # fmt: skip
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)
        if service is not None:
            service.stop()
        if services is not None:
            services.stop_in_thread()
        for uid in accounts.managed().values():
            end_sessions(uid)
        time.sleep(0.2)
        accounts.remove_all()
        shutil.rmtree(site, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
