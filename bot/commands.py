"""The command registry: `/cmd` and `!cmd`, aliases, syntax help and the role required."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.errors import UserError
from bot.models import Outgoing, Role
from bot.turn import Turn

PREFIXES = ("/", "!", "！")
_COMMAND = re.compile(r"^[/!！](\S+?)(?:@(\S+))?(?:\s+(.*))?$", re.DOTALL)
_NUMBER = re.compile(r"#?(\d{1,9})")

Handler = Callable[[Turn, str], Awaitable[list[Outgoing]]]
"""What runs a command: the turn and the text after the command name."""


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: str
    addressed_to: str | None  # Telegram's /cmd@botname


def parse_command(text: str) -> ParsedCommand | None:
    """Split '/lang en' or '!help' or '/help@yishiting_bot' into name and arguments."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    return ParsedCommand(match.group(1).lower(), (match.group(3) or "").strip(), match.group(2))


def parse_number(text: str) -> int:
    """A ticket, booking or broadcast number as typed: '1024' or '#1024'."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise UserError("ticket_bad_number", text=text.strip()[:20])
    return int(match.group(1))


@dataclass(frozen=True)
class Command:
    """A command: its name, aliases, locale key of its summary and minimum role.

    Its usage line is the locale string `usage_<name>`.
    """

    name: str
    summary_key: str
    role: Role = Role.RESIDENT
    aliases: tuple[str, ...] = ()
    group_ok: bool = True

    @property
    def usage_key(self) -> str:
        return f"usage_{self.name}"


class CommandRegistry:
    """Finds commands by name or alias and lists the ones a role may use."""

    def __init__(self, commands: list[Command]) -> None:
        self._by_name: dict[str, Command] = {}
        for command in commands:
            for key in (command.name, *command.aliases):
                if key in self._by_name:
                    raise ValueError(f"command name {key!r} registered twice")
                self._by_name[key] = command
        self._ordered = commands

    def find(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    def visible_to(self, role: Role) -> list[Command]:
        return [c for c in self._ordered if role.allows(c.role)]
