"""Text as people search it: without accents nor case (``Déjà`` → ``deja``, ``MÜLLER`` →
``muller``). A person's folded names, login and e-mail are kept in ``Person.search_text``,
so a search compares one column with folded words (``store.users.search_persons``)."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """``text`` lower-cased (Unicode case folding) with its accents and other combining
    marks removed; ``None`` gives ''."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def person_search_text(last_name: str, first_name: str, login: str, email: str) -> str:
    """What a search looks in: the four fields folded, one space apart (a search word has
    no space, so it never spans two fields)."""
    return " ".join(fold(part) for part in (last_name, first_name, login, email))
