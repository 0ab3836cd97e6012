"""200 MB upload and download with the OpenSSH ``sftp`` client: Expedito's server vs sshd.

    python bench/sftp_throughput.py [--size-mb 200] [--runs 5] [--cipher NAME|default]

Starts Expedito's SFTP server (in this process, on a free loopback port) and OpenSSH's own
``sshd`` with ``internal-sftp`` (own host key, AuthorizedKeysFile in a temporary folder,
``-D -e -f cfg``), alternates the two, and prints the median time of each and the ratios
(sshd time / Expedito time: 1.0 or more means Expedito is at least as fast). Installs
nothing: without /usr/sbin/sshd it asks for ``apt-get install openssh-server``.

The client runs with the same options against both servers. By default it is told to use
``aes128-gcm@openssh.com`` (``-c``) so both servers do the same cryptography. Left to itself
the OpenSSH client picks chacha20-poly1305 with sshd and aes128-ctr + hmac-sha2-256-etm with
Expedito (which offers AES-GCM and AES-CTR, see ``sync/sftp_algorithms.py``): ``--cipher
default`` lets each pair negotiate its own defaults.
The cipher each server actually negotiated is printed (one extra ``sftp -v`` login each).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SSHD = "/usr/sbin/sshd"
SFTP = shutil.which("sftp") or "/usr/bin/sftp"
USER = "BENCHUSER01"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sftp_command(port: int, key: Path, user: str, cipher: str, *extra: str) -> list[str]:
    """The client's command line: the same options whatever the server."""
    command = [
        SFTP,
        "-b",
        "-",
        "-i",
        str(key),
        "-P",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        *extra,
    ]
    if cipher != "default":
        command += ["-c", cipher]
    return [*command, f"{user}@127.0.0.1"]


def negotiated_cipher(port: int, key: Path, user: str, cipher: str) -> str:
    """The client-to-server cipher of one short session, as ``sftp -v`` reports it."""
    result = subprocess.run(
        sftp_command(port, key, user, cipher, "-v"), input="pwd\n", capture_output=True, text=True
    )
    for line in result.stderr.splitlines():
        if "kex: client->server cipher:" in line:
            return line.split("cipher:", 1)[1].split()[0]
    return "?"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and of the children it has reaped (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    wall: float
    server_cpu: float
    client_cpu: float


def sftp(
    port: int, key: Path, user: str, commands: str, cwd: Path, cipher: str,
    server_cpu: Callable[[], float],
) -> Run:  # fmt: skip
    command = sftp_command(port, key, user, cipher, "-o", "LogLevel=ERROR")
    server_before, client_before = server_cpu(), children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, input=commands, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"sftp failed on port {port}: {result.stderr.strip()}")
    time.sleep(0.05)  # sshd's master reaps the session's process
    return Run(elapsed, server_cpu() - server_before, children_cpu() - client_before)


