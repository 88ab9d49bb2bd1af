"""The array postings retrieve exactly what the plain dictionary-of-lists loop they
replaced retrieved: the same candidates in the same order, ties included."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import pytest

from bot.faq.postings import PostingsBuilder
from bot.faq.text import idf

FAMILY = {"w": 1.0, "y": 0.6, "c": 0.5, "p": 0.35}
ANSWER_WEIGHT = 0.3
Doc = tuple[tuple[int, ...], float, dict[str, int]]


class PlainPostings:
    """The matcher's retrieval as it was: tuples in lists, dot products in a dict."""

    def __init__(self, phrasings: list[list[dict[str, int]]], answers: list[Doc]) -> None:
        df: Counter[str] = Counter()
        for feats in phrasings:
            df.update(set().union(*feats))
        n = len(phrasings)
        self.oov = idf(0, n)
        self.weights = {f: FAMILY[f[0]] * idf(c, n) for f, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.docs: list[tuple[tuple[int, ...], float]] = []
        for i, feats in enumerate(phrasings):
            for f in feats:
                if f:
                    self._add((i,), 1.0, f)
        for entries, weight, f in answers:
            self._add(entries, weight, f)

    def _weight(self, feature: str, count: int) -> float:
        weight = self.weights.get(feature)
        if weight is None:
            weight = FAMILY[feature[0]] * self.oov
        return weight if count == 1 else weight * (1 + math.log(count))

    def _add(self, entries: tuple[int, ...], field_weight: float, feats: dict[str, int]) -> None:
        idx = len(self.docs)
        total = 0.0
        for feature, count in feats.items():
            weight = self._weight(feature, count)
            total += weight * weight
            self.postings[feature].append((idx, weight))
        self.docs.append((entries, field_weight / (math.sqrt(total) or 1.0)))

    def candidates(self, feats: dict[str, int], limit: int, max_postings: int) -> list[int]:
        dots: dict[int, float] = {}
        for feature, count in feats.items():
            postings = self.postings.get(feature, [])
            if len(postings) > max_postings:
                continue
            qw = self._weight(feature, count)
            for doc, dw in postings:
                dots[doc] = dots.get(doc, 0.0) + qw * dw
        best: dict[int, float] = {}
        for doc, dot in dots.items():
            entries, scale = self.docs[doc]
            for entry in entries:
                if dot * scale > best.get(entry, 0.0):
                    best[entry] = dot * scale
        return sorted(best, key=best.__getitem__, reverse=True)[:limit]


def _features(rng: random.Random, vocabulary: list[str]) -> dict[str, int]:
    return {f: rng.choice((1, 1, 1, 2, 3)) for f in rng.sample(vocabulary, rng.randint(1, 12))}


def _faq(seed: int) -> tuple[list[list[dict[str, int]]], list[Doc], list[str]]:
    """Random entries; some phrasings repeated across entries and answers shared by many,
    so that equal scores are common."""
    rng = random.Random(seed)
    vocabulary = [f"{family}:{i}" for family in FAMILY for i in range(60)]
    common = [_features(rng, vocabulary) for _ in range(5)]
    phrasings = [
        [rng.choice(common) if rng.random() < 0.2 else _features(rng, vocabulary)]
        + [_features(rng, vocabulary) for _ in range(rng.randint(0, 3))]
        + [{}]  # an entry without keywords
        for _ in range(120)
    ]
    owners: dict[int, list[int]] = defaultdict(list)
    for entry in range(len(phrasings)):
        owners[rng.randrange(8)].append(entry)
    answers: list[Doc] = [
        (tuple(entries), ANSWER_WEIGHT, {f: c for f, c in _features(rng, vocabulary).items()})
        for entries in owners.values()
    ]
    return phrasings, answers, vocabulary


@pytest.mark.parametrize("seed", range(5))
def test_candidates_are_those_of_the_plain_loop(seed: int) -> None:
    phrasings, answers, vocabulary = _faq(seed)
    builder = PostingsBuilder(FAMILY)
    for entry, docs in enumerate(phrasings):
        builder.add_entry(entry, docs)
    for entries, weight, feats in answers:
        builder.add_document(entries, weight, feats)
    arrays, plain = builder.build(), PlainPostings(phrasings, answers)
    rng = random.Random(seed + 100)
    for _ in range(200):
        query = _features(rng, [*vocabulary, "w:unknown", "c:unknown"])
        for limit, max_postings in ((8, 2000), (3, 25)):
            expected = plain.candidates(query, limit, max_postings)
            assert arrays.candidates(query, limit, max_postings) == expected, query


def test_no_shared_feature_no_candidates() -> None:
    builder = PostingsBuilder(FAMILY)
    builder.add_entry(0, [{"w:路灯": 1}])
    assert builder.build().candidates({"w:医保": 1}, 8, 2000) == []
