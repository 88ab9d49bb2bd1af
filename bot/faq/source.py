"""The FAQ in service: loaded at start, reloaded when faq.yaml changes, kept on a bad edit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import MatchSettings
from bot.errors import ConfigError
from bot.faq.entries import load_faq
from bot.faq.matcher import FaqMatcher
from bot.faq.text import TextAnalyzer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadResult:
    """What happened when the file changed: ok with the new size, or the error kept out."""

    ok: bool
    entries: int
    error: str = ""


class FaqSource:
    """Owns the live matcher; `check_for_change` swaps it only for a valid new file.

    Each build takes its analyzer from `analyzers`: a matcher teaches its analyzer the FAQ's
    keywords, so with a fresh one per build (the default) a keyword removed from faq.yaml
    stops shaping the segmentation at the next reload.
    """

    def __init__(
        self,
        path: Path,
        settings: MatchSettings,
        analyzers: Callable[[], TextAnalyzer] = TextAnalyzer,
    ) -> None:
        self.path = path
        self._analyzers = analyzers
        self._settings = settings
        self._stamp = self._file_stamp()
        self.matcher = self._build()  # a bad file at start is the operator's ConfigError

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _build(self) -> FaqMatcher:
        faq = load_faq(self.path)  # validated before an analyzer is made
        return FaqMatcher(faq, self._analyzers(), self._settings)

    def reload(self) -> ReloadResult:
        """Load the file now; on error keep serving the previous FAQ."""
        self._stamp = self._file_stamp()
        try:
            self.matcher = self._build()
        except ConfigError as exc:
            log.error("FAQ reload failed, keeping %d entries: %s", self.size, exc)
            return ReloadResult(False, self.size, str(exc))
        log.info("FAQ reloaded from %s: %d entries", self.path, self.size)
        return ReloadResult(True, self.size)

    def check_for_change(self) -> ReloadResult | None:
        """Reload when the file's mtime or size changed since the last look."""
        if self._file_stamp() == self._stamp:
            return None
        return self.reload()

    @property
    def size(self) -> int:
        return len(self.matcher.faq.entries)
