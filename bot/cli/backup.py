"""`yishiting backup DEST`: a consistent copy of the data folder, safe while the bot runs."""

from __future__ import annotations

import argparse

from bot.cli.output import say
from bot.config import Settings
from bot.store.backup import backup


def run(args: argparse.Namespace, settings: Settings) -> int:
    done = backup(settings.data_dir, args.dest)
    say(
        f"backed up {settings.data_dir}/ to {done.destination}/: every commit up to "
        f"{done.commits:,} (a snapshot of {done.documents:,} records and the journal after it), "
        f"{done.bytes / 1e6:,.1f} MB in {done.seconds:.2f} s"
    )
    say(f"to restore: stop the bot, then copy {done.destination}/ back as the data folder")
    return 0
