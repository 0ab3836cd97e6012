"""Prometheus metrics of the back-office services (``expedito serve --metrics HOST:PORT``).

Read when scraped, from the running services and the database: nothing is counted twice and
nothing runs between scrapes. What is served:

- ``expedito_sftp_sessions``: SFTP sessions open (logged in) on this process (with the
  OpenSSH front: the sessions sshd serves, ``sync.openssh.sessions``);
- ``expedito_sftp_logins_refused_total{reason}``: refused logins and connections
  (``sync.stats``: key, signature, password, banned, startups, sessions, home);
- ``expedito_sftp_received_bytes_total`` / ``expedito_sftp_sent_bytes_total``;
- ``expedito_batch_sets_total{result}`` and ``expedito_batch_errors_total{error_id}``: sets
  recorded in the database (every node's), by result and by ErrorID;
- ``expedito_sync_cycle_duration_seconds`` and ``expedito_sync_channels_provisioned``: the
  latest finished cycle; ``expedito_sync_cycles_total{status}``;
- ``expedito_intake_queue_length``: GO/TD files queued or waiting for a retry here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from store.db import db
from store.ops import recent_cycles, set_totals

if TYPE_CHECKING:
    from sync.services import Services

log = logging.getLogger("expedito.metrics")


class ServicesCollector(Collector):
    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        sftp = self.services.sftp
        front = self.services.openssh  # sshd's sessions (/proc) when OpenSSH serves
        yield GaugeMetricFamily(
            "expedito_sftp_sessions",
            "SFTP sessions open (logged in)",
            value=len(front.live_sessions() if front is not None else sftp.live_sessions()),
        )
        refused = CounterMetricFamily(
            "expedito_sftp_logins_refused",
            "Logins and connections refused, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(sftp.stats.refusals().items()):
            refused.add_metric([reason], count)
        yield refused
        received, sent = sftp.bytes_moved()
        yield CounterMetricFamily(
            "expedito_sftp_received_bytes", "SFTP bytes received from clients", value=received
        )
        yield CounterMetricFamily(
            "expedito_sftp_sent_bytes", "SFTP bytes sent to clients", value=sent
        )
        yield GaugeMetricFamily(
            "expedito_intake_queue_length",
            "GO and TD files queued or waiting for a retry",
            value=self.services.intake.queue_length,
        )
        try:
            with db.connection_context():
                yield from self._from_database()
        except Exception:  # a scrape never takes the server down
            log.exception("metrics: the database could not be read")

    def _from_database(self) -> Iterator[Metric]:
        totals = set_totals()
        sets = CounterMetricFamily(
            "expedito_batch_sets", "Sets recorded, by result", labels=["result"]
        )
        for result in ("accepted", "rejected", "cancelled", "pending"):
            sets.add_metric([result], totals.by_result.get(result, 0))
        yield sets
        errors = CounterMetricFamily(
            "expedito_batch_errors", "ErrorIDs of the rejected sets", labels=["error_id"]
        )
        for code, count in sorted(totals.by_error.items()):
            errors.add_metric([code], count)
        yield errors
        cycles = recent_cycles(200)
        statuses: dict[str, int] = {}
        for cycle in cycles:
            statuses[cycle.status] = statuses.get(cycle.status, 0) + 1
        by_status = CounterMetricFamily(
            "expedito_sync_cycles",
            "Synchronisation cycles (the latest 200), by status",
            labels=["status"],
        )
        for status, count in sorted(statuses.items()):
            by_status.add_metric([status], count)
        yield by_status
        finished = next((c for c in cycles if c.seconds is not None), None)
        yield GaugeMetricFamily(
            "expedito_sync_cycle_duration_seconds",
            "Duration of the latest finished cycle",
            value=finished.seconds if finished and finished.seconds is not None else 0.0,
        )
        yield GaugeMetricFamily(
            "expedito_sync_channels_provisioned",
            "Channels provisioned by the latest finished cycle",
            value=finished.provisioned if finished else 0,
        )


def parse_address(text: str) -> tuple[str, int]:
    """``127.0.0.1:9108`` → (host, port); ValueError with one line for the user."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--metrics {text!r}: HOST:PORT, e.g. 127.0.0.1:9108")
    return host.strip("[]"), int(port)


class MetricsServer:
    """The HTTP endpoint (prometheus-client's own server, in a daemon thread)."""

    def __init__(self, services: Services, address: str) -> None:
        self.host, self.port = parse_address(address)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ServicesCollector(services))
        self._server: object | None = None

    def start(self) -> tuple[str, int]:
        server, _thread = start_http_server(self.port, self.host, registry=self.registry)
        self._server = server
        host, port = server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        server = self._server
        self._server = None
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
