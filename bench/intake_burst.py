"""bench/intake_burst: the intake under a burst — 10,000 sets uploaded through 20 concurrent
OpenSSH ``sftp`` sessions, each from its own loopback address, into ``expedito serve`` as an
operator runs it (a process of its own, ``--workers 2``); timed until the last ACRF is in
OUTTEST. Goal (issue 14): the last ACRF within 2 s of the last upload, none lost, none twice.

    python bench/intake_burst.py [--sets 10000] [--sessions 20] [--size 1000] [--workers 2]
                                 [--db postgresql://…] [--keep DIR]

One technical user (``--max-sessions`` raised to the number of sessions), the sets prepared
and signed beforehand (not timed), each session ``put``ting its share (FI, FS, then the GO of
each set). "Last upload" is the end of the last session to end (its last ``put`` is done by
then), so the figure is, if anything, slightly in the server's favour. Afterwards the
database and OUTTEST are checked: one accepted ACRF per set, every set recorded once, nothing
left in INTEST.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime

from intake import SFTP, provision, write_sets
from serve_process import ServeProcess

from store.batches import RESULT_ACCEPTED
from store.db import close_database, open_database
from store.democreds import DemoCredentials, write_demo_credentials
from store.models import BatchSet
from sync.intake.acrf import parse_acrf


def session(
    port: int, creds: DemoCredentials, user: str, address: str, batch: Path, cwd: Path
) -> tuple[float, int, str]:
    """One ``sftp -b`` session from ``address``: when it ended (monotonic), its status."""
    done = subprocess.run(
        [
            *(SFTP, "-b", str(batch), "-i", str(creds.ssh_private_key), "-P", str(port)),
            *("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"),
            *("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"),
            *("-o", f"BindAddress={address}", f"{user}@127.0.0.1"),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return time.monotonic(), done.returncode, done.stderr.strip()


def acknowledged(outtest: Path) -> int:
    """The ACRFs in OUTTEST (each with its signature, FS.ACRF…, beside it)."""
    return sum(name.startswith("FO.ACRF.") for name in os.listdir(outtest))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=1000, help="bytes per FI")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers")
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file in the scratch)")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args = parser.parse_args()
    if not os.path.exists(SFTP):
        print("bench/intake_burst: no OpenSSH sftp client")
        return 1
    with tempfile.TemporaryDirectory(prefix="expedito-bench-burst-") as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        db = args.db or str(root / "bench.sqlite3")
        open_database(db)
        try:
            return run(args, root, db)
        finally:
            close_database()


def run(args: argparse.Namespace, root: Path, db: str) -> int:
    creds = write_demo_credentials(root / "credentials")
    account = provision(creds)
    user = account.technical_user
    home = root / "homes" / user
    today = f"{datetime.now():%Y%m%d}"
    outbox = root / "outbox"
    outbox.mkdir(exist_ok=True)
    started = time.perf_counter()
    sets = write_sets(root, account, creds, args.sets, args.size, today, folder="outbox")
    prepared_s = time.perf_counter() - started
    batches = []
    for n in range(args.sessions):
        batch = root / f"batch-{n}.txt"
        share = sets[n :: args.sessions]
        batch.write_text("cd INTEST\n" + "".join(f"put {p.name}\n" for s in share for p in s.paths))
        batches.append(batch)
    close_database()  # serve has it now

    options = ["--max-sessions", str(args.sessions), "--per-source-max-startups", "8"]
    results: list[tuple[float, int, str]] = []
    log = root / "serve.log"
    with ServeProcess(db, root / "homes", args.workers, options, log) as serve:
        port = serve.address[1]
        cpu_before = serve.cpu()
        begin = time.monotonic()

        def one(n: int) -> None:
            address = f"127.0.3.{n + 1}"
            results.append(session(port, creds, user, address, batches[n], outbox))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(args.sessions)]
        for thread in threads:
            thread.start()
        peak_rss = 0
        while any(thread.is_alive() for thread in threads):
            peak_rss = max(peak_rss, serve.rss())
            time.sleep(0.2)
        last_upload = max(ended for ended, _, _ in results)
        outtest = home / "OUTTEST"
        deadline = last_upload + 120
        while time.monotonic() < deadline:
            if outtest.exists() and acknowledged(outtest) >= args.sets:
                break
            time.sleep(0.05)
        last_ack = time.monotonic()
        cpu = serve.cpu() - cpu_before
        peak_rss = max(peak_rss, serve.rss())
        time.sleep(1)  # anything answered twice would show now

    failed = [(rc, err) for _, rc, err in results if rc != 0]
    acks = [path for path in outtest.iterdir() if path.name.startswith("FO.ACRF.")]
    tickets = [parse_acrf(path.read_bytes()) for path in acks]
    accepted = sum(ack.accepted for ack in tickets)
    answered = {ack.file_name for ack in tickets}
    open_database(db)
    recorded = BatchSet.select().count()
    recorded_ok = BatchSet.select().where(BatchSet.result == RESULT_ACCEPTED).count()
    left = len(os.listdir(home / "INTEST"))
    files = 3 * args.sets
    upload_s = last_upload - begin
    after = last_ack - last_upload
    print(
        f"bench/intake_burst: {args.sets:,} sets ({files:,} files, FI {args.size:,} bytes) "
        f"through {args.sessions} concurrent OpenSSH sftp sessions from {args.sessions} "
        f"addresses, expedito serve --workers {args.workers} on "
        f"{'PostgreSQL' if db.startswith('postgresql') else 'SQLite'}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"  prepare (sign, write; not timed)       {prepared_s:7.2f} s")
    print(
        f"  first session start to last upload     {upload_s:7.2f} s  "
        f"({files / upload_s:.0f} files/s, {args.sets / upload_s:.0f} sets/s)"
    )
    print(f"  last upload to last ACRF in OUTTEST    {after:7.2f} s  (goal ≤ 2 s)")
    rss = peak_rss / 2**20
    print(f"  serve's CPU (all processes)            {cpu:7.2f} s, peak RSS {rss:.0f} MiB")
    print(
        f"  sessions failed {len(failed)}; ACRFs {len(acks):,} ({accepted:,} accepted, "
        f"{len(answered):,} distinct sets); sets recorded {recorded:,} ({recorded_ok:,} "
        f"accepted); left in INTEST {left}"
    )
    for rc, err in failed[:3]:
        print(f"  session exit {rc}: {err[:200]}")
    whole = not failed and len(acks) == len(answered) == accepted == recorded == args.sets
    met = whole and after <= 2.0
    print(f"  none lost, none twice: {'yes' if whole else 'NO'}; goal {'met' if met else 'MISSED'}")
    if args.keep is None:
        shutil.rmtree(root / "outbox", ignore_errors=True)
    return 0 if whole else 1


if __name__ == "__main__":
    sys.exit(main())
