"""The two kinds of error: ConfigError for the operator, UserError for the chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfigError(Exception):
    """A configuration or data file is wrong; the message names file, entry and field."""

    def __init__(
        self,
        file: str,
        message: str,
        *,
        entry: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.entry = entry
        self.field = field
        self.line = line
        where = file if line is None else f"{file}:{line}"
        parts = [where]
        if entry is not None:
            parts.append(f"entry {entry!r}")
        if field is not None:
            parts.append(f"field {field!r}")
        super().__init__(": ".join([", ".join(parts), message]))


@dataclass(frozen=True)
class Localized:
    """A parameter of a UserError that is itself a locale key (a status or action name)."""

    key: str


class UserError(Exception):
    """Something the user asked cannot be done; `key` names a locale string for the reply.

    Parameters that are `Localized` are translated into the user's language too.
    """

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
