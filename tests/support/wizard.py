"""The registration wizard's steps filled by keys: the contact person, the channel's files and
applications."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from tests.support.pilot import settle, type_in


async def fill_contact(
    pilot: Pilot[None],
    *,
    last: str = "Expéditeur",
    first: str = "Didier",
    function: str = "IT",
    phone: str = "025455078",
    email: str = "batch@eranova.fgov.be",
    typed: bool = False,
) -> None:
    """Focus is on Nom: fill each field, Tab between them (Titre and Régime keep Mr/Français);
    ``typed``: key by key, else pasted."""
    for value, tabs in ((last, 1), (first, 2), (function, 2), (phone, 3), (email, 0)):
        await type_in(pilot, value, paste=not typed)
        if tabs:
            await pilot.press(*["tab"] * tabs)


async def load_channel(
    pilot: Pilot[None],
    key: Path | str | None,
    cert: Path | str | None,
    downs: tuple[int, ...] = (0, 3),
    typed: bool = False,
) -> None:
    """Focus is on the key's path: give the paths (Enter loads), tick applications by index."""
    if key is not None:
        await type_in(pilot, str(key), paste=not typed)
        await pilot.press("enter")
        await settle(pilot)
    await pilot.press("tab", "tab")
    if cert is not None:
        await type_in(pilot, str(cert), paste=not typed)
        await pilot.press("enter")
        await settle(pilot)
    await pilot.press("tab", "tab")
    position = 0
    for index in downs:
        await pilot.press(*["down"] * (index - position), "space")
        position = index
