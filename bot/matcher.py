"""The FAQ index and the three-way match decision: answer, suggest or none."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Literal

from bot.faq import Faq, FaqEntry
from bot.match_coverage import Field, Term, cover, make_field, make_terms, weighted_cover
from bot.text import TextAnalyzer, idf

DecisionKind = Literal["answer", "suggest", "none"]

# Candidate retrieval: how much each feature family counts (see TextAnalyzer.features).
FEATURE_WEIGHTS = {"w": 1.0, "y": 0.6, "c": 0.5, "p": 0.35}
ANSWER_FIELD_WEIGHT = 0.3
CANDIDATES = 8
# Scoring: an answer text explains a query word less surely than a question does.
ANSWER_COVER_CREDIT = 0.8
QUERY_SIDE_EXPONENT = 0.7  # score = query_coverage**0.7 * question_coverage**0.3

Weighted = list[tuple[Term, float]]


@dataclass(frozen=True)
class MatchSettings:
    """Decision thresholds on the coverage score (0..1); README documents them under `faq.match`.

    answer_threshold  = 0.52  answer when the best entry scores at least this …
    answer_margin     = 0.30  … and beats the runner-up by this share of its own score,
                              i.e. (best - second) / best >= answer_margin
    suggest_threshold = 0.35  otherwise offer suggestions when the best scores at least this
    suggest_ratio     = 0.60  suggestions after the first must score >= ratio * best
    max_suggestions   = 3     at most this many suggestions, best first
    """

    answer_threshold: float = 0.52
    answer_margin: float = 0.30
    suggest_threshold: float = 0.35
    suggest_ratio: float = 0.60
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


@dataclass(frozen=True)
class _EntryIndex:
    questions: Field
    answer: Field
    phrasings: tuple[Weighted, ...]


class FaqMatcher:
    """A precomputed index over one FAQ; `match` never rescans raw text.

    `rank` retrieves candidates by cosine similarity over inverted postings, then scores
    each by term coverage: the informativeness-weighted share of the query's words that
    the entry explains (questions fully, answer text at 0.8), combined with the share of
    the entry's best-matching question that the query covers.
    """

    def __init__(self, faq: Faq, analyzer: TextAnalyzer, settings: MatchSettings | None = None):
        self.faq = faq
        self.analyzer = analyzer
        self.settings = settings or MatchSettings()
        analyzer.add_words(k for e in faq.entries for k in e.keywords)
        self._docs: list[_Doc] = []
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._idf: dict[str, float] = {}
        self._entries: list[_EntryIndex] = []
        tokens = analyzer.tokens
        phrasings = [[tokens(q) for q in (*e.questions, " ".join(e.keywords))] for e in faq.entries]
        answers = [tokens(e.answer) for e in faq.entries]
        self._build_postings(phrasings, answers)
        self._build_coverage(phrasings, answers)

    def _build_postings(self, phrasings: list[list[list[str]]], answers: list[list[str]]) -> None:
        question_feats = [[self.analyzer.features_of(q) for q in qs] for qs in phrasings]
        answer_feats = [self.analyzer.features_of(a) for a in answers]
        df: Counter[str] = Counter()
        for feats in question_feats:
            df.update(set().union(*feats))
        n = len(phrasings)
        self._idf = {f: idf(c, n) for f, c in df.items()}
        self._oov_idf = idf(0, n)
        for i, feats in enumerate(question_feats):
            for f in feats:
                if f:
                    self._add_doc(_Doc(i, 1.0, self._vector(f)))
            self._add_doc(_Doc(i, ANSWER_FIELD_WEIGHT, self._vector(answer_feats[i])))

    def _build_coverage(self, phrasings: list[list[list[str]]], answers: list[list[str]]) -> None:
        terms = [[make_terms(self.analyzer, q) for q in qs] for qs in phrasings]
        df: Counter[str] = Counter()
        for per_entry in terms:
            df.update({t.word for doc in per_entry for t in doc})
        n = len(phrasings)
        for answer, per_entry in zip(answers, terms, strict=True):
            weighted = tuple(
                [(t, idf(df[t.word], n) * self.analyzer.informativeness(t.word)) for t in doc]
                for doc in per_entry
                if doc
            )
            self._entries.append(
                _EntryIndex(
                    questions=make_field(t for doc in per_entry for t in doc),
                    answer=make_field(make_terms(self.analyzer, answer)),
                    phrasings=weighted,
                )
            )

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

    def _candidates(self, words: list[str]) -> list[int]:
        """Entries whose phrasings or answer share the most weighted features."""
        query = self._vector(self.analyzer.features_of(words))
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
        return sorted(best, key=best.__getitem__, reverse=True)[:CANDIDATES]

    def _score(self, query: Weighted, query_field: Field, entry: _EntryIndex) -> float:
        """Coverage of the query by the entry, blended with coverage of its best question."""
        total = sum(w for _, w in query)
        explained = sum(
            w * max(cover(t, entry.questions), ANSWER_COVER_CREDIT * cover(t, entry.answer))
            for t, w in query
        )
        query_side = explained / total if total else 0.0
        entry_side = max((weighted_cover(doc, query_field) for doc in entry.phrasings), default=0.0)
        return float(query_side**QUERY_SIDE_EXPONENT * entry_side ** (1 - QUERY_SIDE_EXPONENT))

    def rank(self, text: str) -> list[tuple[int, float]]:
        """Entries by score, best first (only retrieved candidates, scores in 0..1)."""
        words = self.analyzer.tokens(text)
        candidates = self._candidates(words)
        if not candidates:
            return []
        terms = make_terms(self.analyzer, words)
        query = [(t, self.analyzer.informativeness(t.word)) for t in terms]
        query_field = make_field(terms)
        scored = [(i, self._score(query, query_field, self._entries[i])) for i in candidates]
        return sorted(scored, key=lambda kv: kv[1], reverse=True)

    def match(self, text: str) -> Decision:
        ranked = self.rank(text)
        entries = self.faq.entries
        named = tuple((entries[i].id, round(s, 4)) for i, s in ranked[:5])
        s = self.settings
        if not ranked or ranked[0][1] <= 0.0:
            return Decision("none", 0.0, ranked=named)
        top_i, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top >= s.answer_threshold and (top - second) / top >= s.answer_margin:
            return Decision("answer", top, entry=entries[top_i], ranked=named)
        if top >= s.suggest_threshold:
            picks = tuple(
                entries[i] for i, sc in ranked[: s.max_suggestions] if sc >= s.suggest_ratio * top
            )
            return Decision("suggest", top, suggestions=picks, ranked=named)
        return Decision("none", top, ranked=named)
