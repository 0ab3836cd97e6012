"""The overview at 80x24 and the back office: a pending channel turns "actif" by itself when a
cycle completes, the next synchronisation agrees with the header's countdown, and the SFTP
server's address and host key fingerprint show (or that the server never started)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store.db import Target
from store.democreds import DemoCredentials
from sync.cycle import run_cycle
from sync.hostkey import host_key_fingerprints, load_or_create_host_keys
from sync.services import ServiceConfig
from tests.support.clock import FROZEN, FakeClock, frozen_countdown, frozen_day
from tests.support.pilot import settle
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.registration import register_demo_sender
from tests.support.screen import SIZE, page_text, shown
from tests.support.serving import serving_app
from tui.app import ExpeditoApp, startup_app
from tui.cli import build_parser, main
from tui.startup import Startup

PENDING_TEXT = "La configuration pour la création du canal est en cours"


async def test_the_pending_channel_turns_active_without_a_key(
    app: ExpeditoApp, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    clock = app.back_office.clock
    assert isinstance(clock, FakeClock)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "apercu")
        await settle(pilot)
        text = page_text(pilot)
        assert PENDING_TEXT in text and "Statut : en cours de configuration" in text
        assert shown(pilot, "#next-sync-sftp") == "Prochaine synchronisation à 14:30"
        assert shown(pilot, "#countdown").startswith("Synchro 14:30")
        # 14:30 and no cycle yet: the line follows the header's tick to the next slot
        clock.set(frozen_day(14, 30, 3))
        app.tick_countdown()
        await settle(pilot)
        assert shown(pilot, "#next-sync-sftp") == "Prochaine synchronisation à 15:00"
        assert PENDING_TEXT in page_text(pilot)
        # 'expedito serve' (here: the cycle itself, with the fake time) runs the slot…
        result = run_cycle(frozen_day(14, 30), tmp_path / "homes", clock.now, owner="serve")
        assert (result.status, result.provisioned) == ("done", 1)
        clock.advance(seconds=2)
        app.tick_countdown()  # …and the app's poll sees it: no key pressed
        await settle(pilot)
        text = page_text(pilot)
        assert "Statut : actif" in text
        assert PENDING_TEXT not in text and not app.screen.query("#next-sync-sftp")


async def test_a_hidden_canal_page_reloads_too(
    app: ExpeditoApp, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    clock = app.back_office.clock
    assert isinstance(clock, FakeClock)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "canal_sftp")
        await settle(pilot)
        assert PENDING_TEXT in page_text(pilot)
        assert shown(pilot, "#next-sync-sftp") == "Prochaine synchronisation à 14:30"
        await choose_in_menu(pilot, "apercu")  # the Canal page is kept, hidden
        await settle(pilot)
        clock.set(frozen_day(14, 30, 3))
        run_cycle(frozen_day(14, 30), tmp_path / "homes", clock.now, owner="serve")
        app.tick_countdown()
        await settle(pilot)
        assert "Statut : actif" in page_text(pilot)
        await choose_in_menu(pilot, "canal_sftp")
        await settle(pilot)
        assert "Statut : actif" in page_text(pilot) and PENDING_TEXT not in page_text(pilot)


def _no_serve_app(tmp_path: Path) -> ExpeditoApp:
    """``expedito --no-serve``: the services' configuration known, the services not run."""

    def config(db_path: Target | None) -> ServiceConfig:
        return ServiceConfig(
            homes_root=tmp_path / "homes", port=8022, host_key_path=tmp_path / "host_key"
        )

    return ExpeditoApp(
        demo=True, ansi=False, serve=False, service_config=config, **frozen_countdown()
    )


async def test_the_overview_shows_the_sftp_server_and_its_fingerprint(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    load_or_create_host_keys(tmp_path / "host_key")  # made by an earlier 'expedito serve'
    ed25519, rsa = host_key_fingerprints(tmp_path / "host_key")
    assert ed25519.startswith("ssh-ed25519 SHA256:") and rsa.startswith("ssh-rsa SHA256:")
    app = _no_serve_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "apercu")
        await settle(pilot)
        assert shown(pilot, "#sftp-server") == (
            "Serveur SFTP : 127.0.0.1:8022\n"
            f"Empreintes des clés du serveur SFTP :\n  {ed25519}\n  {rsa}"
        )


async def test_no_host_key_yet_says_the_server_never_started(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    app = _no_serve_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "apercu")
        await settle(pilot)
        assert shown(pilot, "#sftp-server") == (
            "Serveur SFTP : 127.0.0.1:8022\n"
            "Le serveur SFTP n'a pas encore été démarré : l'empreinte de sa clé sera "
            "affichée ici"
        )
    assert not (tmp_path / "host_key").exists()  # the page never makes one


async def test_the_serving_app_shows_its_own_server(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    register_demo_sender(demo_credentials)
    app, port = serving_app(tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            services = app.back_office.services
            assert services is not None and app.back_office.sftp_error is None
            await enter_portal(pilot)
            await choose_in_menu(pilot, "apercu")
            await settle(pilot)
            assert shown(pilot, "#sftp-server") == (
                f"Serveur SFTP : 127.0.0.1:{port}\n"
                "Empreintes des clés du serveur SFTP :\n"
                + "\n".join(f"  {line}" for line in services.host_key_fingerprints)
            )
            assert len(services.host_key_fingerprints) == 2
    finally:
        app.back_office.stop()


async def test_the_period_on_the_command_line_reaches_the_overview(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """``expedito --period 1``: one schedule, read from the command line, for the countdown,
    the overview's next synchronisation and the services' configuration."""
    register_demo_sender(demo_credentials)
    db_path = tmp_path / "expedito.sqlite3"  # the demo fixture's database
    args = build_parser().parse_args(["--db", str(db_path), "--no-serve", "--period", "1"])
    startup = Startup.from_args(args)
    assert startup.service_config(db_path).schedule is startup.schedule
    app = startup_app(startup, clock=FakeClock(FROZEN))
    next_minute = f"{(FROZEN.replace(second=0) + timedelta(minutes=1)).astimezone():%H:%M}"
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "apercu")
        await settle(pilot)
        assert shown(pilot, "#countdown").startswith(f"Synchro {next_minute}")
        assert shown(pilot, "#next-sync-sftp") == f"Prochaine synchronisation à {next_minute}"


def test_a_period_that_does_not_divide_an_hour_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--no-serve", "--period", "25"]) == 2
    assert capsys.readouterr().err == "expedito: the period must divide 60 minutes, not 25\n"
