"""Log lines: to stderr or a file, in the bot's time zone, as text or JSON, secrets redacted.

One handler on the root logger carries the one secret filter (`channels.redaction`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO

from channels.redaction import install as install_secret_filter

NOISY = ("jieba", "apscheduler")  # their INFO lines say nothing an operator needs
CHATTY = ("httpx", "httpcore")  # a line per poll, with the bot token in the URL


class LocalTimeFormatter(logging.Formatter):
    """`2026-12-05 18:00:01.234+08:00 WARNING bot.app: …`: times in the bot's time zone."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.tz).isoformat(
            sep=" ", timespec="milliseconds"
        )


class JsonFormatter(LocalTimeFormatter):
    """One JSON object per line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False)


def configure(
    *,
    level: int,
    tz: tzinfo,
    json_lines: bool = False,
    file: Path | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """One handler on the root logger (stderr, `stream` or `file`), replacing any before it."""
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(tz) if json_lines else LocalTimeFormatter(tz))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    verbose = level <= logging.DEBUG
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_secret_filter()  # on this handler: every logger, every traceback
    return handler
