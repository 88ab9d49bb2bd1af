"""The entries' answers sentence by sentence, as vectors: does an answer say what is asked?

An entry's meaning vector (bot/faq/meaning.py) blurs its whole answer into one point, so a
question about a detail the answer does not give (HPV疫苗咋预约 next to children's
vaccinations) lands as close as one about a detail it does give.  Here each answer is split
into its sentences and list items, each embedded as a passage with the entry's title in
front (`title：sentence`, so a sentence that only says 带身份证 still knows what it is
about), through the same embedding cache as the entries.  A message's evidence for an entry
is its best similarity to one of the entry's sentences, computed for the few candidate
entries only: one small matrix product per message with the query vector it already has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from bot.faq.embedding_cache import EmbeddingCache
from bot.faq.entries import Faq

Vectors = NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vectors]

# Sentence ends, list-item breaks and semicolons; commas stay inside a sentence.
_SPLIT = re.compile(r"[。！？!?；;\n]+")
# List numbering and stray separators around a piece ("1. ", "（2）", "、").
_TRIM = " \t\u3000，,：:、.-—0123456789()（）①②③④⑤⑥⑦⑧⑨"
# Pieces shorter than this (a bare "注意", a leftover number) say nothing on their own.
MIN_CHARS = 4


def answer_sentences(answer: str) -> list[str]:
    """The answer's sentences and list items, trimmed; the whole answer when none is long
    enough to stand alone."""
    pieces = [p.strip(_TRIM) for p in _SPLIT.split(answer)]
    kept = [p for p in pieces if len(p) >= MIN_CHARS]
    return kept or [answer.strip()]


def sentence_texts(faq: Faq) -> tuple[list[str], list[int]]:
    """What is embedded (`title：sentence`, as passages) and which entry each belongs to."""
    texts: list[str] = []
    owners: list[int] = []
    for i, entry in enumerate(faq.entries):
        for sentence in answer_sentences(entry.answer):
            texts.append(f"{entry.title}：{sentence}")
            owners.append(i)
    return texts, owners


class AnswerSentences:
    """Every entry's answer sentences as rows of one matrix, grouped by entry."""

    def __init__(self, faq: Faq, cache: EmbeddingCache, embed: Embed) -> None:
        texts, owners = sentence_texts(faq)
        vectors = cache.vectors(texts, "passage", embed, None)
        # float16 halves the memory of a large FAQ; only a candidate's rows are converted
        self._matrix = vectors.astype(np.float16)
        counts = np.bincount(np.asarray(owners, dtype=np.int64), minlength=len(faq.entries))
        self._starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        cache.forget()

    def best(self, query: Vectors, entries: Iterable[int]) -> dict[int, float]:
        """Each entry's best similarity of one of its answer sentences to the query vector."""
        wanted = sorted(set(entries))
        if not wanted:
            return {}
        spans = [(int(self._starts[i]), int(self._starts[i + 1])) for i in wanted]
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        # einsum on one thread, as in EntryMeaning.similarities (BLAS threads would linger)
        sims = np.einsum("ij,j->i", self._matrix[rows].astype(np.float32), query)
        out: dict[int, float] = {}
        offset = 0
        for entry, (a, b) in zip(wanted, spans, strict=True):
            out[entry] = float(sims[offset : offset + b - a].max())
            offset += b - a
        return out
