"""The operator's own keys: ``keymap.toml`` in the user's configuration directory maps binding
ids to keys, for terminals that eat some (F1 and F10 in GNOME Terminal, F-keys over some SSH
clients, tmux's prefix)::

    # ~/.config/expedito/keymap.toml
    "app.help" = "f11"            # F1 opens the terminal's own help
    "app.quit" = "f12,ctrl+q"     # several keys: comma-separated
    [shell]
    sidebar = "m"                 # a table is a prefix: shell.sidebar

Every binding has an id (the catalogue's ``key.<id>`` holds its description, so the ids a file
may name are those). The keymap is handed to Textual (``App.set_keymap``): the footer and F1
show the keys it gives. A bad entry is left out and reported in one line; the app starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tui.i18n import DEFAULT_LANGUAGE, texts

KEYMAP_FILE = "keymap.toml"
# Bindings that share a key in one place, one used where the other is not (Suivant on every
# step of the wizard, Confirmer on the last): a key given to one goes to the other too, or
# Textual, replacing the first, would leave the second without a key.
TOGETHER: tuple[tuple[str, ...], ...] = (("wizard.next", "wizard.confirm"),)
_KEY = re.compile(r"^(?:(?:ctrl|shift|alt|meta|super)\+)*(?:[a-z0-9_]+|[^\sa-z0-9_,+])$")


@dataclass(frozen=True)
class Keymap:
    """The keys read (binding id → keys, Textual's form) and the entries left out."""

    keys: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    path: Path | None = None


def keymap_path() -> Path:
    """``keymap.toml`` in the user's configuration directory (platformdirs)."""
    from platformdirs import user_config_path

    return user_config_path("expedito") / KEYMAP_FILE


def binding_ids() -> frozenset[str]:
    """Every binding id of the app: the catalogue describes each as ``key.<id>``."""
    return frozenset(
        key.removeprefix("key.") for key in texts(DEFAULT_LANGUAGE) if key.startswith("key.")
    )


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _keys(value: object) -> str | None:
    """Textual's form of a key list ("f11,ctrl+q"), or None when it is not one."""
    if not isinstance(value, str):
        return None
    keys = [key.strip().lower() for key in value.split(",")]
    if not keys or not all(_KEY.match(key) for key in keys):
        return None
    return ",".join(keys)


def parse_keymap(text: str, path: Path | None = None) -> Keymap:
    """The keymap in ``text`` (TOML): unknown ids and unreadable keys are left out, each
    named in ``problems``."""
    import tomllib  # only when there is a file: 150 KiB for every app otherwise

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Keymap(problems=(f"not TOML ({exc})",), path=path)
    known = binding_ids()
    keys: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in _flatten(data).items():
        if binding_id not in known:
            problems.append(f"{binding_id!r} is no key id")
        elif (given := _keys(value)) is None:
            problems.append(f"{binding_id} = {value!r} is no key")
        else:
            keys[binding_id] = given
    for group in TOGETHER:
        given_key = next((keys[i] for i in group if i in keys), None)
        if given_key is not None:
            for binding_id in group:
                keys.setdefault(binding_id, given_key)
    return Keymap(keys, tuple(problems), path)


def load_keymap(path: Path | None = None) -> Keymap:
    """The keymap of ``path`` (default: ``keymap_path()``); none when there is no file."""
    path = keymap_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Keymap(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        return Keymap(problems=(f"unreadable ({exc})",), path=path)
    return parse_keymap(text, path)
