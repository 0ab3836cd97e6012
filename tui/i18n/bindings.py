"""Footer texts in the user's language: a binding with id ``x`` is described by ``key.x``."""

from __future__ import annotations

from dataclasses import replace

from textual.dom import DOMNode

from tui.i18n import has_key, translate


def localize_bindings(node: DOMNode, lang: str) -> None:
    """Replace the descriptions of ``node``'s bindings (its own copy) by the catalogue's."""
    bindings = node._bindings.key_to_bindings
    for key, items in bindings.items():
        bindings[key] = [
            replace(b, description=translate(f"key.{b.id}", lang),
                    tooltip=translate(f"key.{b.id}", lang))
            if b.id and has_key(f"key.{b.id}") else b
            for b in items
        ]


def localize_tree(root: DOMNode, lang: str) -> None:
    """``localize_bindings`` on ``root`` and every node below it."""
    localize_bindings(root, lang)
    for node in root.walk_children(with_self=False):
        localize_bindings(node, lang)
