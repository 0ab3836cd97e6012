"""The app as plain ``expedito`` runs it: the back office (worker, SFTP server, intake) in its
own process, on a free loopback port, its countdown frozen (``tests.support.clock``)."""

from __future__ import annotations

from pathlib import Path

from store.db import Target
from sync.services import ServiceConfig
from tests.support.clock import frozen_countdown
from tests.support.network import free_port
from tui.app import ExpeditoApp


def serving_app(tmp_path: Path) -> tuple[ExpeditoApp, int]:
    """The app and its SFTP port (homes and host key in ``tmp_path``); stop its services with
    ``app.back_office.stop()``."""
    port = free_port()
    frozen = frozen_countdown()

    def config(db_path: Target | None) -> ServiceConfig:
        return ServiceConfig(
            homes_root=tmp_path / "homes",
            port=port,
            host_key_path=tmp_path / "host_key",
            schedule=frozen["schedule"],
        )

    return ExpeditoApp(demo=True, ansi=False, serve=True, service_config=config, **frozen), port
