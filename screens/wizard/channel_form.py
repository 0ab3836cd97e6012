"""*Données du canal*: type de connexion, key and certificate, queues, secured applications and
the preferred channel of each application another channel of the sender secures too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.segment import Segment
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Label, Select, SelectionList, Static

from screens.summary import application_name, kind_label
from screens.wizard.credential_field import (
    CERTIFICATE,
    SSH_KEY,
    CredentialField,
    LoadedCredential,
    key_for_service,
)
from store.dto import ApplicationInfo, ChannelInput
from store.errors import ValidationError
from tui.i18n import Translator, error_text
from tui.widgets.select import PortalSelect

NEEDS_KEY = frozenset({"SFTP"})
NEEDS_CERTIFICATE = frozenset({"SFTP", "FTP", "WEBSERVICE"})
MQ_FIELDS = ("mq_queue_manager", "mq_queue")


class CheckList(SelectionList[str]):
    """A ``SelectionList`` whose boxes show ``X`` only when ticked, so the state reads without
    colour too (16 colours, ``NO_COLOR``, a screen reader or a ``tmux capture-pane``)."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        index = self.scroll_offset.y + y
        if index >= self.option_count:
            return line
        if self.get_option_at_index(index).value in self.selected:
            return line
        segments = list(line)
        if len(segments) > 2 and segments[1].text == "X":  # ToggleButton.BUTTON_INNER
            segments[1] = Segment(" " * len(segments[1].text), segments[1].style)
            return Strip(segments, line.cell_length)
        return line


