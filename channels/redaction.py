"""One log filter for every secret, on the root logger's handlers (tracebacks included).

A filter on a named logger sees only the records made on that very logger; a filter on a
handler sees every record that reaches it, whichever logger made it. Adapters register
their secrets (`redact(token)`); the command line installs the filter when it sets up
logging, and each registration installs it on whatever root handlers exist then.
"""

from __future__ import annotations

import logging

_FORMATTER = logging.Formatter()
MIN_SECRET = 6  # shorter strings would redact ordinary words


class SecretFilter(logging.Filter):
    """Replaces every registered secret in a record: its message, its arguments, the
    traceback of its exception and its stack."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[str, str] = {}  # secret -> what is shown instead

    def add(self, secret: str, shown: str = "<secret>") -> None:
        if len(secret) >= MIN_SECRET:
            self._secrets[secret] = shown

    def clean(self, text: str) -> str:
        for secret, shown in self._secrets.items():
            if secret in text:
                text = text.replace(secret, shown)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it itself
            return True
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


SECRETS = SecretFilter()


def install() -> None:
    """Put the one filter on every handler of the root logger (and on the last resort)."""
    handlers = list(logging.getLogger().handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if SECRETS not in handler.filters:
            handler.addFilter(SECRETS)


def redact(secret: str, shown: str = "<secret>") -> None:
    """Keep `secret` out of every log line from now on."""
    SECRETS.add(secret, shown)
    install()
