"""What every page is built with: who is logged in, in which qualité, in which language."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from store.dto import PersonInfo, QualiteInfo, RoleInfo, SenderStatus, SessionInfo
from tui.i18n import Translator


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
        return self.with_session(replace(session,
                                          password_changed_at=self.session.password_changed_at))

    def tr(self, key: str, /, **params: Any) -> str:
        return Translator(self.lang)(key, **params)
