"""The back-office services together: the sync worker, the SFTP server and the batch intake.

``expedito serve`` runs them alone; the app runs them in its own process unless
``--no-serve``. Use from a running asyncio loop::

    services = Services(ServiceConfig(homes_root=..., port=8022))
    await services.start()          # worker task on this loop, SFTP server in threads
    services.worker.seconds_to_next()
    await services.stop()

or from plain threads: ``services.start_in_thread()`` / ``services.stop_in_thread()`` (the
worker then gets a loop of its own in a daemon thread). The database must already be open
(``store.db.open_database``).

``services.intake`` checks and acknowledges the sets closed on the server (the server's
``on_upload`` hook feeds it; ``config.on_upload``, if given, is called after it). At start it
looks in the home of every provisioned account for GO and TD files left while no intake ran
(or by a crash half-way through a set), before the server accepts anyone. The spool
(accepted and rejected sets) is ``config.spool_root``, by default ``intake`` next to the
homes.

``start_services_or_worker`` is the app's way in: when the SFTP port is taken (an
``expedito serve`` already runs, or another program), it runs the worker alone, so the
countdown and the cycle notifications still work.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from store.accounts import Account
from store.clock import Now, local_now
from store.db import data_dir
from store.service_certificate import publish as publish_certificate
from sync.cycle import LEASE
from sync.homes import default_homes_root
from sync.hostkey import HOST_KEY_NAME, describe, load_or_create_host_keys
from sync.intake.service import Intake
from sync.limits import ServerLimits
from sync.openssh.accounts import SystemAccounts
from sync.openssh.front import SCAN_SECONDS, SETTLE_SECONDS, OpenSSHFront
from sync.proxy_protocol import Network
from sync.schedule import Clock, Schedule, domain_time
from sync.service_signer import (
    SERVICE_CERT_NAME,
    SERVICE_KEY_NAME,
    ServiceSigner,
    load_or_create_service_signer,
)
from sync.sftp_fs import UploadHook, no_upload_hook
from sync.sftp_server import SFTPService
from sync.worker import Listener, SyncWorker

log = logging.getLogger("expedito.services")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8022
EMBEDDED, OPENSSH = "embedded", "openssh"
FRONTS = (EMBEDDED, OPENSSH)


@dataclass
class ServiceConfig:
    homes_root: Path = field(default_factory=default_homes_root)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port (see Services.sftp_address)
    schedule: Schedule = field(default_factory=Schedule)  # the one from the command line
    host_key_path: Path = field(default_factory=lambda: data_dir() / HOST_KEY_NAME)
    limits: ServerLimits = field(default_factory=ServerLimits)
    on_upload: UploadHook = no_upload_hook
    clock: Clock | None = None
    lease: timedelta = LEASE
    serve_sftp: bool = True
    run_worker: bool = True
    run_intake: bool = True
    spool_root: Path | None = None  # None: ``intake`` next to the homes
    # The service's signing certificate and key (``sync.service_signer``); None: next to the
    # host key, made on first start. Given by the operator, they must exist.
    service_cert_path: Path | None = None
    service_key_path: Path | None = None
    # The SFTP front: ``embedded`` (the paramiko server, the default) or ``openssh`` (sshd +
    # internal-sftp serve; see ``sync.openssh``): then ``system_accounts`` keeps the accounts.
    front: str = "embedded"
    system_accounts: SystemAccounts | None = None
    # the OpenSSH front's key files (``sync.openssh.keyfiles``); None: beside the homes
    keys_dir: Path | None = None
    # SO_REUSEPORT on the SFTP port: this process is one of the N of ``serve --workers N``
    reuse_port: int = 0
    # TCP balancers whose connections start with a PROXY header (``sync.proxy_protocol``)
    proxy_sources: tuple[Network, ...] = ()
    # the intake looks in every home at start and each minute (False: only what this server
    # receives; the other workers of ``serve --workers`` leave the scans to the first)
    scan_homes: bool = True

    def service_signer_paths(self) -> tuple[Path, Path, bool]:
        """The certificate and key paths, and whether they are made when missing."""
        folder = self.host_key_path.parent
        given = self.service_cert_path is not None
        return (
            self.service_cert_path or folder / SERVICE_CERT_NAME,
            self.service_key_path or folder / SERVICE_KEY_NAME,
            not given,
        )


class Services:
    """The worker and the SFTP server, started and stopped together."""

    def __init__(self, config: ServiceConfig | None = None) -> None:
        self.config = config or ServiceConfig()
        if self.config.front == OPENSSH:  # sshd serves; the intake follows the folders
            self.config = replace(self.config, serve_sftp=False)
        self.worker = SyncWorker(
            self.config.homes_root, self.config.schedule, self.config.clock, lease=self.config.lease
        )
        self.signer: ServiceSigner = load_or_create_service_signer(
            *self.config.service_signer_paths()
        )
        self.intake = Intake(
            self.config.homes_root,
            self.config.spool_root,
            now=self._intake_now(),
            signer=self.signer.sign,
            settle=SETTLE_SECONDS if self.config.front == OPENSSH else 0.0,
        )
        self.openssh: OpenSSHFront | None = None
        if self.config.front == OPENSSH:
            if self.config.system_accounts is None:
                raise ValueError("the OpenSSH front needs a way to keep the system accounts")
            self.openssh = OpenSSHFront(
                self.config.homes_root,
                self.config.system_accounts,
                self.intake if self.config.run_intake else None,
                keys_dir=self.config.keys_dir,
            )
            if not self.openssh.follows:
                self.intake.rescan = SCAN_SECONDS
        if not self.config.scan_homes:
            self.intake.rescan = None
        self.host_keys = load_or_create_host_keys(self.config.host_key_path)
        self.sftp = SFTPService(
            self.config.homes_root,
            self.host_keys,
            self.config.host,
            self.config.port,
            self.config.limits,
            self._on_upload,
            reuse_port=self.config.reuse_port,
            proxy_sources=self.config.proxy_sources,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False

    def _intake_now(self) -> Now:
        """The intake dates sets and checks file dates by the services' clock (naive local)."""
        clock, tz = self.config.clock, self.config.schedule.tz
        if clock is None:
            return local_now
        return lambda: domain_time(clock.now(), tz)

    @property
    def host_key_fingerprints(self) -> tuple[str, ...]:
        """``ssh-ed25519 SHA256:…``, ``ssh-rsa SHA256:…``: printed at start, on the overview."""
        return tuple(describe(key) for key in self.host_keys)

    @property
    def sftp_address(self) -> tuple[str, int]:
        return self.sftp.address

    def _on_upload(self, account: Account, path: Path) -> None:
        """The SFTP server's hook (session thread): queue GO/TD files for the intake."""
        if self.config.run_intake:
            self.intake.on_upload(account, path)
        self.config.on_upload(account, path)

    def scan_homes(self) -> int:
        """Queue the GO and TD files already in the provisioned homes (blocking: database,
        file system); returns how many were found."""
        found = self.intake.scan_all()
        if found:
            log.info("intake: %d set(s) closed while no intake ran, queued", found)
        return found

    async def start(self) -> None:
        """On a running loop: the SFTP server in its threads, the intake's thread (and its
        start-up scan), the worker as a task. Nothing is left running if a part fails (the
        SFTP port taken: ``OSError``). The port is taken first: a second copy of Expedito
        whose port is taken must not touch the homes the first one's intake is working on."""
        self.config.homes_root.mkdir(parents=True, exist_ok=True)
        sftp_started = False
        try:
            if self.config.serve_sftp:
                await asyncio.to_thread(self.sftp.start)  # uploads wait in the intake's queue
                sftp_started = True
            if self.config.run_intake:  # the intake signs: its certificate is the one
                await asyncio.to_thread(publish_certificate, self.signer.der)
                self.intake.start()
                if self.config.scan_homes:
                    await asyncio.to_thread(self.scan_homes)
            if self.openssh is not None:
                await asyncio.to_thread(self.openssh.start)
        except BaseException:
            if sftp_started:
                await asyncio.to_thread(self.sftp.stop)
            await asyncio.to_thread(self.intake.stop)
            raise
        if self.config.run_worker:
            self.worker.start()
        self._started = True

    async def stop(self) -> None:
        """Stop taking uploads, stop the worker, then let the intake finish its queue."""
        if self._started and self.config.serve_sftp:
            await asyncio.to_thread(self.sftp.stop)
        if self._started and self.openssh is not None:
            await asyncio.to_thread(self.openssh.stop)
        await self.worker.stop()
        if self._started and self.config.run_intake:
            await asyncio.to_thread(self.intake.stop)
        self._started = False

    async def run_forever(self) -> None:
        """Start, wait until cancelled, stop (``expedito serve``)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    # Without a loop of one's own ----------------------------------------------------------

    def start_in_thread(self) -> None:
        """Run everything on a private loop in a daemon thread; returns once started."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                loop.close()
                self._loop = None
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=main, name="expedito-services", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def stop_in_thread(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._thread = self._loop = None


def start_services_or_worker(
    config: ServiceConfig,
    listener: Listener | None = None,
) -> tuple[Services, OSError | None]:
    """Start everything in a thread; if the SFTP server cannot listen (``OSError``: the port
    is taken, most likely by an ``expedito serve`` on the same database), start the worker
    alone (no server, no intake: whoever holds the port receives the uploads) and return
    the error with it. ``listener`` is added to the worker before it starts (its first
    cycle, a missed slot, may complete at once)."""

    def build(config: ServiceConfig) -> Services:
        services = Services(config)
        if listener is not None:
            services.worker.add_listener(listener)
        return services

    try:
        services = build(config)
        services.start_in_thread()
        return services, None
    except OSError as exc:
        log.warning("SFTP server not started (%s): running the sync worker alone", exc)
        services = build(replace(config, serve_sftp=False, run_intake=False))
        services.start_in_thread()
        return services, exc