def start_sshd(work: Path, public_key: str, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    host_key = work / "sshd_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    authorized = work / "authorized_keys"
    authorized.write_text(public_key + "\n")
    authorized.chmod(0o600)
    port = free_port()
    config = work / "sshd_config"
    config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {work}/sshd.pid
AuthorizedKeysFile {authorized}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp -d {home}
""")
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        if process.poll() is not None:
            assert process.stderr is not None
            raise RuntimeError(f"sshd did not start: {process.stderr.read().decode()}")
        time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


def median_of(runs: list[Run], name: str) -> float:
    return float(statistics.median(getattr(run, name) for run in runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--cipher",
        default="aes128-gcm@openssh.com",
        help="the client's -c for both servers, or 'default' (none)",
    )
    args = parser.parse_args()
    if not os.path.exists(SSHD):
        print(
            f"{SSHD} is missing: install OpenSSH's server first "
            "(apt-get install openssh-server); this script installs nothing."
        )
        return 2
    import getpass

    from store.batchnames import HOME_FOLDERS
    from store.db import open_database
    from store.demo import seed_demo
    from store.democreds import write_demo_credentials
    from sync.cycle import run_cycle
    from sync.homes import ensure_home, home_of
    from sync.hostkey import load_or_create_host_keys
    from sync.limits import MB, ServerLimits
    from sync.schedule import current_slot
    from sync.sftp_server import SFTPService
    from tests.support.registration import register_demo_sender

    work = Path(tempfile.mkdtemp(prefix="expedito-bench-"))
    sshd = None
    service = None
    try:
        open_database(work / "bench.sqlite3")
        seed_demo()
        creds = write_demo_credentials(work / "creds")
        register_demo_sender(creds, USER, now=None)  # now: the credentials are new
        homes = work / "homes"
        now = datetime.now(UTC)
        run_cycle(current_slot(now), homes, lambda: now)
        ensure_home(homes, USER)  # made at the first login: the payload goes in before it
        ours = home_of(homes, USER)
        theirs = work / "sshd-home"
        for folder in HOME_FOLDERS:
            (theirs / folder).mkdir(parents=True)
        client = work / "client"
        client.mkdir()
        payload = client / "payload.bin"
        with payload.open("wb") as handle:
            for _ in range(args.size_mb):
                handle.write(os.urandom(MB))
        for home in (ours, theirs):
            shutil.copy(payload, home / "OUT" / "payload.bin")

        service = SFTPService(
            homes,
            load_or_create_host_keys(work / "host_key"),
            port=0,
            limits=ServerLimits(max_file_size=(args.size_mb + 16) * MB),
        )
        service.start()
        sshd, sshd_port = start_sshd(work, creds.ssh_public_key.read_text().strip(), theirs)
        sshd_pid = sshd.pid
        targets = {
            "expedito": (service.address[1], USER, ours, time.process_time),
            "sshd": (sshd_port, getpass.getuser(), theirs, lambda: tree_cpu(sshd_pid)),
        }
        for name, (port, user, _home, _cpu) in targets.items():
            cipher = negotiated_cipher(port, creds.ssh_private_key, user, args.cipher)
            print(f"{name}: negotiated cipher {cipher}")
        runs: dict[tuple[str, str], list[Run]] = {}
        for run in range(args.runs):
            for name, (port, user, home, cpu) in targets.items():
                up = sftp(
                    port,
                    creds.ssh_private_key,
                    user,
                    f"put payload.bin IN/up{run}\n",
                    client,
                    args.cipher,
                    cpu,
                )
                (home / "IN" / f"up{run}").unlink()
                (client / "down.bin").unlink(missing_ok=True)
                down = sftp(
                    port,
                    creds.ssh_private_key,
                    user,
                    "get OUT/payload.bin down.bin\n",
                    client,
                    args.cipher,
                    cpu,
                )
                runs.setdefault((name, "upload"), []).append(up)
                runs.setdefault((name, "download"), []).append(down)
                print(
                    f"run {run + 1} {name:8} upload {up.wall:6.2f} s  download {down.wall:6.2f} s",
                    flush=True,
                )
        print(
            f"\n{args.size_mb} MB, median of {args.runs} runs (OpenSSH sftp client, "
            f"cipher: {args.cipher}); CPU: median seconds of the server and of the client:"
        )
        for direction in ("upload", "download"):
            mine, reference = (runs[(side, direction)] for side in ("expedito", "sshd"))
            ours_wall = statistics.median(r.wall for r in mine)
            their_wall = statistics.median(r.wall for r in reference)
            print(
                f"  {direction:8}  expedito {ours_wall:6.2f} s "
                f"({args.size_mb / ours_wall:6.1f} MB/s)"
                f"  sshd {their_wall:6.2f} s ({args.size_mb / their_wall:6.1f} MB/s)"
                f"  ratio sshd/expedito {their_wall / ours_wall:5.2f}"
            )
            print(
                f"  {'':8}  CPU server {median_of(mine, 'server_cpu'):5.2f} s"
                f" / sshd {median_of(reference, 'server_cpu'):5.2f} s,"
                f" client {median_of(mine, 'client_cpu'):5.2f} s"
                f" / {median_of(reference, 'client_cpu'):5.2f} s"
            )
    finally:
        if service is not None:
            service.stop()
        if sshd is not None:
            sshd.terminate()
            sshd.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
