"""Keys of one's own (issue 18): every binding has an id; ``keymap.toml`` maps ids to keys,
applied with Textual's keymap, shown in the footer and in F1; a bad entry is said in one line
and the app starts."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

import screens
import tui
from tests.support.clock import frozen_countdown
from tests.support.pilot import settle
from tests.support.portal import enter_portal
from tests.support.screen import SIZE
from tui.app import ExpeditoApp
from tui.i18n import has_key
from tui.keymap import TOGETHER, binding_ids, load_keymap, parse_keymap
from tui.widgets.dialogs import HelpDialog
from tui.widgets.footer import PortalFooter


def _all_node_classes() -> list[type[DOMNode]]:
    for package in (tui, screens):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: list[type[DOMNode]] = []
    todo: list[type[DOMNode]] = [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in ("tui", "screens"):
            found.append(cls)
    return found


def test_every_binding_has_an_id_described_in_every_language() -> None:
    classes = _all_node_classes()
    assert len(classes) > 30
    ids: set[str] = set()
    for cls in classes:
        by_key: dict[str, set[str]] = {}
        for binding in cls.__dict__.get("BINDINGS", []):
            assert isinstance(binding, Binding), (cls, binding)
            assert binding.id, f"{cls.__name__}: {binding.key} has no id"
            assert has_key(f"key.{binding.id}"), binding.id
            ids.add(binding.id)
            for key in binding.key.split(","):
                by_key.setdefault(key.strip(), set()).add(binding.id)
        for key, shared in by_key.items():
            if len(shared) > 1:  # a keymap must move them together
                assert tuple(sorted(shared)) in {tuple(sorted(g)) for g in TOGETHER}, (cls, key)
    assert ids <= binding_ids()


def test_a_keymap_file_reads_ids_tables_and_reports_bad_entries(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text(
        '"app.help" = "F11"\napp.quit = "f12, ctrl+x"\n'
        '"app.hlep" = "f9"\n"shell.home" = ""\n"shell.back" = 3\n'
        '[wizard]\nnext = "f5"\n',
        encoding="utf-8",
    )
    keymap = load_keymap(path)
    assert keymap.keys == {
        "app.help": "f11",
        "app.quit": "f12,ctrl+x",
        "wizard.next": "f5",
        "wizard.confirm": "f5",
    }
    assert keymap.problems == (
        "'app.hlep' is no key id",
        "shell.home = '' is no key",
        "shell.back = 3 is no key",
    )
    assert load_keymap(tmp_path / "none.toml").keys == {}
    assert parse_keymap("app.help = [").problems[0].startswith("not TOML")


async def test_the_keymap_moves_keys_in_the_footer_and_in_f1(demo) -> None:  # type: ignore[no-untyped-def]
    keymap = parse_keymap(
        '"app.help" = "f11"\n"shell.sidebar" = "f12"\n"app.hlep" = "x"\n',
        Path("/home/op/.config/expedito/keymap.toml"),
    )
    app = ExpeditoApp(demo=True, ansi=False, keymap=keymap, **frozen_countdown())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notices = [str(n.message) for n in app._notifications]
        assert notices == [
            "Fichier de touches /home/op/.config/expedito/keymap.toml : "
            "entrées ignorées — 'app.hlep' is no key id"
        ]
        await enter_portal(pilot)
        footer = app.screen.query_one(PortalFooter)
        shown = " ".join(footer.render_line(y).text for y in range(footer.size.height))
        assert "f11 Aide" in shown and "f12 Menu" in shown
        assert "f1 " not in shown and "f4 " not in shown
        await pilot.press("f1")  # no longer help
        await settle(pilot)
        assert not isinstance(app.screen, HelpDialog)
        await pilot.press("f11")
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        assert "f11" in app.screen.body and "f12" in app.screen.body
        assert "Menu" in app.screen.body
        await pilot.press("escape")
        await pilot.press("f12")  # the sidebar hides
        await settle(pilot)
        assert app.screen.has_class("-sidebar-hidden")
