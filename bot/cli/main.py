"""The `yishiting` command line: run, chat, doctor, backup, faq, tickets, schedules, web."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.clock import zone
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.models import Role
from channels.base import ChannelError
from channels.redaction import install as install_secret_filter


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yishiting", description="百姓议事厅 community bot")
    p.add_argument(
        "--config",
        type=Path,
        help="settings file (default: $YISHITING_CONFIG or "
        "./yishiting.yaml when present; none is needed)",
    )
    _log_options(p, defaults=True)
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

    _faq_commands(sub)
    _data_commands(sub)
    _everywhere(sub)
    return p


if TYPE_CHECKING:  # the class is generic only to the type checker
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _faq_commands(sub: SubParsers) -> None:
    faq = sub.add_parser("faq", help="check, try and evaluate a faq.yaml")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    check = faq_sub.add_parser("check", help="validate and summarise")
    match = faq_sub.add_parser("match", help="one query per stdin line -> one JSON line")
    ev = faq_sub.add_parser("eval", help="score the matcher on a cases file")
    for q in (check, match, ev):
        q.add_argument("--faq", type=Path, help="faq.yaml (default: the configured one)")
    ev.add_argument(
        "--cases", type=Path, action="append", required=True, help="a cases file (repeatable)"
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument(
        "--cv", action="store_true", help="fit the model's constants: in-sample and 2-fold CV"
    )
    ev.add_argument(
        "--save-verifier",
        type=Path,
        metavar="PATH",
        help="with --cv: write the verifier fitted on all the cases (JSON) to PATH",
    )
    sugg = faq_sub.add_parser("suggestions", help="phrasings staff answered with /answer")
    accept = faq_sub.add_parser("accept", help="write suggestions into faq.yaml")
    accept.add_argument("ids", type=int, nargs="+")
    accept.add_argument("--faq", type=Path, help="faq.yaml (default: the configured one)")
    for q in (sugg, accept):
        q.add_argument("--data", type=Path, help="data folder (default ./data)")


def _data_commands(sub: SubParsers) -> None:
    backup = sub.add_parser(
        "backup", help="copy the data folder consistently, also while the bot runs"
    )
    backup.add_argument("dest", type=Path, help="a new folder for the copy")
    backup.add_argument("--data", type=Path, help="data folder (default ./data)")

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
    web = sub.add_parser("web", help="the web console: a login link made on the server")
    web_sub = web.add_subparsers(dest="web_command", required=True)
    link = web_sub.add_parser("link", help="print a one-time login link (valid 10 minutes)")
    link.add_argument("user", help="an account in roles.admins or roles.staff, e.g. telegram:123")
    link.add_argument("--data", type=Path, help="data folder (default ./data)")
    schedules = sub.add_parser("schedules", help="validate schedules/ or list what is coming")
    schedules_sub = schedules.add_subparsers(dest="schedules_command", required=True)
    schedules_sub.add_parser("check", help="validate every file and target")
    coming = schedules_sub.add_parser("list", help="the next occurrences of everything")
    coming.add_argument("--count", type=int, default=10)
    coming.add_argument("--from", dest="start", help="list from this time (default: now)")
    coming.add_argument("--data", type=Path, help="data folder (default ./data)")


def _log_options(p: argparse.ArgumentParser, *, defaults: bool) -> None:
    """-v, --log-json and --log-file: accepted before or after the subcommand."""
    keep: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
    p.add_argument("-v", "--verbose", action="store_true", help="log more", **keep)
    p.add_argument("--log-json", action="store_true", help="log one JSON object per line", **keep)
    p.add_argument(
        "--log-file",
        type=Path,
        help="log to this file (default: stderr; a console chat on a terminal logs to "
        "DATA/logs/yishiting.log so the chat stays readable)",
        **keep,
    )


def _everywhere(sub: SubParsers) -> None:
    for parser in sub.choices.values():
        _log_options(parser, defaults=False)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _everywhere(action)


def _logging(args: argparse.Namespace, settings: Settings) -> Path | None:
    """Log lines to stderr in the bot's time zone, or to a file; returns the file, if any."""
    from bot.cli.logs import configure
    from bot.cli.serve import console_on_terminal

    file: Path | None = args.log_file
    if file is None and args.command in ("run", "chat") and console_on_terminal(args):
        file = settings.data_dir / "logs" / "yishiting.log"  # not between the chat's lines
    level = (
        logging.DEBUG
        if args.verbose
        else (logging.INFO if args.command == "run" or file is not None else logging.WARNING)
    )
    tz = zone(settings.timezone)
    try:
        configure(level=level, tz=tz, json_lines=args.log_json, file=file)
    except OSError as exc:
        configure(level=level, tz=tz, json_lines=args.log_json)
        logging.getLogger(__name__).warning("cannot log to %s (%s): logging here", file, exc)
        return None
    return file


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)  # until the settings name the time zone
    install_secret_filter()
    try:
        overrides: dict[str, Any] = {
            "data_dir": getattr(args, "data", None),
            "faq": getattr(args, "faq", None),
        }
        settings = load_settings(args.config, overrides)
        args.log_file = _logging(args, settings)
        # Each command imports only what it needs: `schedules list` loads no FAQ or jieba.
        if args.command == "tickets":
            from bot.cli import tickets

            return tickets.run(args, settings)
        if args.command == "schedules":
            from bot.cli import schedules

            return schedules.run(args, settings)
        if args.command == "web":
            from bot.cli import web

            return web.run(args, settings)
        if args.command == "backup":
            from bot.cli import backup

            return backup.run(args, settings)
        if args.command == "doctor":
            from bot.cli import doctor

            return asyncio.run(doctor.run(settings))
        if args.command == "faq":
            from bot.cli import faq

            return faq.run(args, settings)
        from bot.cli import serve

        return asyncio.run(serve.run(args, settings))
    except ConfigError as exc:
        print(f"yishiting: {exc}", file=sys.stderr)
        return 2
    except ChannelError as exc:  # a network unreachable at start: the supervisor retries
        print(f"yishiting: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `yishiting … | head`: the reader has all it wanted
        sys.stderr.close()
        return 0
