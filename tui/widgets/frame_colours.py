"""Each widget's background worked out once a frame, from its parent's, not from the root.

To draw a widget into a frame, Textual asks for its background (``DOMNode.background_colors``:
the colour beneath it and its own, its ancestors' backgrounds laid over one another) and its
opacity (``Widget.opacity``), and works both out by walking every ancestor from the app down:
for a form's input, nine nodes, each asked for three style rules. With 20 to 45 widgets on a
page, it was a quarter of the time the frame that shows a page spends composing it, and
1-2 ms of a page switch (``bench/startup.py``, alternated walks).

``install()`` makes that walk once per node and per frame: while the compositor composes a
frame (``Compositor._render_chops``), a node's colours come from its parent's, kept until
the frame is composed. The arithmetic is Textual's own (8.2.8), step by step. Nothing
changes a style while a frame is composed (it is a reading pass: a change made then asks
for another frame, as ever); out of a frame, both properties are Textual's, untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual._compositor import Compositor
from textual.color import Color
from textual.dom import DOMNode
from textual.widget import Widget

TRANSPARENT = Color(0, 0, 0, 0)

_frame: dict[DOMNode, tuple[Color, Color, float]] | None = None
"""While a frame is composed: node → (colour beneath it, its own colour, its opacity)."""
_depth = 0
_textual: dict[str, Callable[..., Any]] = {}


def colours(node: DOMNode) -> tuple[Color, Color, float]:
    """``node``'s background beneath it, its own background and its opacity, as Textual's
    ``background_colors`` and ``opacity`` work them out, from its parent's (kept for the
    frame)."""
    assert _frame is not None
    got = _frame.get(node)
    if got is None:
        parent = node._parent
        if isinstance(parent, DOMNode):
            _, background, opacity = colours(parent)
        else:
            background, opacity = TRANSPARENT, 1.0
        styles = node.styles
        opacity *= styles.opacity
        tinted = styles.background.tint(styles.background_tint)
        got = _frame[node] = (background, background + tinted.multiply_alpha(opacity), opacity)
    return got


def _background_colors(node: DOMNode) -> tuple[Color, Color]:
    if _frame is None:
        return _textual["background_colors"](node)
    beneath, own, _opacity = colours(node)
    return beneath, own


def _opacity(widget: Widget) -> float:
    if _frame is None:
        return _textual["opacity"](widget)
    return colours(widget)[2]


def _render_chops(compositor: Compositor, *args: Any, **kwargs: Any) -> Any:
    global _frame, _depth
    if _depth == 0:
        _frame = {}
    _depth += 1
    try:
        return _textual["render_chops"](compositor, *args, **kwargs)
    finally:
        _depth -= 1
        if _depth == 0:
            _frame = None


def install() -> None:
    """Once per process (later calls do nothing)."""
    if _textual:
        return
    _textual["background_colors"] = DOMNode.background_colors.fget  # type: ignore[attr-defined]
    _textual["opacity"] = Widget.opacity.fget  # type: ignore[attr-defined]
    _textual["render_chops"] = Compositor._render_chops
    DOMNode.background_colors = property(_background_colors)  # type: ignore[assignment,method-assign]
    Widget.opacity = property(_opacity)  # type: ignore[assignment,method-assign]
    Compositor._render_chops = _render_chops  # type: ignore[method-assign,assignment]
