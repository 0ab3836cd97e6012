"""Each widget's background worked out once a frame (``tui.widgets.frame_colours``): the
colours are Textual's own, on every page, with the page area's tint and under a dialog; a
frame no longer walks each widget's ancestors to get them."""

from __future__ import annotations

import pytest
from textual.dom import DOMNode
from textual.widget import Widget

from screens.base import Page
from tests.support.pilot import settle
from tests.support.portal import enter_portal, open_page
from tests.support.screen import SIZE
from tui.app import ExpeditoApp
from tui.widgets import frame_colours
from tui.widgets.dialogs import HelpDialog

PAGES = ("accueil", "utilisateurs", "detail_qualite", "donnees_personnelles", "certificat")


def _same_as_textual(root: Widget) -> int:
    """Compare, for every widget under ``root`` (``root`` included), the frame's colours with
    Textual's own; returns how many were compared."""
    textual_background = frame_colours._textual["background_colors"]
    textual_opacity = frame_colours._textual["opacity"]
    widgets = [root, *root.query("*")]
    frame_colours._frame = {}
    try:
        for widget in widgets:
            beneath, own, opacity = frame_colours.colours(widget)
            assert (beneath, own) == textual_background(widget), widget
            assert opacity == pytest.approx(textual_opacity(widget)), widget
    finally:
        frame_colours._frame = None
    return len(widgets)


async def test_a_frame_s_colours_are_textual_s_own(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        for page_id in PAGES:
            await open_page(pilot, page_id)
            assert _same_as_textual(portal) > 20
        await open_page(pilot, "accueil")
        portal.query_one("#page-area").focus()  # tinted while it has the keyboard
        await settle(pilot)
        assert portal.query_one("#page-area").has_focus
        _same_as_textual(portal)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        _same_as_textual(app.screen)


async def test_a_frame_walks_no_widget_s_ancestors_for_its_colours(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Composing a page's frame asks each node's colours once, from its parent's: Textual
    walked every widget's ancestors from the app down, twice (background, opacity)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot, page="donnees_personnelles")
        assert isinstance(portal.page, Page) and portal.page.page_id == "donnees_personnelles"
        walked: list[DOMNode] = []
        ancestors = DOMNode.ancestors_with_self

        def counted(self: DOMNode) -> list[DOMNode]:
            walked.append(self)
            return ancestors.fget(self)  # type: ignore[attr-defined]

        monkeypatch.setattr(DOMNode, "ancestors_with_self", property(counted))
        portal._compositor.render_update(full=True)
        shown = len(portal._compositor.visible_widgets)
        assert shown > 30
        assert len(walked) < shown // 4, (len(walked), shown)
        assert frame_colours._frame is None  # Textual's own properties again out of a frame
