"""bench/intake: 1,000 sets with a 100 KB FI each, checked and acknowledged.

    python bench/intake.py [--sets 1000] [--size 100000] [--direct] [--profile] [--keep DIR]

Builds a fresh database with the demo sender and a provisioned SFTP channel, writes the sets
into the account's INTEST folder as uploads would leave them (not timed), then hands every GO
to the intake as the SFTP server does (``on_upload``) and waits until the worker is idle:
that is the figure. ``--direct`` calls ``process_go`` in a loop instead; ``--profile`` runs
the direct loop under cProfile and prints where the time goes. The signature verification
alone is timed separately, since it was expected to be the main cost. Goal: 5 s for 1,000.

TODO(sync): the second half, 100 sets uploaded through the SFTP server with the OpenSSH
``sftp`` client (``put`` FI, FS, then GO; wait for the ACRFs in OUTTEST), needs the paramiko
server of the ``sync`` branch; add it here once both branches are merged.
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
import tempfile
import time
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from store import senders
from store.accounts import Account, find_account
from store.batches import RESULT_ACCEPTED
from store.db import close_database, open_database
from store.demo import seed_demo
from store.democreds import DemoCredentials, write_demo_credentials
from store.dto import ChannelInput
from store.models import BatchSet, Channel, Organisation, Person, Qualite
from store.rules import ContactData
from store.signing import verify_detached
from sync.intake.acrf import parse_acrf
from sync.intake.names import HOME_FOLDERS
from sync.intake.prepare import PreparedSet, write_set
from sync.intake.service import Intake

USER = "EXPBENCHINTAKE"


def provision(creds: DemoCredentials) -> Account:
    seed_demo()
    dieter = Person.get(Person.login == "dieter").id
    qualite = Qualite.select().join(Organisation).where(Organisation.kbo == "0403123486").get()
    contact = ContactData(last_name="Bench", first_name="Intake", title="Mr", function="IT",
                          language="fr", phone="025455078", emails=("bench@example.be",))
    channel = ChannelInput(kind="SFTP", applications=("dmfa", "dimona"),
                           ssh_key=creds.ssh_public_key.read_text(),
                           certificate=creds.certificate_der.read_bytes())
    overview = senders.register_sender(dieter, qualite.id, contact, channel, USER, USER)
    channel_id = overview.channels[0].id
    senders.activate_channel(channel_id, Channel.get_by_id(channel_id).created_at)
    account = find_account(USER, creds.ssh_public_key.read_text())
    assert account is not None
    return account


def write_sets(home: Path, account: Account, creds: DemoCredentials, count: int, size: int,
               today: str) -> list[PreparedSet]:
    cert = x509.load_der_x509_certificate(creds.certificate_der.read_bytes())
    key = serialization.load_pem_private_key(creds.certificate_key.read_bytes(), None)
    sets = []
    for sequence in range(1, count + 1):
        body = base64.encodebytes(os.urandom(size * 3 // 4 + 3))[:size]
        sets.append(write_set(home / "INTEST", [body], purpose="DMFA",
                              sender=account.sender_number, date=today, sequence=sequence,
                              env="T", cert=cert, key=key))  # type: ignore[arg-type]
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--size", type=int, default=100_000, help="bytes per FI")
    parser.add_argument("--direct", action="store_true", help="process_go in a loop")
    parser.add_argument("--profile", action="store_true", help="cProfile the direct loop")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
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
    print(f"bench/intake: {args.sets} sets of {args.size:,} bytes ({megabytes:.0f} MB), "
          f"{os.cpu_count()} CPUs, {mode}")
    print(f"  prepare (sign, write; not timed)  {prepared_s:7.2f} s")
    print(f"  signature verification alone      {verify_s:7.2f} s  "
          f"({verify_s / args.sets * 1000:.2f} ms/set)")
    print(f"  intake: check, record, move, ACRF {total_s:7.2f} s  "
          f"({total_s / args.sets * 1000:.2f} ms/set, {args.sets / total_s:.0f} sets/s, "
          f"{megabytes / total_s:.0f} MB/s)")
    print(f"  ACRFs {len(acks)} ({accepted} accepted), rows accepted {recorded}, "
          f"files left in INTEST {left}")
    if args.profile:
        print("  (under the profiler: the time above is inflated)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    else:
        met = total_s <= 5 * args.sets / 1000
        print(f"  goal 5 s for 1,000 sets: {'met' if met else 'MISSED'}")
    ok = len(acks) == accepted == recorded == args.sets and left == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
