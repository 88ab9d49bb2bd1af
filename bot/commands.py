"""The registries of commands (`/cmd`, `!cmd`, aliases) and button actions, with their roles.

The role each requires is declared here and checked in one place, `bot.roles`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import UserError
from bot.models import Outgoing, Role
from bot.turn import Turn

PREFIXES = ("/", "!", "！", "／")  # full-width ones: what a Chinese IME types
_COMMAND = re.compile(r"^[/!！／](\S+?)(?:@(\S+))?(?:\s+(.*))?$", re.DOTALL)
_NUMBER = re.compile(r"#?(\d{1,9})")

Handler = Callable[[Turn, str], Awaitable[list[Outgoing]]]
"""What runs a command: the turn and the text after the command name."""


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: str
    addressed_to: str | None  # '/cmd@otherbot': for another bot (its name stays in `name`)


def parse_command(text: str) -> ParsedCommand | None:
    """Split '/lang en' or '!help' or ' /report@otherbot …' into name and arguments.

    A command addressed with '@name' is for another bot: channel adapters remove their own
    bot's name (Telegram's '/help@yishiting_bot' arrives as '/help'), so whatever '@name'
    is left keeps its place in `name`, which no registered command has: in a group it is
    ignored, in a private chat it is an unknown command.
    """
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    name, addressed_to = match.group(1).lower(), match.group(2)
    if addressed_to is not None:
        name = f"{name}@{addressed_to.lower()}"
    return ParsedCommand(name, (match.group(3) or "").strip(), addressed_to)


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
    # its words are compared by meaning (/report: "me too"), so the sentence model reads
    # them ahead; other commands' arguments (a staff reply, a ticket number) are not embedded
    by_meaning: bool = False

    @property
    def usage_key(self) -> str:
        return f"usage_{self.name}"


class CommandRegistry:
    """Finds commands (with their handlers) by name or alias; lists the ones a role may use."""

    def __init__(self, commands: Sequence[tuple[Command, Handler]]) -> None:
        self._by_name: dict[str, tuple[Command, Handler]] = {}
        for command, handler in commands:
            for key in (command.name, *command.aliases):
                if key in self._by_name:
                    raise ValueError(f"command name {key!r} registered twice")
                self._by_name[key] = (command, handler)
        self._ordered = [command for command, _ in commands]

    def find(self, name: str) -> tuple[Command, Handler] | None:
        return self._by_name.get(name.lower())

    def visible_to(self, role: Role) -> list[Command]:
        return [c for c in self._ordered if role.allows(c.role)]


@dataclass(frozen=True)
class Action:
    """A button action: the prefix of its opaque text ('t:claim' for 't:claim:1024') and the
    role a person needs to press it. The handler gets the rest of the text ('1024')."""

    prefix: str
    role: Role = Role.RESIDENT


class ActionRegistry:
    """Finds the action a pressed button's text belongs to: the longest registered prefix."""

    def __init__(self, actions: Sequence[tuple[Action, Handler]]) -> None:
        self._by_prefix: dict[str, tuple[Action, Handler]] = {}
        for action, handler in actions:
            if action.prefix in self._by_prefix:
                raise ValueError(f"action {action.prefix!r} registered twice")
            self._by_prefix[action.prefix] = (action, handler)

    def find(self, text: str) -> tuple[Action, Handler, str] | None:
        """(action, handler, argument) for 'kind:verb:argument' or 'kind:argument'."""
        parts = text.split(":")
        for cut in range(len(parts) - 1, 0, -1):
            found = self._by_prefix.get(":".join(parts[:cut]))
            if found is not None:
                return (*found, ":".join(parts[cut:]))
        return None


class Capability(Protocol):
    """A part of the bot that people talk to: the commands and button actions it offers."""

    def commands(self) -> list[tuple[Command, Handler]]: ...

    def actions(self) -> list[tuple[Action, Handler]]: ...
