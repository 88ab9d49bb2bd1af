"""`yishiting doctor`: one line per concern (FAQ, schedules, data folder, each network)."""

from __future__ import annotations

from bot.cli.output import say
from bot.cli.serve import (
    MATRIX_ACCESS_TOKEN_ENV,
    MATRIX_PASSWORD_ENV,
    TELEGRAM_TOKEN_ENV,
    network_channels,
)
from bot.clock import zone
from bot.config import Settings
from bot.errors import ConfigError
from bot.faq.entries import load_faq
from bot.faq.meaning import model_status
from bot.schedule.book import load_schedules
from bot.store.folder import Store
from channels.base import ChannelError


async def run(settings: Settings) -> int:
    """One line per concern; exit 1 when anything configured does not work."""
    ok = True
    try:
        faq = load_faq(settings.faq_path)
        say(f"faq       OK      {settings.faq_path}: {len(faq.entries)} entries")
    except ConfigError as exc:
        ok = False
        say(f"faq       FAILED  {exc}")
    # The matcher's mode is a fact, not a failure: lexical-only still answers.
    status = model_status(bool(settings.match_settings.sentence_model))
    label = "MODEL" if status.model else "LEXICAL"
    say(f"matching  {label:<8}{status.mode}: {status.reason}")
    try:
        book = load_schedules(settings.schedules_path, zone(settings.timezone))
        evening = "evening service" if book.evening is not None else "no evening service"
        say(
            f"schedules OK      {settings.schedules_path}: {evening}, "
            f"{len(book.broadcasts)} broadcasts"
        )
    except ConfigError as exc:
        ok = False
        say(f"schedules FAILED  {exc}")
    if not settings.data_dir.exists():
        say(f"data      NEW     {settings.data_dir}/ will be created")
    else:
        try:
            Store(settings.data_dir, read_only=True).close()
            say(f"data      OK      {settings.data_dir}/")
        except ConfigError as exc:
            ok = False
            say(f"data      FAILED  {exc}")
    channels = network_channels(settings)
    for channel in channels:
        check = getattr(channel, "check", None)
        try:
            who = await check() if check is not None else "(no check available)"
            say(f"{channel.name:<9} OK      {who}")
        except ChannelError as exc:
            ok = False
            say(f"{channel.name:<9} FAILED  {exc}")
    names = {c.name for c in channels}
    if "telegram" not in names:
        say(f"telegram  OFF     set ${TELEGRAM_TOKEN_ENV} to enable")
    if "matrix" not in names:
        say(f"matrix    OFF     set ${MATRIX_PASSWORD_ENV} or ${MATRIX_ACCESS_TOKEN_ENV}")
    return 0 if ok else 1
