"""The FAQ index and the three-way match decision: answer, suggest or none."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Literal

from bot.faq import Faq, FaqEntry
from bot.text import TextAnalyzer, idf

DecisionKind = Literal["answer", "suggest", "none"]

# How much each feature family counts (see TextAnalyzer.features).
FEATURE_WEIGHTS = {"w": 1.0, "y": 0.6, "c": 0.5, "p": 0.35}
ANSWER_FIELD_WEIGHT = 0.3


@dataclass(frozen=True)
class MatchSettings:
    """Decision thresholds; documented in README under `faq.match`."""

    answer_threshold: float = 0.45
    answer_margin: float = 0.08
    suggest_threshold: float = 0.25
    max_suggestions: int = 3


@dataclass(frozen=True)
class Decision:
    """The matcher's verdict for one query."""

    kind: DecisionKind
    score: float
    entry: FaqEntry | None = None
    suggestions: tuple[FaqEntry, ...] = ()
    ranked: tuple[tuple[str, float], ...] = field(default=(), compare=False)


@dataclass
class _Doc:
    entry: int
    field_weight: float
    vector: dict[str, float]


class FaqMatcher:
    """A precomputed index over one FAQ; `match` never rescans raw text."""

    def __init__(self, faq: Faq, analyzer: TextAnalyzer, settings: MatchSettings | None = None):
        self.faq = faq
        self.analyzer = analyzer
        self.settings = settings or MatchSettings()
        analyzer.add_words(k for e in faq.entries for k in e.keywords)
        self._docs: list[_Doc] = []
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._idf: dict[str, float] = {}
        self._build()

    def _build(self) -> None:
        entries = self.faq.entries
        question_feats = [
            [self.analyzer.features(q) for q in (*e.questions, " ".join(e.keywords))]
            for e in entries
        ]
        answer_feats = [self.analyzer.features(e.answer) for e in entries]
        df: Counter[str] = Counter()
        for feats in question_feats:
            df.update(set().union(*feats))
        n = len(entries)
        self._idf = {f: idf(c, n) for f, c in df.items()}
        self._oov_idf = idf(0, n)
        for i, feats in enumerate(question_feats):
            for f in feats:
                if f:
                    self._add_doc(_Doc(i, 1.0, self._vector(f)))
            self._add_doc(_Doc(i, ANSWER_FIELD_WEIGHT, self._vector(answer_feats[i])))

    def _add_doc(self, doc: _Doc) -> None:
        idx = len(self._docs)
        self._docs.append(doc)
        for feature, weight in doc.vector.items():
            self._postings[feature].append((idx, weight))

    def _vector(self, feats: Counter[str]) -> dict[str, float]:
        vec = {
            f: FEATURE_WEIGHTS[f[0]] * self._idf.get(f, self._oov_idf) * (1 + math.log(tf))
            for f, tf in feats.items()
        }
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}

    def rank(self, text: str) -> list[tuple[int, float]]:
        """Entries by score, best first."""
        query = self._vector(self.analyzer.features(text))
        dots: dict[int, float] = defaultdict(float)
        for feature, qw in query.items():
            for doc_idx, dw in self._postings.get(feature, ()):
                dots[doc_idx] += qw * dw
        best: dict[int, float] = {}
        for doc_idx, dot in dots.items():
            doc = self._docs[doc_idx]
            score = dot * doc.field_weight
            if score > best.get(doc.entry, 0.0):
                best[doc.entry] = score
        return sorted(best.items(), key=lambda kv: kv[1], reverse=True)

    def match(self, text: str) -> Decision:
        ranked = self.rank(text)
        entries = self.faq.entries
        named = tuple((entries[i].id, round(s, 4)) for i, s in ranked[:5])
        s = self.settings
        if not ranked:
            return Decision("none", 0.0, ranked=named)
        top_i, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top >= s.answer_threshold and top - second >= s.answer_margin:
            return Decision("answer", top, entry=entries[top_i], ranked=named)
        if top >= s.suggest_threshold:
            picks = tuple(
                entries[i] for i, sc in ranked[: s.max_suggestions] if sc >= s.suggest_threshold * 0.8
            )
            return Decision("suggest", top, suggestions=picks, ranked=named)
        return Decision("none", top, ranked=named)
