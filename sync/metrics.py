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

With ``serve --workers N`` the endpoint is the supervisor's: each worker serves its own
figures on a loopback port the supervisor picked, and a scrape of the endpoint reads them all
and adds up the figures each process counts alone (``PER_PROCESS``); those read from the
database, the same in every worker, are given once. ``expedito_workers_answering`` says how
many workers answered (a worker being started again is missing for a second).
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from store.db import db
from store.ops import recent_cycles, set_totals

if TYPE_CHECKING:
    from sync.services import Services

log = logging.getLogger("expedito.metrics")

# the families each process counts alone: added up over the workers of ``serve --workers``
PER_PROCESS = frozenset(
    {
        "expedito_sftp_sessions",
        "expedito_sftp_logins_refused",
        "expedito_sftp_received_bytes",
        "expedito_sftp_sent_bytes",
        "expedito_intake_queue_length",
    }
)
WORKER_SCRAPE_TIMEOUT = 5.0


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


class WorkersCollector(Collector):
    """The figures of the workers at ``addresses()`` (each ``HOST:PORT``), added up."""

    def __init__(self, addresses: Callable[[], list[str]]) -> None:
        self.addresses = addresses

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        sums: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        answered = 0
        for address in self.addresses():
            try:
                url = f"http://{address}/metrics"
                with urllib.request.urlopen(url, timeout=WORKER_SCRAPE_TIMEOUT) as response:
                    text = response.read().decode()
            except (OSError, ValueError) as exc:
                log.warning("metrics: the worker at %s did not answer (%s)", address, exc)
                continue
            answered += 1
            for family in text_string_to_metric_families(text):
                families.setdefault(family.name, family)
                if family.name in PER_PROCESS:
                    added = sums.setdefault(family.name, {})
                    for sample in family.samples:
                        key = (sample.name, tuple(sorted(sample.labels.items())))
                        added[key] = added.get(key, 0.0) + sample.value
        for name, family in families.items():
            if name in PER_PROCESS:
                family = Metric(name, family.documentation, family.type)
                for (sample_name, labels), value in sorted(sums[name].items()):
                    family.add_sample(sample_name, dict(labels), value)
            yield family
        yield GaugeMetricFamily(
            "expedito_workers_answering",
            "Worker processes whose figures this scrape added up",
            value=answered,
        )


def free_loopback_port() -> int:
    """A port nothing listens on at the moment, on 127.0.0.1 (a worker's own endpoint)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MetricsServer:
    """The HTTP endpoint (prometheus-client's own server, in a daemon thread): this process's
    services' figures, or with ``collector`` (``WorkersCollector``) the workers'."""

    def __init__(
        self, services: Services | None, address: str, collector: Collector | None = None
    ) -> None:
        self.host, self.port = parse_address(address)
        self.registry = CollectorRegistry(auto_describe=False)
        if collector is None:
            assert services is not None
            collector = ServicesCollector(services)
        self.registry.register(collector)
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
