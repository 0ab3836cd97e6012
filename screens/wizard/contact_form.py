"""*Personne de contact*: the form of the wizard step and of the *Personne de contact* page."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from screens.summary import contact_title, regime_name
from store.errors import ValidationError, ValidationErrors
from store.rules import FIELD_MAX, LANGUAGES, TITLES, ContactData, check_contact
from tui.i18n import Translator, error_text
from tui.widgets.select import PortalSelect

EMAILS = ("email1", "email2", "email3")
# Field → catalogue key of its label (with its * or **), in the guide's order.
ROWS = (
    ("last_name", "contact.label.last_name"),
    ("first_name", "contact.label.first_name"),
    ("title", "contact.label.title"),
    ("function", "contact.label.function"),
    ("language", "contact.label.language"),
    ("phone", "contact.label.phone"),
    ("fax", "contact.label.fax"),
    ("mobile", "contact.label.mobile"),
    ("email1", "contact.label.emails"),
    ("email2", ""),
    ("email3", ""),
)
FIELDS = tuple(name for name, _ in ROWS)


def contact_values(contact: ContactData) -> dict[str, str]:
    """The contact form's widget ids → their values for ``contact`` (``put_values``)."""
    emails = [*contact.emails, "", "", ""]
    values = {
        f"contact-{name}": emails[EMAILS.index(name)]
        if name in EMAILS
        else str(getattr(contact, name))
        for name, _ in ROWS
    }
    values["contact-title"] = values["contact-title"] or TITLES[0]
    values["contact-language"] = values["contact-language"] or LANGUAGES[0]
    return values


class ContactForm(Widget):
    """The contact person's fields; ``check()`` validates and shows errors next to them."""

    DEFAULT_CSS = """
    ContactForm { height: auto; }
    ContactForm .form-heading { text-style: bold; margin-top: 1; }
    ContactForm .form-row { height: auto; }
    ContactForm .form-label { width: 23; }
    ContactForm Input, ContactForm Select { width: 1fr; max-width: 44; }
    ContactForm .field-error { color: $error; text-style: bold; margin-left: 23; display: none; }
    ContactForm .field-error.-shown { display: block; }
    ContactForm .form-note { color: $text-muted; }
    ContactForm .form-note.-first { margin-top: 1; }
    """

    def __init__(
        self,
        t: Translator,
        initial: ContactData | None = None,
        read_only: bool = False,
        id: str | None = "contact-form",
    ) -> None:
        super().__init__(id=id)
        self.t = t
        self.initial = initial
        self.read_only = read_only

    def _value(self, name: str) -> str:
        return contact_values(self.initial)[f"contact-{name}"] if self.initial else ""

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(t("contact.heading"), classes="form-heading", markup=False)
        yield Static(t("contact.identification"), classes="form-heading", markup=False)
        for name, label_key in ROWS:
            with Horizontal(classes="form-row"):
                yield Label(t(label_key) if label_key else "", classes="form-label", markup=False)
                if name == "title":
                    yield PortalSelect(
                        [(contact_title(t, title), title) for title in TITLES],
                        allow_blank=False,
                        value=self._value(name) or TITLES[0],
                        compact=True,
                        id="contact-title",
                        disabled=self.read_only,
                    )
                elif name == "language":
                    yield PortalSelect(
                        [(regime_name(t, code), code) for code in LANGUAGES],
                        allow_blank=False,
                        value=self._value(name) or LANGUAGES[0],
                        compact=True,
                        id="contact-language",
                        disabled=self.read_only,
                    )
                else:
                    yield Input(
                        self._value(name),
                        id=f"contact-{name}",
                        compact=True,
                        max_length=FIELD_MAX,
                        disabled=self.read_only,
                        select_on_focus=False,
                    )
            yield Static("", id=f"contact-{name}-error", classes="field-error", markup=False)
        yield Static(t("form.required_note"), classes="form-note -first", markup=False)
        yield Static(t("contact.email_note"), classes="form-note", markup=False)

    def value(self) -> ContactData:
        """What the form holds now, as typed (not yet validated)."""

        def text(name: str) -> str:
            return self.query_one(f"#contact-{name}", Input).value

        def choice(name: str) -> str:
            selected = self.query_one(f"#contact-{name}", Select).value
            return selected if isinstance(selected, str) else ""

        return ContactData(
            last_name=text("last_name"),
            first_name=text("first_name"),
            title=choice("title"),
            function=text("function"),
            language=choice("language"),
            phone=text("phone"),
            fax=text("fax"),
            mobile=text("mobile"),
            emails=tuple(text(name) for name in EMAILS if text(name).strip()),
        )

    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            assert isinstance(error, Static)
            error.update("")
            error.remove_class("-shown")

    def show_errors(self, errors: Iterable[ValidationError]) -> bool:
        """Show each error under its field; True when at least one belongs to this form."""
        self.clear_errors()
        shown: dict[str, list[str]] = {}
        for error in errors:
            field = self._row(error)
            if field is not None:
                shown.setdefault(field, []).append(error_text(error, self.t.lang))
        for field, texts in shown.items():
            widget = self.query_one(f"#contact-{field}-error", Static)
            widget.update("\n".join(texts))
            widget.add_class("-shown")
        if shown:
            first = next(name for name in FIELDS if name in shown)
            self.query_one(f"#contact-{first}").focus()
        return bool(shown)

    def _current_errors(self) -> dict[str, list[str]]:
        """What each field breaks now (row name → texts, as ``show_errors`` places them)."""
        try:
            check_contact(self.value())
        except ValidationErrors as exc:
            errors = list(exc.errors)
        except ValidationError as exc:
            errors = [exc]
        else:
            errors = []
        texts: dict[str, list[str]] = {}
        for error in errors:
            if (row := self._row(error)) is not None:
                texts.setdefault(row, []).append(error_text(error, self.t.lang))
        return texts

    def on_input_changed(self, event: Input.Changed) -> None:
        """A field whose error shows is checked as it is typed in: the error goes as soon as
        the field is right, or says what is wrong now ("Ce champ est obligatoire." becomes
        the phone number's rule). Fields without an error wait for *Suivant*."""
        shown = [w for w in self.query(".field-error.-shown") if isinstance(w, Static)]
        if not shown:
            return
        current = self._current_errors()
        for widget in shown:
            name = (widget.id or "").removeprefix("contact-").removesuffix("-error")
            if name in current:
                widget.update("\n".join(current[name]))
            else:
                widget.update("")
                widget.remove_class("-shown")

    @staticmethod
    def _row(error: ValidationError) -> str | None:
        if error.field in FIELDS:
            return error.field
        return "email1" if error.field == "emails" else None

    def check(self) -> ContactData | None:
        """Validate (``store.rules.check_contact``): the cleaned data, or None and errors shown."""
        try:
            data = check_contact(self.value())
        except ValidationErrors as exc:
            self.show_errors(exc.errors)
            return None
        except ValidationError as exc:
            self.show_errors([exc])
            return None
        self.clear_errors()
        return data

    def focus_first(self) -> None:
        self.query_one("#contact-last_name", Input).focus()
