"""Field types the schema needs on both backends."""

from __future__ import annotations

from typing import Any

from peewee import BooleanField


class FlagField(BooleanField):
    """A yes/no kept as INTEGER 0/1, as the schema has it (``sender.active``,
    ``channel_application.preferred``): SQLite has no other kind, and PostgreSQL will not
    put a boolean in an INTEGER column nor compare the two."""

    field_type = "INT"

    def db_value(self, value: Any) -> Any:
        return None if value is None else int(bool(value))
