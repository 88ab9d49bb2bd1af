"""`yishiting run` and `chat`: the configured networks (and the console), until stopped."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from bot.cli.output import say
from bot.clock import MovableClock, parse_clock, zone
from bot.config import Settings
from bot.errors import ConfigError
from bot.failpoints import Failpoints
from bot.i18n import normalize_language
from bot.models import Role
from channels.base import Channel
from channels.console import ConsoleChannel, Persona

if TYPE_CHECKING:
    from bot.app import App
    from bot.web.console import WebServer


SERVED_MARKER = ".served"  # in a data folder that `yishiting run` has used


def console_on_terminal(args: argparse.Namespace) -> bool:
    """Will a person chat on this terminal (`chat`, or `run` with no network configured)?"""
    networks = any(
        os.environ.get(e)
        for e in (TELEGRAM_TOKEN_ENV, MATRIX_PASSWORD_ENV, MATRIX_ACCESS_TOKEN_ENV)
    )
    wanted = args.command == "chat" or not networks
    return wanted and sys.stdin.isatty() and sys.stdout.isatty()


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """`run` and `chat`: every configured network, and the console on a terminal."""
    from bot.app import App
    from bot.wiring import build_core

    channels: list[Channel] = network_channels(settings)
    console: ConsoleChannel | None = None
    clock = MovableClock(zone(settings.timezone))
    running: list[App] = []  # the app, once built: the console's :clock moves its clock

    async def move_clock(spec: str) -> str:
        if (settings.data_dir / SERVED_MARKER).exists():
            return (
                f":clock moves the bot's time for good: in {settings.data_dir}/, which "
                "`yishiting run` uses, tomorrow's digests and rosters would be marked done. "
                "Try it on a throwaway folder: yishiting chat --data /tmp/try"
            )
        return await _move_clock(running[0], clock, spec)

    if args.command == "chat" or (not channels and sys.stdin.isatty()):
        role = Role(getattr(args, "role", "resident"))
        persona = Persona(
            role=role,
            name=getattr(args, "name", None) or Persona(role).name,
            group=getattr(args, "group", None),
            language=normalize_language(getattr(args, "lang", None)),
        )
        if getattr(args, "name", None) is None:
            from channels.console import DEFAULT_NAMES

            persona = Persona(role, DEFAULT_NAMES[role], persona.group, persona.language)
        console = ConsoleChannel(
            persona=persona,
            write=say,
            echo=getattr(args, "echo", False),
            move_clock=move_clock,
        )
        channels.append(console)
    if not channels and settings.web is None:
        raise ConfigError(
            "settings",
            "no channel is configured and stdin is not a terminal; "
            "configure Telegram or Matrix or the web console, or use `yishiting chat`",
        )
    core = build_core(settings, clock=clock)
    if args.command == "run":  # its folder is the real one: `:clock` may not move its time
        with contextlib.suppress(OSError):  # a full disk: the bot runs all the same
            (settings.data_dir / SERVED_MARKER).touch()
    app = App(core, channels, settings, Failpoints.from_env())
    running.append(app)
    if console is not None and sys.stdin.isatty():
        logs = f"日志在 {args.log_file}。" if getattr(args, "log_file", None) else ""
        say(
            f"百姓议事厅 — FAQ {core.faq.size} 条，数据 {settings.data_dir}/。{logs}"
            "输入 :help 查看控制台命令。"
        )
    server = await _start_web(app, settings)
    try:
        await app.run(*([console.closed] if console is not None else []))
    finally:
        if server is not None:
            await server.stop()
    return 0


async def _start_web(app: App, settings: Settings) -> WebServer | None:
    """The web console, when the settings have a `web:` section."""
    if settings.web is None:
        return None
    from bot.web.console import WebServer, make_console

    console = make_console(
        app.core,
        settings,
        app.answer,
        app.faq_changed,
        failpoints=app.failpoints,
        chat_first=app.chat_first,
    )
    server = WebServer(console)
    try:
        await server.start()
    except OSError as exc:
        raise ConfigError("settings", f"cannot listen there: {exc}", field="web.listen") from None
    return server


async def _move_clock(app: App, clock: MovableClock, spec: str) -> str:
    """Console `:clock`: move forward, print the new time, then let due jobs fire in order."""
    now = clock()
    try:
        target = parse_clock(spec, now)
    except ValueError:
        return "usage: :clock 2026-12-05 18:00 | 12-05 18:00 | 18:30 | +2h | +1d"
    if target < now:
        return f"the clock only moves forward (now {now:%Y-%m-%d %H:%M})"
    say(f"⏰ {target:%Y-%m-%d %H:%M} ({target:%a})\n")
    await app.advance_clock(target, clock.move_to)
    return ""


TELEGRAM_TOKEN_ENV = "YISHITING_TELEGRAM_TOKEN"
MATRIX_PASSWORD_ENV = "YISHITING_MATRIX_PASSWORD"
MATRIX_ACCESS_TOKEN_ENV = "YISHITING_MATRIX_ACCESS_TOKEN"


def network_channels(settings: Settings) -> list[Channel]:
    """Every network adapter whose credentials are in the environment."""
    channels: list[Channel] = []
    token = os.environ.get(TELEGRAM_TOKEN_ENV)
    if token:
        from pydantic import ValidationError

        from channels.telegram import TelegramChannel, TelegramSettings

        staff_chats = tuple(
            room.chat.partition(":")[2]
            for room in settings.staff_rooms
            if room.chat.startswith("telegram:")
        )
        try:
            telegram = TelegramSettings.model_validate(
                {"staff_chats": staff_chats, **settings.telegram, "token": token}
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "token"
            raise ConfigError("settings", first["msg"], field=f"telegram.{where}") from None
        channels.append(TelegramChannel(telegram, settings.data_dir / "telegram.callbacks"))
    if os.environ.get(MATRIX_PASSWORD_ENV) or os.environ.get(MATRIX_ACCESS_TOKEN_ENV):
        from pydantic import ValidationError

        from channels.matrix.channel import MatrixChannel
        from channels.matrix.settings import FileTokenStore, settings_from_env

        try:
            matrix = settings_from_env(settings.matrix, dict(os.environ))
        except ValidationError as exc:  # first: it is a ValueError too
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "password"
            raise ConfigError("settings", first["msg"], field=f"matrix.{where}") from None
        except ValueError as exc:  # a password or token written into the file
            raise ConfigError("settings", str(exc), field="matrix") from None
        sync_token = FileTokenStore(settings.data_dir / "matrix.next_batch")
        channels.append(MatrixChannel(matrix, sync_token))
    return channels
