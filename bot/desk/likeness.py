"""Whether a new report is about the same problem as an open ticket ("me too").

Two signals, as in the FAQ matcher: the words (rapidfuzz token-set ratio over content
words, SIMILAR_REPORT) and, with the sentence model, the meaning (cosine of the two texts'
`query:` vectors).  The model compresses similarities into a narrow band: the same broken
light in other words scores about 0.94-0.98, another light or another problem of the same
kind 0.89-0.93.  So:

* a ticket from the same chat is the same problem when the words agree or the meaning
  does (SAME_CHAT_MEANING);
* a ticket from another chat (another compound's group: the main-road light both see) only
  when the meanings are very close (OTHER_CHAT_MEANING).

The vectors of tickets' texts are never computed on the event loop: a text the model has
not embedded yet (`RecentQueries` holds what residents just wrote) is queued, compared by
its words meanwhile, and embedded by the app's background duty in a worker thread
(`embed_waiting`), a few at a time, never on a message's way.
"""

from __future__ import annotations

import logging
import threading

from rapidfuzz import fuzz

from bot.faq.meaning import RecentQueries, SentenceModel, Vectors

log = logging.getLogger(__name__)

SIMILAR_REPORT = 70  # rapidfuzz token_set_ratio over content words: "the same problem"
SAME_CHAT_MEANING = 0.93
OTHER_CHAT_MEANING = 0.96
# Texts whose vectors are kept (about 1.5 KB each): well above the open tickets compared.
KEPT_VECTORS = 20_000
# Texts embedded in one call: the model's working memory grows with the batch (about 36 MB
# for a hundred texts), and a small batch keeps the process's peak where it is.
EMBED_BATCH = 8


def same_words(words: str, other: str) -> float:
    """The words' rule: token-set ratio (0-100) of two reports' content words."""
    return float(fuzz.token_set_ratio(words, other))


class ReportVectors:
    """The sentence model's vectors of reports' texts, computed off the event loop."""

    def __init__(self, model: SentenceModel | None) -> None:
        self.model = model
        self._vectors: dict[str, Vectors] = {}
        self._waiting: dict[str, None] = {}  # insertion-ordered set
        self._lock = threading.Lock()

    def vector(self, text: str) -> Vectors | None:
        """The text's vector if it is known (or just embedded as a message), else None and
        the text is queued for `embed_waiting`."""
        if self.model is None:
            return None
        known = self._vectors.get(text)
        if known is not None:
            return known
        if isinstance(self.model, RecentQueries) and self.model.knows(text):
            vec: Vectors = self.model.embed([text], "query")[0]
            self._keep(text, vec)
            return vec
        with self._lock:
            self._waiting[text] = None
        return None

    @property
    def waiting(self) -> bool:
        """Texts queued for `embed_waiting`."""
        return bool(self._waiting)

    def embed_waiting(self) -> None:
        """Embed the queued texts (slow: called in a worker thread)."""
        if self.model is None:
            return
        with self._lock:
            texts, self._waiting = list(self._waiting), {}
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            for text, vec in zip(batch, self.model.embed(batch, "query"), strict=True):
                self._keep(text, vec)

    def _keep(self, text: str, vec: Vectors) -> None:
        with self._lock:
            if len(self._vectors) >= KEPT_VECTORS:
                self._vectors.pop(next(iter(self._vectors)))
            self._vectors[text] = vec

    def similarity(self, text: str, other: str) -> float | None:
        """Cosine of the two texts' meanings, or None while either is unknown."""
        a, b = self.vector(text), self.vector(other)
        if a is None or b is None:
            return None
        return float(a @ b)


def same_problem(words: float, meaning: float | None, same_chat: bool) -> bool:
    """The rule of the module docstring, from the words' ratio and the meanings' cosine."""
    if same_chat:
        return words >= SIMILAR_REPORT or (meaning is not None and meaning >= SAME_CHAT_MEANING)
    return meaning is not None and meaning >= OTHER_CHAT_MEANING
