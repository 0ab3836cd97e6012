"""The back-office services running on a real SQLite file with the demo sender provisioned:
for the tests of what the service sends back (signed ACRFs), ``batch send``, the reports
and the metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.clock import local_now
from store.democreds import DemoCredentials
from store.models import ACTIVE, Channel
from sync.cycle import CycleResult
from sync.services import ServiceConfig, Services
from tests.support.clock import FakeClock
from tests.support.registration import DEMO_USER, register_demo_sender

USER = DEMO_USER


@dataclass
class Provisioned:
    services: Services
    db_path: Path
    creds: DemoCredentials
    sender_number: int
    sender_id: int
    work: Path

    @property
    def port(self) -> int:
        return self.services.sftp_address[1]

    @property
    def home(self) -> Path:
        return self.services.config.homes_root / USER


def provisioned_services(
    creds: DemoCredentials, tmp_path: Path, **config: object
) -> Iterator[Provisioned]:
    """Register the demo sender (pending), start the services with a fake clock after the
    registration (the first cycle provisions the channel), yield, stop them."""
    overview = register_demo_sender(creds, now=local_now() - timedelta(minutes=5))
    base = ServiceConfig(
        homes_root=tmp_path / "homes",
        port=0,
        clock=FakeClock(datetime.now(UTC)),
        host_key_path=tmp_path / "host_key",
    )
    with provisioning(replace(base, **config)) as services:  # type: ignore[arg-type]
        assert overview.sender is not None
        yield Provisioned(
            services,
            tmp_path / "expedito.sqlite3",
            creds,
            overview.sender.number,
            overview.sender.id,
            tmp_path,
        )


@contextmanager
def provisioning(config: ServiceConfig) -> Iterator[Services]:
    """``config``'s services started in a thread, yielded once their first cycle provisioned
    the channel registered just before (30 s at most); stopped at the end."""
    services = Services(config)
    cycled = threading.Event()
    results: list[CycleResult] = []

    def done(result: CycleResult) -> None:
        results.append(result)
        cycled.set()

    services.worker.add_listener(done)
    services.start_in_thread()
    try:
        assert cycled.wait(30), "no synchronisation cycle"
        assert results[0].provisioned == 1
        assert Channel.get().status == ACTIVE
        yield services
    finally:
        services.stop_in_thread()
