"""*Aperçu* shows the service's own certificate (the one that signs each ACRF) and F6 saves
it for the partner's software (80x24)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from textual.pilot import Pilot

from store.democreds import DemoCredentials
from store.service_certificate import publish
from tests.support.pilot import settle
from tests.support.portal import enter_portal
from tests.support.registration import provisioned_account
from tests.support.screen import SIZE, page_text
from tui.app import ExpeditoApp

SnapCompare = Callable[..., bool]


def fixed_service_certificate() -> bytes:
    """A certificate whose bytes never change (Ed25519 signs deterministically; fixed key,
    serial and dates), so its fingerprint can be in a snapshot."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Expedito test service")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1000000000000B7A21DF5C29)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 3, 26, 12, 0, tzinfo=UTC))
        .sign(key, None)
    )
    return cert.public_bytes(Encoding.DER)


@pytest.fixture
def service_der(demo_credentials: DemoCredentials) -> bytes:
    provisioned_account(demo_credentials)
    der = fixed_service_certificate()
    publish(der)
    return der


async def test_apercu_shows_and_saves_the_service_certificate(
    app: ExpeditoApp, service_der: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "apercu")
        text = page_text(pilot)
        assert "Certificat du service (signature des accusés de réception)" in text
        assert "Date d'expiration" in text and "26/03/2040" in text
        # Tab: from the sidebar to the page (taller than the area), Tab: the button
        await pilot.press("tab", "tab")
        assert app.focused is not None and app.focused.id == "save-service-cert"
        await pilot.press("f6")
        await settle(pilot)
        saved = tmp_path / "home" / "expedito-service.cer"
        assert saved.read_bytes() == service_der
        saved.unlink()
        await pilot.press("enter")  # the button itself
        await settle(pilot)
        assert saved.read_bytes() == service_der


async def test_apercu_says_when_the_service_never_started(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    provisioned_account(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter", "apercu")
        assert "Le service n'a pas encore été démarré" in page_text(pilot)


def test_apercu_service_certificate_snapshot(
    snap_compare: SnapCompare, app: ExpeditoApp, service_der: bytes
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await enter_portal(pilot, "dieter", "apercu")
        await pilot.press("tab", "tab")  # to the page, then its button (scrolled into view)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
