"""`yishiting doctor`: one line per concern (FAQ, schedules, calendar, data, each network)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
from bot.schedule.book import load_schedules
from bot.schedule.holidays import doctor_line
from bot.store.folder import Store
from bot.wiring import language_model
from channels.base import ChannelError

MIN_FREE_BYTES = 100 * 1024 * 1024


def check_data(folder: Path) -> bool:
    """Integrity (every file the manifest names, every journal line), writeability, room."""
    if not folder.exists():
        say(f"data      NEW     {folder}/ will be created")
        return True
    try:
        store = Store(folder, read_only=True)
    except ConfigError as exc:
        say(f"data      FAILED  {exc}")
        return False
    journal = store.db.journal
    documents = sum(len(docs) for docs in journal.read().values())
    store.close()
    problem = _not_writable(folder)
    if problem:
        say(f"data      FAILED  {folder}/: not writable ({problem}); the bot cannot save here")
        return False
    free = shutil.disk_usage(folder).free
    used = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    summary = (
        f"{folder}/: {documents:,} records, commit {journal.commits:,}, "
        f"schema {journal.schema}; {free / 1e6:,.0f} MB free"
    )
    if free < max(MIN_FREE_BYTES, 3 * used):
        say(f"data      WARN    {summary}: too little room (a snapshot needs a second copy)")
        return True
    say(f"data      OK      {summary}")
    return True


def _not_writable(folder: Path) -> str:
    """Why a file cannot be created, written, fsynced and removed in `folder` ('' if it can)."""
    probe = folder / f".doctor-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


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
    status = language_model(settings)
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
    say(doctor_line(settings))
    ok = check_data(settings.data_dir) and ok
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