class ChannelForm(Widget):
    """``rivals`` maps an application code to the other live channel kinds securing it."""

    DEFAULT_CSS = """
    ChannelForm { height: auto; }
    ChannelForm .form-heading { text-style: bold; margin-top: 1; }
    ChannelForm .form-row { height: auto; }
    ChannelForm .form-label { width: 23; }
    ChannelForm .form-row Input, ChannelForm .form-row Select { width: 1fr; max-width: 44; }
    ChannelForm .warning { margin-top: 1; text-style: italic; }
    ChannelForm SelectionList { height: auto; max-height: 7; }
    ChannelForm #preferred { height: auto; }
    ChannelForm .preferred-label { width: 23; }
    ChannelForm .field-error { color: $error; text-style: bold; }
    ChannelForm .form-note { color: $text-muted; margin-top: 1; }
    """

    def __init__(
        self,
        t: Translator,
        kind: str,
        applications: Iterable[ApplicationInfo],
        rivals: Mapping[str, tuple[str, ...]],
        initial: ChannelInput | None = None,
        loaded: Mapping[str, LoadedCredential] | None = None,
        id: str | None = "channel-form",
    ) -> None:
        super().__init__(id=id)
        self.t = t
        self.kind = kind
        self.applications = tuple(applications)
        self.rivals = dict(rivals)
        self.initial = initial
        self.loaded = dict(loaded or {})
        self.choices: dict[str, str] = dict(initial.preferred) if initial else {}

    def compose(self) -> ComposeResult:
        t, kind = self.t, self.kind
        yield Static(t("channel.heading"), classes="form-heading", markup=False)
        yield Static(t("channel.kind_heading", kind=kind_label(kind)), markup=False)
        with Horizontal(classes="form-row"):
            yield Label(t("channel.label.connection_type"), classes="form-label", markup=False)
            yield Static(t("channel.internet"), markup=False)
        if kind in NEEDS_KEY:
            yield CredentialField(
                SSH_KEY,
                t,
                t("credential.ssh_key.label"),
                t("credential.ssh_key.hint"),
                self.loaded.get(SSH_KEY),
            )
        if kind in NEEDS_CERTIFICATE:
            yield Static(t("channel.certificate_warning"), classes="warning", markup=False)
            yield CredentialField(
                CERTIFICATE,
                t,
                t("credential.certificate.label"),
                t("credential.certificate.hint"),
                self.loaded.get(CERTIFICATE),
            )
        if kind == "MQLINK":
            for name in MQ_FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(t(f"channel.label.{name}"), classes="form-label", markup=False)
                    yield Input(
                        getattr(self.initial, name, None) or "",
                        id=f"channel-{name}",
                        compact=True,
                        max_length=48,
                        select_on_focus=False,
                    )
                yield Static("", id=f"channel-{name}-error", classes="field-error", markup=False)
        yield Static(t("channel.applications_heading"), classes="form-heading", markup=False)
        yield Static(t("channel.applications_text", kind=kind_label(kind)), markup=False)
        yield Static(t("channel.applications_list"), classes="form-heading", markup=False)
        selected = set(self.initial.applications) if self.initial else set()
        yield CheckList(
            *(
                (application_name(t, a.code, a.name), a.code, a.code in selected)
                for a in self.applications
            ),
            id="applications",
            compact=True,
        )
        yield Static("", id="applications-error", classes="field-error", markup=False)
        yield Vertical(id="preferred")
        yield Static("", id="preferred-error", classes="field-error", markup=False)
        yield Static(t("form.required_note"), classes="form-note", markup=False)

    async def on_mount(self) -> None:
        await self._show_preferred()

    # --- preferred channels -------------------------------------------------------------------

    def _names(self) -> dict[str, str]:
        return {a.code: application_name(self.t, a.code, a.name) for a in self.applications}

    def selected(self) -> list[str]:
        chosen = set(self.query_one("#applications", SelectionList).selected)
        return [a.code for a in self.applications if a.code in chosen]

    async def _show_preferred(self) -> None:
        box = self.query_one("#preferred", Vertical)
        await box.remove_children()
        names = self._names()
        rows: list[Widget] = []
        for code in self.selected():
            others = self.rivals.get(code, ())
            if not others:
                continue
            kinds = (self.kind, *others)
            rows.append(Static(names[code], classes="preferred-app", markup=False))
            current = self.choices.get(code)
            rows.append(
                Horizontal(
                    Label(
                        self.t("channel.preferred_label"), classes="preferred-label", markup=False
                    ),
                    PortalSelect(
                        [(kind_label(k), k) for k in kinds],
                        prompt=self.t("channel.choose"),
                        value=current if current in kinds else Select.NULL,
                        compact=True,
                        id=f"preferred-{code}",
                    ),
                    classes="form-row",
                )
            )
        await box.mount_all(rows)

    async def on_selection_list_selected_changed(
        self, event: SelectionList.SelectedChanged[str]
    ) -> None:
        event.stop()
        if self.selected():  # "at least one application": right now
            self._clear_error("applications-error")
        await self._show_preferred()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id and event.select.id.startswith("preferred-"):
            code = event.select.id.removeprefix("preferred-")
            if isinstance(event.value, str):
                self.choices[code] = event.value
            else:
                self.choices.pop(code, None)
            if all(code in self.choices for code in self.selected() if self.rivals.get(code)):
                self._clear_error("preferred-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        from store.channels import mq_name_valid  # the store's rule, loaded when first typed

        name = (event.input.id or "").removeprefix("channel-")
        if name in MQ_FIELDS and mq_name_valid(event.value):
            self._clear_error(f"channel-{name}-error")

    def _clear_error(self, widget_id: str) -> None:
        """An error shown goes as soon as its field is right; new ones wait for *Suivant*."""
        found = self.query(f"#{widget_id}")
        if found:
            widget = found.first()
            assert isinstance(widget, Static)
            widget.update("")

    # --- the payload --------------------------------------------------------------------------

    def credential_fields(self) -> list[CredentialField]:
        return list(self.query(CredentialField))

    def value(self) -> ChannelInput:
        """The channel as entered; key (as parsed) and certificate as last loaded."""
        loaded = self.loaded_credentials()
        certificate = loaded.get(CERTIFICATE)
        selected = self.selected()

        def mq(name: str) -> str | None:
            if self.kind != "MQLINK":
                return None
            return self.query_one(f"#channel-{name}", Input).value.strip() or None

        return ChannelInput(
            kind=self.kind,
            applications=tuple(selected),
            ssh_key=key_for_service(loaded.get(SSH_KEY)),
            certificate=certificate.raw if certificate is not None else None,
            preferred=tuple(
                (code, self.choices[code])
                for code in selected
                if code in self.choices and self.rivals.get(code)
            ),
            mq_queue_manager=mq("mq_queue_manager"),
            mq_queue=mq("mq_queue"),
        )

    def loaded_credentials(self) -> dict[str, LoadedCredential]:
        return {f.kind: f.loaded for f in self.credential_fields() if f.loaded is not None}

    # --- errors -------------------------------------------------------------------------------

    def clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            assert isinstance(widget, Static)
            widget.update("")

    def show_errors(self, errors: Iterable[ValidationError]) -> bool:
        """Show each error next to its field; True when one belongs to this form."""
        self.clear_errors()
        lang = self.t.lang
        names = self._names()
        texts: dict[str, list[str]] = {}
        for error in errors:
            field = error.field or ""
            if field in (SSH_KEY, CERTIFICATE):
                target = f"{field}-error"
            elif field in MQ_FIELDS:
                target = f"channel-{field}-error"
            elif field == "applications":
                target = "applications-error"
            elif field == "preferred":
                target = "preferred-error"
                app = error.params.get("application", "")
                error = ValidationError(
                    error.code,
                    error.message,
                    error.field,
                    **{**error.params, "application": names.get(app, app)},
                )
            else:
                continue
            texts.setdefault(target, []).append(error_text(error, lang))
        for target, lines in texts.items():
            widgets = self.query(f"#{target}")
            if widgets:
                widget = widgets.first()
                assert isinstance(widget, Static)
                widget.update("\n".join(lines))
        return bool(texts)

    def focus_first(self) -> None:
        fields = self.credential_fields()
        if fields:
            fields[0].query_one(Input).focus()
        elif self.kind == "MQLINK":
            self.query_one("#channel-mq_queue_manager", Input).focus()
        else:
            self.query_one("#applications", SelectionList).focus()
