"""The `yishiting` command line: run, chat, doctor, faq, tickets and schedules."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli import data as cli_data
from bot.cli import schedules as cli_schedules
from bot.clock import MovableClock, parse_clock, zone
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.failpoints import Failpoints
from bot.faq.entries import load_faq
from bot.faq.evaluation import evaluate, load_cases
from bot.faq.matcher import FaqMatcher
from bot.faq.source import FaqSource
from bot.faq.text import TextAnalyzer
from bot.i18n import normalize_language
from bot.models import Role
from bot.schedule.book import load_schedules
from bot.store.folder import Store
from channels.base import Channel, ChannelError
from channels.console import ConsoleChannel, Persona

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yishiting", description="百姓议事厅 community bot")
    p.add_argument(
        "--config",
        type=Path,
        help="settings file (default: $YISHITING_CONFIG or "
        "./yishiting.yaml when present; none is needed)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start every configured channel (console on a terminal)")
    run.add_argument("--data", type=Path, help="data folder (default ./data)")

    chat = sub.add_parser("chat", help="talk to the bot in this terminal, or run a script")
    chat.add_argument("--data", type=Path, help="data folder (default ./data)")
    chat.add_argument("--group", help="start in this group chat instead of a private chat")
    chat.add_argument("--as", dest="role", choices=[r.value for r in Role], default="resident")
    chat.add_argument("--name", help="your display name")
    chat.add_argument("--lang", choices=["zh", "en"], help="your client's language")
    chat.add_argument("--echo", action="store_true", help="print each scripted line before replies")

    faq = sub.add_parser("faq", help="check, try and evaluate a faq.yaml")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    check = faq_sub.add_parser("check", help="validate and summarise")
    match = faq_sub.add_parser("match", help="one query per stdin line -> one JSON line")
    ev = faq_sub.add_parser("eval", help="score the matcher on a cases file")
    for q in (check, match, ev):
        q.add_argument("--faq", type=Path, help="faq.yaml (default: the configured one)")
    ev.add_argument("--cases", type=Path, required=True)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    sugg = faq_sub.add_parser("suggestions", help="phrasings staff answered with /answer")
    accept = faq_sub.add_parser("accept", help="write suggestions into faq.yaml")
    accept.add_argument("ids", type=int, nargs="+")
    accept.add_argument("--faq", type=Path, help="faq.yaml (default: the configured one)")
    for q in (sugg, accept):
        q.add_argument("--data", type=Path, help="data folder (default ./data)")

    doctor = sub.add_parser("doctor", help="check the configuration and reach each network")
    doctor.add_argument("--data", type=Path, help="data folder (default ./data)")

    tickets = sub.add_parser("tickets", help="list, show or export tickets (read-only)")
    tickets_sub = tickets.add_subparsers(dest="tickets_command", required=True)
    listing = tickets_sub.add_parser("list")
    listing.add_argument("--status")
    listing.add_argument("--compound")
    show = tickets_sub.add_parser("show")
    show.add_argument("number", type=int)
    export = tickets_sub.add_parser("export")
    export.add_argument("--csv", action="store_true", required=True, help="CSV (UTF-8, BOM)")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    for q in (listing, show, export):
        q.add_argument("--data", type=Path, help="data folder (default ./data)")
    schedules = sub.add_parser("schedules", help="validate schedules/ or list what is coming")
    schedules_sub = schedules.add_subparsers(dest="schedules_command", required=True)
    schedules_sub.add_parser("check", help="validate every file and target")
    coming = schedules_sub.add_parser("list", help="the next occurrences of everything")
    coming.add_argument("--count", type=int, default=10)
    coming.add_argument("--from", dest="start", help="list from this time (default: now)")
    coming.add_argument("--data", type=Path, help="data folder (default ./data)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose
        else (logging.INFO if args.command == "run" else logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("jieba", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    for chatty in ("httpx", "httpcore"):  # a line per poll, with the bot token in the URL
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        overrides: dict[str, Any] = {
            "data_dir": getattr(args, "data", None),
            "faq": getattr(args, "faq", None),
        }
        settings = load_settings(args.config, overrides)
        if args.command == "tickets":
            return _tickets(args, settings)
        if args.command == "schedules":
            return _schedules(args, settings)
        if args.command == "doctor":
            return asyncio.run(_doctor(settings))
        if args.command == "faq" and args.faq_command in ("suggestions", "accept"):
            return _faq_suggestions(args, settings)
        if args.command == "faq":
            return _faq(args, settings)
        return asyncio.run(_serve(args, settings))
    except ConfigError as exc:
        print(f"yishiting: {exc}", file=sys.stderr)
        return 2
    except ChannelError as exc:  # a network unreachable at start: the supervisor retries
        print(f"yishiting: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import App, build_core

    channels: list[Channel] = network_channels(settings)
    console: ConsoleChannel | None = None
    clock = MovableClock(zone(settings.timezone))
    running: list[App] = []  # the app, once built: the console's :clock moves its clock

    async def move_clock(spec: str) -> str:
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
            write=_print,
            echo=getattr(args, "echo", False),
            move_clock=move_clock,
        )
        channels.append(console)
    if not channels:
        raise ConfigError(
            "settings",
            "no channel is configured and stdin is not a terminal; "
            "configure Telegram or Matrix, or use `yishiting chat`",
        )
    core = build_core(settings, clock=clock)
    app = App(core, channels, settings, Failpoints.from_env())
    running.append(app)
    if console is not None and sys.stdin.isatty():
        _print(
            f"百姓议事厅 — FAQ {core.faq.size} 条，数据 {settings.data_dir}/。输入 :help 查看控制台命令。"
        )
    await app.run(*([console.closed] if console is not None else []))
    return 0


async def _move_clock(app: App, clock: MovableClock, spec: str) -> str:
    """Console `:clock`: move forward, print the new time, then let due jobs fire in order."""
    now = clock()
    try:
        target = parse_clock(spec, now)
    except ValueError:
        return "usage: :clock 2026-12-05 18:00 | 12-05 18:00 | 18:30 | +2h | +1d"
    if target < now:
        return f"the clock only moves forward (now {now:%Y-%m-%d %H:%M})"
    _print(f"⏰ {target:%Y-%m-%d %H:%M} ({target:%a})\n")
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
        channels.append(TelegramChannel(telegram))
    if os.environ.get(MATRIX_PASSWORD_ENV) or os.environ.get(MATRIX_ACCESS_TOKEN_ENV):
        from pydantic import ValidationError

        from channels.matrix.channel import FileTokenStore, MatrixChannel, settings_from_env

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


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _faq(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.faq_path
    if args.faq_command == "check":
        faq = load_faq(path)
        categories: dict[str, int] = {}
        for e in faq.entries:
            categories[e.category] = categories.get(e.category, 0) + 1
        questions = sum(len(e.questions) for e in faq.entries)
        _print(
            f"{path}: OK — {len(faq.entries)} entries, {questions} questions, "
            f"{len(categories)} categories"
        )
        for name, count in sorted(categories.items(), key=lambda kv: -kv[1]):
            _print(f"  {name}: {count}")
        return 0
    if args.faq_command == "match":
        matcher = FaqSource(path, settings.match_settings).matcher
        for line in sys.stdin:
            query = line.rstrip("\n")
            if query.strip():
                _print(json.dumps(_decision_json(matcher, query), ensure_ascii=False))
        return 0
    matcher = FaqMatcher(load_faq(path), TextAnalyzer(), settings.match_settings)
    report, _ = evaluate(matcher, load_cases(args.cases))
    if args.json:
        _print(json.dumps(report.as_json(), ensure_ascii=False))
        return 0
    rows = report.as_json()
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        _print(f"{key:<{width}}  {value}")
    return 0


async def _doctor(settings: Settings) -> int:
    """One line per concern; exit 1 when anything configured does not work."""
    ok = True
    try:
        faq = load_faq(settings.faq_path)
        _print(f"faq       OK      {settings.faq_path}: {len(faq.entries)} entries")
    except ConfigError as exc:
        ok = False
        _print(f"faq       FAILED  {exc}")
    try:
        book = load_schedules(settings.schedules_path, zone(settings.timezone))
        evening = "evening service" if book.evening is not None else "no evening service"
        _print(
            f"schedules OK      {settings.schedules_path}: {evening}, "
            f"{len(book.broadcasts)} broadcasts"
        )
    except ConfigError as exc:
        ok = False
        _print(f"schedules FAILED  {exc}")
    if not settings.data_dir.exists():
        _print(f"data      NEW     {settings.data_dir}/ will be created")
    else:
        try:
            Store(settings.data_dir, read_only=True).close()
            _print(f"data      OK      {settings.data_dir}/")
        except ConfigError as exc:
            ok = False
            _print(f"data      FAILED  {exc}")
    channels = network_channels(settings)
    for channel in channels:
        check = getattr(channel, "check", None)
        try:
            who = await check() if check is not None else "(no check available)"
            _print(f"{channel.name:<9} OK      {who}")
        except ChannelError as exc:
            ok = False
            _print(f"{channel.name:<9} FAILED  {exc}")
    names = {c.name for c in channels}
    if "telegram" not in names:
        _print(f"telegram  OFF     set ${TELEGRAM_TOKEN_ENV} to enable")
    if "matrix" not in names:
        _print(f"matrix    OFF     set ${MATRIX_PASSWORD_ENV} or ${MATRIX_ACCESS_TOKEN_ENV}")
    return 0 if ok else 1


def _tickets(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.data_dir, read_only=True)
    try:
        if args.tickets_command == "list":
            lines = cli_data.tickets_list(store, args.status, args.compound)
            _print("\n".join(lines) if lines else "(no tickets)")
        elif args.tickets_command == "show":
            _print("\n".join(cli_data.ticket_show(store, args.number)))
        elif args.out is not None:
            args.out.write_text(cli_data.tickets_csv(store), encoding="utf-8")
        else:
            sys.stdout.write(cli_data.tickets_csv(store))
    finally:
        store.close()
    return 0


def _schedules(args: argparse.Namespace, settings: Settings) -> int:
    if args.schedules_command == "check":
        return cli_schedules.check(settings, _print)
    start = None
    if args.start:
        try:
            start = parse_clock(args.start, datetime.now(zone(settings.timezone)))
        except ValueError:
            raise ConfigError("--from", f"cannot read the time {args.start!r}") from None
    lines = cli_schedules.upcoming(settings, start, max(args.count, 1))
    _print("\n".join(lines) if lines else "(nothing scheduled)")
    return 0


def _faq_suggestions(args: argparse.Namespace, settings: Settings) -> int:
    if args.faq_command == "suggestions":
        store = Store(settings.data_dir, read_only=True)
        try:
            lines = cli_data.faq_suggestions(store)
            _print("\n".join(lines) if lines else "(no suggestions)")
        finally:
            store.close()
        return 0
    store = Store(settings.data_dir)  # writes: needs the folder lock (stop the bot first)
    try:
        cli_data.faq_accept(store, settings.faq_path, args.ids, _print)
    finally:
        store.close()
    return 0


def _decision_json(matcher: FaqMatcher, query: str) -> dict[str, Any]:
    d = matcher.match(query)
    return {
        "q": query,
        "decision": d.kind,
        "id": d.entry.id if d.kind == "answer" and d.entry is not None else None,
        "score": round(d.score, 4),
        "suggestions": [e.id for e in d.suggestions][:3],
    }
