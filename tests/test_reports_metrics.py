"""``expedito report certificates|sets`` (CSV, JSON) on a real database, in a subprocess; the
Prometheus metrics of ``expedito serve --metrics`` scraped over HTTP, in the process and
from a real ``serve``."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from store.ops import expiring_certificates
from sync.metrics import MetricsServer, parse_address
from tests.ops_support import in_days, record_set, register
from tests.service_support import USER, Provisioned, provisioned_services
from tests.support.database import database_argument
from tests.support.sftp import sftp

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.both_backends


def report(db: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(db), "report", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_report_certificates(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register(demo_credentials, in_days(30), tmp_path)
    db = database_argument()
    result = report(db, "certificates", "--within", "60", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["technical_user"], row["channel"], row["organisation"]) == (
        USER,
        "SFTP",
        "ENTREPRISE DEMO",
    )
    assert int(row["days_left"]) in (29, 30)
    assert row["expires_on"] == in_days(30).date().isoformat()
    as_json = json.loads(report(db, "certificates", "--within", "60", "--format", "json").stdout)
    assert as_json[0]["sender_number"] == int(row["sender_number"])
    # not within 10 days: nothing
    assert report(db, "certificates", "--within", "10").stdout.strip().count("\n") == 0
    assert expiring_certificates(10) == []


def test_report_sets(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    sender = register(demo_credentials)
    record_set(sender, 1, datetime(2026, 1, 10, 9, 0))
    record_set(sender, 2, datetime(2026, 1, 15, 9, 0), ("ACRF-125", "ACRF-120"))
    record_set(sender, 3, datetime(2026, 1, 15, 10, 0), done=False)
    db = database_argument()
    result = report(db, "sets", "--since", "2026-01-12", "--format", "json")
    assert result.returncode == 0, result.stderr
    sets = json.loads(result.stdout)
    assert [(s["status"], s["errors"]) for s in sets] == [
        ("rejected", ["ACRF-125", "ACRF-120"]),
        ("pending", []),
    ]
    assert sets[0]["received_at"] == "2026-01-15 09:00:00"
    rows = list(csv.DictReader(io.StringIO(report(db, "sets", "--since", "20260101").stdout)))
    assert [r["status"] for r in rows] == ["accepted", "rejected", "pending"]
    assert rows[1]["errors"] == "ACRF-125 ACRF-120"
    bad = report(db, "sets", "--since", "yesterday")
    assert bad.returncode == 2 and "a date YYYY-MM-DD" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = report(tmp_path / "none.sqlite3", "sets", "--since", "2026-01-01")
    assert missing.returncode == 2 and "no database" in missing.stderr


@pytest.fixture
def running(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[Provisioned]:
    yield from provisioned_services(demo_credentials, tmp_path)


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_are_scraped(
    running: Provisioned, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    sender = __import__("store.models", fromlist=["Sender"]).Sender.get()
    record_set(sender, 1, datetime.now() - timedelta(minutes=3))
    record_set(sender, 2, datetime.now() - timedelta(minutes=2), ("ACRF-125",))
    metrics = MetricsServer(running.services, "127.0.0.1:0")
    host, port = metrics.start()
    try:
        # a refused login (a key the channel does not have) and a session moving bytes
        stranger = tmp_path / "stranger"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True
        )
        assert sftp(running.port, stranger, USER, "ls\n").returncode != 0
        listing = sftp(running.port, demo_credentials.ssh_private_key, USER, "ls OUTTEST\n")
        assert listing.returncode == 0, listing.stderr
        values = scrape(f"http://{host}:{port}/metrics")
    finally:
        metrics.stop()
    assert values['expedito_batch_sets_total{result="accepted"}'] == 1
    assert values['expedito_batch_sets_total{result="rejected"}'] == 1
    assert values['expedito_batch_errors_total{error_id="ACRF-125"}'] == 1
    assert values['expedito_sftp_logins_refused_total{reason="key"}'] >= 1
    assert values["expedito_sftp_received_bytes_total"] > 0
    assert values["expedito_sftp_sent_bytes_total"] > 0
    assert values["expedito_sync_channels_provisioned"] == 1
    assert values["expedito_sync_cycle_duration_seconds"] >= 0
    assert values['expedito_sync_cycles_total{status="done"}'] >= 1
    assert values["expedito_intake_queue_length"] == 0
    assert "expedito_sftp_sessions" in values


def test_metrics_address_is_checked() -> None:
    assert parse_address("127.0.0.1:9108") == ("127.0.0.1", 9108)
    for bad in ("9108", "host:", "host:99999", ":9108"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_address(bad)


def test_serve_with_metrics(demo: SqliteDatabase, tmp_path: Path) -> None:
    """The real ``expedito serve --metrics``: scraped, then stopped with SIGTERM."""
    db = database_argument()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--db",
            str(db),
            "serve",
            "--homes",
            str(tmp_path / "homes"),
            "--port",
            "0",
            "--metrics",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert child.stdout is not None
        url, shown = None, b""
        deadline = datetime.now() + timedelta(seconds=60)
        while url is None and datetime.now() < deadline:  # raw reads: no line left buffered
            ready, _, _ = select.select([child.stdout], [], [], 1)
            if ready:
                shown += os.read(child.stdout.fileno(), 65536)
                found = re.search(rb"^Metrics: (http://\S+)", shown, re.M)
                url = found.group(1).decode() if found else None
        assert url is not None, f"serve printed no metrics address: {shown!r}"
        values = scrape(url)
        assert values["expedito_sftp_sessions"] == 0
        assert values['expedito_batch_sets_total{result="accepted"}'] == 0
    finally:
        child.terminate()
        assert child.wait(30) == 0
    assert date.today()  # (the clock is the real one here)
