"""What a key does, in the user's language: a binding with id ``x`` is described by the
catalogue's ``key.x``. The footer and F1 ask here when they draw a key; the bindings
themselves are left as their classes declare them (no copy is rewritten per language)."""

from __future__ import annotations

from textual.binding import Binding

from tui.i18n import has_key, translate


def describe(binding: Binding, lang: str) -> str:
    """The description of ``binding`` in ``lang`` (its own, when the catalogue has none).
    Textual's own bindings have no id: their English description is the key
    (``textual_key.Dismiss menu``, the drop-down's Escape)."""
    if binding.id and has_key(f"key.{binding.id}"):
        return translate(f"key.{binding.id}", lang)
    if has_key(f"textual_key.{binding.description}"):
        return translate(f"textual_key.{binding.description}", lang)
    return binding.description
