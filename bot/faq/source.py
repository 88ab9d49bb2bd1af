"""The FAQ in service: loaded at start, reloaded when faq.yaml changes, kept on a bad edit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.config import MatchSettings
from bot.errors import ConfigError
from bot.faq.embedding_cache import Progress, default_cache_dir
from bot.faq.entries import Faq, load_faq
from bot.faq.matcher import FaqMatcher
from bot.faq.meaning import ModelStatus, build_meaning, missing_embeddings, turned_off
from bot.faq.text import TextAnalyzer

log = logging.getLogger(__name__)

# A reload that must embed more texts than this (about 20 ms each) is built in a thread
# while the previous FAQ keeps serving; fewer are embedded on the spot.
INLINE_EMBEDDINGS = 32


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

    `status` is the sentence model the bot loaded (bot/wiring.py), or why there is none.
    With the model (`match.sentence_model`, on by default) each build also gets the
    entries' vectors from the embedding cache (bot/faq/embedding_cache.py), embedding only
    the texts it has not seen.  `check_for_change` is called from the bot's event loop: an
    edit that needs many new embeddings is built in a worker thread and swapped in by a
    later call, the previous FAQ serving meanwhile.
    """

    def __init__(
        self,
        path: Path,
        settings: MatchSettings,
        analyzers: Callable[[], TextAnalyzer] = TextAnalyzer,
        *,
        status: ModelStatus,
        cache_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.path = path
        self._analyzers = analyzers
        self._settings = settings
        self.status = status if settings.sentence_model else turned_off()
        self.cache_dir = cache_dir or default_cache_dir()
        self._report = progress
        self._pending: Future[FaqMatcher] | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._stamp = self._file_stamp()
        self.matcher = self._build(load_faq(path))  # a bad file at start is a ConfigError

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _build(self, faq: Faq) -> FaqMatcher:
        meaning = build_meaning(faq, self.status, self.cache_dir, self._progress())
        return FaqMatcher(faq, self._analyzers(), self._settings, meaning)

    def _progress(self) -> Progress:
        if self._report is not None:
            return self._report
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - last[0] >= 5.0:
                last[0] = now
                log.info("embedding the FAQ for the sentence model: %d/%d texts", done, total)

        return report

    def reload(self) -> ReloadResult:
        """Load the file now, in this thread; on error keep serving the previous FAQ."""
        self._stamp = self._file_stamp()
        try:
            faq = load_faq(self.path)
        except ConfigError as exc:
            return self._refused(exc)
        return self._swap(self._build(faq))

    def _refused(self, exc: ConfigError) -> ReloadResult:
        log.error("FAQ reload failed, keeping %d entries: %s", self.size, exc)
        return ReloadResult(False, self.size, str(exc))

    def _swap(self, matcher: FaqMatcher) -> ReloadResult:
        self.matcher = matcher
        log.info("FAQ reloaded from %s: %d entries", self.path, self.size)
        return ReloadResult(True, self.size)

    def check_for_change(self) -> ReloadResult | None:
        """Reload when the file's mtime or size changed since the last look; a build that
        needs many new embeddings runs in a thread and is reported when done."""
        if self._pending is not None:
            if not self._pending.done():
                return None
            pending, self._pending = self._pending, None
            try:
                return self._swap(pending.result())
            except Exception as exc:  # the build's own bug: keep the FAQ that works
                log.exception("FAQ rebuild failed, keeping %d entries", self.size)
                return ReloadResult(False, self.size, str(exc))
        if self._file_stamp() == self._stamp:
            return None
        self._stamp = self._file_stamp()
        try:
            faq = load_faq(self.path)
        except ConfigError as exc:
            return self._refused(exc)
        missing = missing_embeddings(faq, self.status, self.cache_dir)
        if missing <= INLINE_EMBEDDINGS:
            return self._swap(self._build(faq))
        log.info("faq.yaml changed: embedding %d new texts in the background", missing)
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="faq-build")
        self._pending = self._worker.submit(self._build, faq)
        return None

    @property
    def size(self) -> int:
        return len(self.matcher.faq.entries)
