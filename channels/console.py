"""The console channel: play residents, staff and admins in a terminal or from a script."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from bot.models import Address, ChatKind, Incoming, Outgoing, Person, Role
from channels.base import ChannelError, Deliver, SentRef

log = logging.getLogger(__name__)

META_HELP = """\
:as resident|staff|admin [name]   speak as someone else (e.g. :as staff 朱书记)
:in <group>                       speak in a group chat (e.g. :in 丰仓小区群)
:dm                               speak in your private chat with the bot
:press N  (or just N)             press button N of the last message here
:lang zh|en                       your client's language hint
:clock 2026-12-05 18:00 | +2h      move the bot's clock forward: due jobs fire now
:who                              show who and where you are
:quit                             leave"""

DEFAULT_NAMES = {Role.RESIDENT: "居民", Role.STAFF: "工作人员", Role.ADMIN: "管理员"}


@dataclass(frozen=True)
class Persona:
    """Who is typing and where."""

    role: Role = Role.RESIDENT
    name: str = DEFAULT_NAMES[Role.RESIDENT]
    group: str | None = None
    language: str | None = None

    @property
    def chat(self) -> Address:
        if self.group is not None:
            return Address("console", f"group:{self.group}")
        return Address("console", self.name)  # like Telegram: a private chat's id is the user's

    @property
    def prompt(self) -> str:
        where = self.group or "私聊"
        return f"{self.name}({self.role.value})@{where}> "


def _new_id() -> str:
    """Message ids unique across runs, as a network's are (outbox keys are built from them)."""
    return uuid.uuid4().hex[:16]


async def stdin_lines(prompt: Callable[[], str]) -> AsyncIterator[str]:
    """Lines from a terminal (with editing and history) or from a piped script."""
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession()
        while True:
            try:
                yield await session.prompt_async(prompt())
            except (EOFError, KeyboardInterrupt):
                return
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line.rstrip("\n")


class ConsoleChannel:
    """A Channel whose users are personas typed at a console; replies are printed as blocks."""

    name = "console"

    def __init__(
        self,
        *,
        persona: Persona,
        write: Callable[[str], None],
        lines: Callable[[Callable[[], str]], AsyncIterator[str]] = stdin_lines,
        echo: bool = False,
        move_clock: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self.persona = persona
        self._move_clock = move_clock
        self._write = write
        self._lines = lines
        self._echo = echo
        self._buttons: dict[Address, list[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def start(self, deliver: Deliver) -> None:
        self._task = asyncio.create_task(self._read_loop(deliver), name="console-input")

    async def _read_loop(self, deliver: Deliver) -> None:
        try:
            async for line in self._lines(lambda: self.persona.prompt):
                if self._echo:
                    self._write(f"{self.persona.prompt}{line}")
                if line.strip().startswith(":clock") and self._move_clock is not None:
                    problem = await self._move_clock(line.strip()[len(":clock") :].strip())
                    if problem:
                        self._write(problem)
                    continue
                incoming = self._interpret(line.strip())
                if isinstance(incoming, str):  # ":quit"
                    break
                if incoming is not None:
                    await deliver(incoming)
        finally:
            self.closed.set()

    def _interpret(self, line: str) -> Incoming | str | None:
        if not line or line.startswith("#"):
            return None
        if line.isdigit() and self._buttons.get(self.persona.chat):
            return self._press(int(line))
        if line.startswith(":"):
            return self._meta(line[1:].split(maxsplit=1))
        return self._incoming(text=line)

    def _meta(self, parts: list[str]) -> Incoming | str | None:
        verb = parts[0].lower() if parts else ""
        arg = parts[1].strip() if len(parts) > 1 else ""
        if verb == "quit":
            return "quit"
        if verb == "as":
            role_name, _, name = arg.partition(" ")
            try:
                role = Role(role_name.lower())
            except ValueError:
                self._write("usage: :as resident|staff|admin [name]")
                return None
            self.persona = replace(
                self.persona, role=role, name=name.strip() or DEFAULT_NAMES[role]
            )
        elif verb == "in" and arg:
            self.persona = replace(self.persona, group=arg)
        elif verb == "dm":
            self.persona = replace(self.persona, group=None)
        elif verb == "lang" and arg:
            self.persona = replace(self.persona, language=arg)
        elif verb == "press" and arg.isdigit():
            return self._press(int(arg))
        elif verb == "who":
            self._write(self.persona.prompt.rstrip("> "))
        else:
            self._write(META_HELP)
        return None

    def _press(self, number: int) -> Incoming | None:
        actions = self._buttons.get(self.persona.chat, [])
        if not 1 <= number <= len(actions):
            self._write(f"no button {number} here")
            return None
        return self._incoming(action=actions[number - 1])

    def _incoming(self, text: str = "", action: str | None = None) -> Incoming:
        p = self.persona
        return Incoming(
            chat=p.chat,
            sender=Person("console", p.name, p.name, p.language),
            chat_kind=ChatKind.PRIVATE if p.group is None else ChatKind.GROUP,
            text=text,
            message_id=_new_id(),
            chat_title=p.group or "",
            action=action,
            claimed_role=p.role,
        )

    async def send(self, out: Outgoing) -> SentRef:
        group = out.to.chat_id.removeprefix("group:")
        is_group = group != out.to.chat_id
        header = f"── 群 {group} ──" if is_group else f"── 私聊 {out.to.chat_id} ──"
        lines = [header, out.text]
        if out.buttons:
            lines.append("  ".join(f"[{i}] {b.label}" for i, b in enumerate(out.buttons, 1)))
            self._buttons[out.to] = [b.action for b in out.buttons]
        lines += [f"(附件 {a})" for a in (*out.files, *out.attachments)]
        try:
            self._write("\n".join(lines) + "\n")
        except OSError as exc:  # the terminal or the script's reader went away
            raise ChannelError(f"console: cannot write: {exc}", retryable=False) from exc
        return SentRef(self.name, out.to.chat_id, _new_id())

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.closed.set()
