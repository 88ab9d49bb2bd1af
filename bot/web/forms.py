"""Reading posted forms: text fields of a bounded size, refused with the field named."""

from __future__ import annotations

from collections.abc import Mapping


class FormError(Exception):
    """A field that cannot be taken; `key` is a locale string (web_too_long), `field` its name."""

    def __init__(self, key: str, field: str, limit: int) -> None:
        super().__init__(f"{field}: {key}")
        self.key = key
        self.field = field
        self.limit = limit


def text_field(form: Mapping[str, object], name: str, limit: int) -> str:
    """The field's text, stripped, with Windows line ends made plain; at most `limit` chars."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise FormError("web_not_text", name, limit)
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise FormError("web_too_long", name, limit)
    return value
