"""bench/intake: 1,000 sets with a 100 KB FI each, checked and acknowledged; then 100 sets
uploaded through the SFTP server with the OpenSSH client.

    python bench/intake.py [--sets 1000] [--size 100000] [--direct] [--profile] [--keep DIR]
                           [--sftp-sets 100] [--sftp-only]

Builds a fresh database with the demo sender and a provisioned SFTP channel, writes the sets
into the account's INTEST folder as uploads would leave them (not timed), then hands every GO
to the intake as the SFTP server does (``on_upload``) and waits until the worker is idle:
that is the figure. ``--direct`` calls ``process_go`` in a loop instead; ``--profile`` runs
the direct loop under cProfile and prints where the time goes. The signature verification
alone is timed separately, since it was expected to be the main cost. Goal: 5 s for 1,000.

The second half runs the back-office services (``sync.services``: the SFTP server on a
loopback port with the intake behind it, as ``expedito serve`` does), writes ``--sftp-sets``
more sets (not timed), and times one OpenSSH ``sftp -b`` session that ``put``s every FI, FS
and GO into INTEST, then the wait until every ACRF is in OUTTEST; then one session that
``get``s all the ACRFs. ``--sftp-sets 0`` skips it, ``--sftp-only`` skips the first half.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import argparse
import base64
import cProfile
import os
import pstats
import shutil
import subprocess
import tempfile
import time
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from store import senders
from store.accounts import Account, find_account
from store.batches import RESULT_ACCEPTED
from store.batchnames import HOME_FOLDERS
from store.cycles import activate_channels
from store.db import close_database, open_database
from store.demo import seed_demo
from store.democreds import DemoCredentials, write_demo_credentials
from store.dto import ChannelInput
from store.models import BatchSet, Channel, Organisation, Person, Qualite
from store.rules import ContactData
from store.signing import verify_detached
from sync.intake.acrf import parse_acrf
from sync.intake.prepare import PreparedSet, write_set
from sync.intake.service import Intake
from sync.services import ServiceConfig, Services

SFTP = shutil.which("sftp") or "/usr/bin/sftp"

USER = "EXPBENCHINTAKE"


def provision(creds: DemoCredentials) -> Account:
    seed_demo()
    dieter = Person.get(Person.login == "dieter").id
    qualite = Qualite.select().join(Organisation).where(Organisation.kbo == "0403123486").get()
    contact = ContactData(
        last_name="Bench",
        first_name="Intake",
        title="Mr",
        function="IT",
        language="fr",
        phone="025455078",
        emails=("bench@example.be",),
    )
    channel = ChannelInput(
        kind="SFTP",
        applications=("dmfa", "dimona"),
        ssh_key=creds.ssh_public_key.read_text(),
        certificate=creds.certificate_der.read_bytes(),
    )
    overview = senders.register_sender(dieter, qualite.id, contact, channel, USER, USER)
    channel_id = overview.channels[0].id
    activate_channels([channel_id], Channel.get_by_id(channel_id).created_at)
    account = find_account(USER, creds.ssh_public_key.read_text())
    assert account is not None
    return account


def write_sets(
    home: Path,
    account: Account,
    creds: DemoCredentials,
    count: int,
    size: int,
    today: str,
    first: int = 1,
    folder: str = "INTEST",
) -> list[PreparedSet]:
    cert = x509.load_der_x509_certificate(creds.certificate_der.read_bytes())
    key = serialization.load_pem_private_key(creds.certificate_key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    sets = []
    for sequence in range(first, first + count):
        body = base64.encodebytes(os.urandom(size * 3 // 4 + 3))[:size]
        sets.append(
            write_set(
                home / folder,
                [body],
                purpose="DMFA",
                sender=account.sender_number,
                date=today,
                sequence=sequence,
                env="T",
                cert=cert,
                key=key,
            )
        )
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--size", type=int, default=100_000, help="bytes per FI")
    parser.add_argument("--direct", action="store_true", help="process_go in a loop")
    parser.add_argument("--profile", action="store_true", help="cProfile the direct loop")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    parser.add_argument(
        "--sftp-sets",
        type=int,
        default=100,
        help="sets uploaded with the OpenSSH sftp client (0: none)",
    )
    parser.add_argument("--sftp-only", action="store_true", help="only the SFTP half")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="expedito-bench-intake-") as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        open_database(root / "bench.sqlite3")
        try:
            return run(args, root)
        finally:
            close_database()


def run(args: argparse.Namespace, root: Path) -> int:
    creds = write_demo_credentials(root / "credentials")
    account = provision(creds)
    home = root / "homes" / account.technical_user
    for folder in HOME_FOLDERS:
        (home / folder).mkdir(parents=True, exist_ok=True)
    today = f"{datetime.now():%Y%m%d}"
    ok = True
    if not args.sftp_only:
        ok = run_direct(args, root, account, creds, home, today)
    if args.sftp_sets > 0:
        ok = run_sftp(args, root, account, creds, home, today) and ok
    return 0 if ok else 1


def run_direct(
    args: argparse.Namespace,
    root: Path,
    account: Account,
    creds: DemoCredentials,
    home: Path,
    today: str,
) -> bool:
    started = time.perf_counter()
    sets = write_sets(home, account, creds, args.sets, args.size, today)
    prepared_s = time.perf_counter() - started
    megabytes = args.sets * args.size / 1e6

    started = time.perf_counter()
    for prepared in sets:
        verify_detached(prepared.signatures[0].read_bytes(), prepared.data[0].read_bytes())
    verify_s = time.perf_counter() - started

    intake = Intake(root / "homes")
    started = time.perf_counter()
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
    if args.direct or args.profile:
        for prepared in sets:
            intake.process_go(account, prepared.go)
    else:
        with intake:
            for prepared in sets:
                intake.on_upload(account, prepared.go)
            idle = intake.wait_idle(600)
        assert idle and not intake.failures, intake.failures
    total_s = time.perf_counter() - started
    if args.profile:
        profile.disable()

    acks = sorted((home / "OUTTEST").iterdir())
    accepted = sum(parse_acrf(path.read_bytes()).result == 1 for path in acks)
    recorded = BatchSet.select().where(BatchSet.result == RESULT_ACCEPTED).count()
    left = len(os.listdir(home / "INTEST"))
    mode = "process_go loop" if args.direct or args.profile else "on_upload + worker thread"
    print(
        f"bench/intake: {args.sets} sets of {args.size:,} bytes ({megabytes:.0f} MB), "
        f"{os.cpu_count()} CPUs, {mode}"
    )
    print(f"  prepare (sign, write; not timed)  {prepared_s:7.2f} s")
    print(
        f"  signature verification alone      {verify_s:7.2f} s  "
        f"({verify_s / args.sets * 1000:.2f} ms/set)"
    )
    print(
        f"  intake: check, record, move, ACRF {total_s:7.2f} s  "
        f"({total_s / args.sets * 1000:.2f} ms/set, {args.sets / total_s:.0f} sets/s, "
        f"{megabytes / total_s:.0f} MB/s)"
    )
    print(
        f"  ACRFs {len(acks)} ({accepted} accepted), rows accepted {recorded}, "
        f"files left in INTEST {left}"
    )
    if args.profile:
        print("  (under the profiler: the time above is inflated)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    else:
        met = total_s <= 5 * args.sets / 1000
        print(f"  goal 5 s for 1,000 sets: {'met' if met else 'MISSED'}")
    return len(acks) == accepted == recorded == args.sets and left == 0


def sftp_batch(port: int, creds: DemoCredentials, user: str, commands: str, cwd: Path) -> float:
    """Run one ``sftp -b`` session; its wall-clock seconds."""
    batch = cwd / "sftp-batch.txt"
    batch.write_text(commands)
    started = time.perf_counter()
    done = subprocess.run(
        [
            SFTP,
            "-b",
            str(batch),
            "-i",
            str(creds.ssh_private_key),
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
            "-o",
            "LogLevel=ERROR",
            f"{user}@127.0.0.1",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sftp failed: {done.stderr}")
    return seconds


def run_sftp(
    args: argparse.Namespace,
    root: Path,
    account: Account,
    creds: DemoCredentials,
    home: Path,
    today: str,
) -> bool:
    """The SFTP half: one OpenSSH session uploads every set; wait for all the ACRFs."""
    if not os.path.exists(SFTP):
        print("bench/intake: no OpenSSH sftp client, SFTP half skipped")
        return True
    count, first = args.sftp_sets, 0 if args.sftp_only else args.sets
    outbox = root / "outbox"
    outbox.mkdir(exist_ok=True)
    for ack in (home / "OUTTEST").iterdir():  # the first half's, out of the count
        ack.unlink()
    sets = write_sets(root, account, creds, count, args.size, today, first + 1, folder="outbox")
    megabytes = count * args.size / 1e6
    services = Services(
        ServiceConfig(
            homes_root=root / "homes", port=0, host_key_path=root / "host_key", run_worker=False
        )
    )
    services.start_in_thread()
    try:
        port = services.sftp_address[1]
        commands = "cd INTEST\n" + "".join(
            f"put {path.name}\n" for prepared in sets for path in prepared.paths
        )
        started = time.perf_counter()
        upload_s = sftp_batch(port, creds, account.technical_user, commands, outbox)
        while len(os.listdir(home / "OUTTEST")) < count:  # every ACRF there
            if time.perf_counter() - started > 600:
                break
            time.sleep(0.005)
        total_s = time.perf_counter() - started
        idle = services.intake.wait_idle(60)
        inbox = root / "inbox"
        inbox.mkdir(exist_ok=True)
        get_s = sftp_batch(port, creds, account.technical_user, "get OUTTEST/*\n", inbox)
    finally:
        services.stop_in_thread()
    acks = [path for path in inbox.iterdir() if path.name.startswith("FO.ACRF.")]
    accepted = sum(parse_acrf(path.read_bytes()).result == 1 for path in acks)
    left = len(os.listdir(home / "INTEST"))
    files = 3 * count
    print(
        f"bench/intake SFTP: {count} sets of {args.size:,} bytes ({megabytes:.0f} MB, "
        f"{files} files), OpenSSH sftp client -> Expedito's server + intake, one session"
    )
    print(
        f"  upload session (connect, {files} puts, quit)  {upload_s:7.2f} s  "
        f"({megabytes / upload_s:.0f} MB/s, {files / upload_s:.0f} files/s)"
    )
    print(
        f"  session start to last ACRF in OUTTEST     {total_s:7.2f} s  "
        f"({total_s / count * 1000:.1f} ms/set, {count / total_s:.0f} sets/s; the last "
        f"ACRF {max(0.0, total_s - upload_s):.2f} s after the session ended)"
    )
    print(f"  get every ACRF (one session)               {get_s:7.2f} s")
    print(
        f"  ACRFs fetched {len(acks)} ({accepted} accepted), files left in INTEST {left}, "
        f"intake failures {len(services.intake.failures)}"
    )
    return idle and len(acks) == accepted == count and left == 0


if __name__ == "__main__":
    sys.exit(main())
