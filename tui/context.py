"""What every page is built with: who is logged in, in which qualité, in which language; and
what a page or a screen may ask of the app that runs it (``PortalApp``, ``portal_app(node)``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tui.i18n import Translator

if TYPE_CHECKING:  # the login screen uses the handle: nothing heavy on the start-up path
    from textual.dom import DOMNode

    from store.db import Target
    from store.dto import PersonInfo, QualiteInfo, RoleInfo, SenderStatus, SessionInfo
    from tui.backoffice import BackOffice


@runtime_checkable
class PortalApp(Protocol):
    """The app as its pages and screens see it: a typed handle, not ``getattr``.

    ``tui.app.ExpeditoApp`` implements it (mypy checks that where the app is declared); a
    page gets it with ``portal_app(self)`` (``Page.portal_app``).
    """

    @property
    def lang(self) -> str:
        """The interface language (``fr``, ``nl``, ``de``, ``en``)."""
        ...

    @property
    def db_path(self) -> Target | None:
        """The database (a SQLite file, or a PostgreSQL URL), once the store is open (None
        before, or when a test opened it)."""
        ...

    @property
    def store_ready(self) -> threading.Event:
        """Set once the store is open (it opens in a thread after the first paint)."""
        ...

    @property
    def store_error(self) -> str | None:
        """Why the store cannot be opened (one line for the user); None while all is well."""
        ...

    @property
    def back_office(self) -> BackOffice:
        """The services, the schedule and the clock (``tui.backoffice``)."""
        ...

    def start_store(self) -> None:
        """Open the store in a thread (the login screen calls it once painted)."""
        ...

    def portal_pages(self) -> tuple[str, ...]:
        """The page ids the portal's sidebar offers (empty before login)."""
        ...

    def has_other_qualites(self) -> bool:
        """The person logged in has more than one qualité (F3 switches)."""
        ...

    async def open_page(self, page_id: str) -> None: ...

    async def open_person(self, qualite_id: int, person_id: int) -> bool:
        """*Utilisateurs* of ``qualite_id`` (switching to it), the cursor on ``person_id``;
        False when the person logged in has no role in that qualité."""
        ...

    def action_switch_qualite(self) -> None: ...

    async def action_language(self, lang: str) -> None: ...

    def action_help(self) -> None: ...

    async def action_quit(self) -> None: ...

    def unexpected_error(self, error: Exception) -> None:
        """Say that ``error`` happened, and keep the session (the app's guard)."""
        ...


def portal_app(node: DOMNode) -> PortalApp:
    """The app running ``node``; ``TypeError`` if it is not one pages can run in."""
    app = node.app
    if not isinstance(app, PortalApp):
        raise TypeError(f"{type(app).__name__} does not run portal pages")
    return app


@dataclass(frozen=True)
class AppContext:
    """The session, the chosen qualité and role, the language, the sender status.

    Frozen: the shell builds a new one (``with_language`` …) and rebuilds the page when the
    language, the qualité or the sender status changes.
    """

    session: SessionInfo
    role: RoleInfo
    lang: str
    status: SenderStatus | None = None  # None until loaded
    demo: bool = False

    @property
    def person(self) -> PersonInfo:
        return self.session.person

    @property
    def qualite(self) -> QualiteInfo:
        return self.role.qualite

    @property
    def is_manager(self) -> bool:
        return self.role.is_manager

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    def with_language(self, lang: str) -> AppContext:
        return replace(self, lang=lang)

    def with_status(self, status: SenderStatus | None) -> AppContext:
        return replace(self, status=status)

    def with_role(self, role: RoleInfo) -> AppContext:
        return replace(self, role=role, status=None)

    def with_session(self, session: SessionInfo) -> AppContext:
        """A refreshed session (new personal data, roles or password) for the same qualité;
        the role follows what the session now holds for it."""
        role = next((r for r in session.roles if r.qualite.id == self.qualite.id), self.role)
        return replace(self, session=session, role=role)

    def refreshed(self, session: SessionInfo) -> AppContext:
        """New personal data or roles, read again; the session keeps its opening time (only a
        password change renews it, see ``store.personal.change_password``)."""
        return self.with_session(
            replace(session, password_changed_at=self.session.password_changed_at)
        )

    def tr(self, key: str, /, **params: Any) -> str:
        return Translator(self.lang)(key, **params)
