"""The matcher's candidate retrieval: inverted postings of weighted features over documents.

A document is a text of one or more FAQ entries (a phrasing, or an answer shared by every
entry that has it); a feature is a `TextAnalyzer.features_of` key.  Everything is held in
flat arrays rather than per-posting Python objects (two million tuples at 10,000 entries
were 130 MB and most of the matcher's memory):

* features: `dict[str, int]` to a feature id; `weights[id]` = family weight × idf;
* postings in CSR form: the postings of feature f are `docs[starts[f]:starts[f + 1]]`
  with their weights (× log-damped count) in `doc_weights`, in document order;
* documents: `scale[d]` = field weight / norm of the document's feature vector, and the
  entries of document d are `entries[entry_starts[d]:entry_starts[d + 1]]`.

`candidates` scores the documents sharing the query's features by their dot product,
summed feature by feature in the query's order (`np.bincount` adds in array order, so the
sums are the same floats as a plain loop's), and ranks the entries by their best
document, equal scores in the order the entries were first reached.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from bot.faq.text import idf

Ints = NDArray[np.int32]
Floats = NDArray[np.float64]


class PostingsBuilder:
    """Collects documents as (feature id, document, count) triples; `build` weighs them
    once every entry's features are known (idf needs them all) and sorts them by feature."""

    def __init__(self, family_weights: dict[str, float]) -> None:
        self._family = family_weights
        self._ids: dict[str, int] = {}
        self._df: Counter[int] = Counter()  # feature id -> entries with it in a phrasing
        self._entries = 0
        self._feature = array("i")
        self._doc = array("i")
        self._count = array("i")
        self._field_weight = array("d")
        self._entry_starts = array("i", [0])
        self._doc_entries = array("i")

    def add_entry(self, entry: int, phrasings: Iterable[dict[str, int]]) -> None:
        """One entry's phrasings (as feature counts), each a document of its own; every
        entry is added before the first shared document."""
        seen: set[int] = set()
        for feats in phrasings:
            if feats:
                seen.update(self.add_document((entry,), 1.0, feats))
        self._df.update(seen)
        self._entries += 1

    def add_document(
        self, entries: Sequence[int], field_weight: float, feats: dict[str, int]
    ) -> list[int]:
        """A document of `entries` with these feature counts; its features' ids."""
        doc = len(self._field_weight)
        known = self._ids
        ids = [known.setdefault(f, len(known)) for f in feats]  # a new feature: the next id
        self._feature.extend(ids)
        self._doc.extend([doc] * len(ids))
        self._count.extend(feats.values())
        self._field_weight.append(field_weight)
        self._doc_entries.extend(entries)
        self._entry_starts.append(len(self._doc_entries))
        return ids

    def build(self) -> Postings:
        n = self._entries
        oov = idf(0, n)
        weights = np.empty(len(self._ids), dtype=np.float64)
        for feature, fid in self._ids.items():
            count = self._df.get(fid)
            # a feature of answers only weighs as one no question has (as in a query)
            weights[fid] = self._family[feature[0]] * (oov if count is None else idf(count, n))
        features = np.frombuffer(self._feature, dtype=np.int32)
        docs = np.frombuffer(self._doc, dtype=np.int32)
        counts = np.frombuffer(self._count, dtype=np.int32)
        posting_weights = weights[features]
        repeated = counts != 1
        if repeated.any():
            damping = np.array([1 + math.log(c) if c else 0.0 for c in range(counts.max() + 1)])
            posting_weights[repeated] *= damping[counts[repeated]]
        ndocs = len(self._field_weight)
        # summed per document in its features' order, as the norm of a plain loop would be
        squares = np.bincount(docs, weights=posting_weights * posting_weights, minlength=ndocs)
        norms = np.sqrt(squares)
        scale = np.frombuffer(self._field_weight, dtype=np.float64) / np.where(
            norms > 0, norms, 1.0
        )
        order = np.argsort(features, kind="stable")  # by feature, documents in order
        starts = np.zeros(len(self._ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(features, minlength=len(self._ids)), out=starts[1:])
        return Postings(
            features=self._ids,
            weights=weights,
            starts=starts,
            docs=docs[order].copy(),
            doc_weights=posting_weights[order],
            scale=scale,
            entry_starts=np.frombuffer(self._entry_starts, dtype=np.int32).copy(),
            entries=np.frombuffer(self._doc_entries, dtype=np.int32).copy(),
        )


class Postings:
    """Weighted inverted postings over documents (see the module docstring)."""

    def __init__(
        self,
        *,
        features: dict[str, int],
        weights: Floats,
        starts: NDArray[np.int64],
        docs: Ints,
        doc_weights: Floats,
        scale: Floats,
        entry_starts: Ints,
        entries: Ints,
    ) -> None:
        self._features = features
        self._weights = weights.tolist()  # read one at a time: Python floats are quicker
        self._starts = starts
        self._docs = docs
        self._doc_weights = doc_weights
        self._scale = scale
        self._entry_starts = entry_starts
        self._entries = entries

    def candidates(self, feats: dict[str, int], limit: int, max_postings: int) -> list[int]:
        """The `limit` entries whose documents have the largest dot product with the
        query's features (family weight × idf × log-damped count), skipping features of
        more than `max_postings` documents (too common to matter, too long to walk)."""
        docs, contributions = self._postings_of(feats, max_postings)
        if not docs:
            return []
        doc_ids = np.concatenate(docs)
        dots = np.bincount(doc_ids, weights=np.concatenate(contributions))
        reached, first = np.unique(doc_ids, return_index=True)
        reached = reached[np.argsort(first)]  # in the order the documents were first reached
        scores = dots[reached] * self._scale[reached]
        entries, entry_scores = self._entries_of(reached, scores)
        distinct, first_reached, inverse = np.unique(
            entries, return_index=True, return_inverse=True
        )
        best = np.zeros(len(distinct), dtype=np.float64)
        np.maximum.at(best, inverse, entry_scores)
        order = np.lexsort((first_reached, -best))[:limit]
        return [int(e) for e in distinct[order]]

    def _postings_of(
        self, feats: dict[str, int], max_postings: int
    ) -> tuple[list[Ints], list[Floats]]:
        ids = self._features
        weights = self._weights
        starts = self._starts
        docs: list[Ints] = []
        contributions: list[Floats] = []
        for feature, count in feats.items():
            fid = ids.get(feature)
            if fid is None:  # in no document: adds nothing to any dot product
                continue
            lo, hi = int(starts[fid]), int(starts[fid + 1])
            if hi - lo > max_postings:
                continue
            weight = weights[fid]
            if count != 1:
                weight *= 1 + math.log(count)
            docs.append(self._docs[lo:hi])
            contributions.append(weight * self._doc_weights[lo:hi])
        return docs, contributions

    def _entries_of(self, docs: Ints, scores: Floats) -> tuple[Ints, Floats]:
        """Each document's entries with its score, in document order."""
        lo = self._entry_starts[docs]
        counts = self._entry_starts[docs + 1] - lo
        if bool((counts == 1).all()):
            return self._entries[lo], scores
        ends = np.cumsum(counts)
        positions = np.repeat(lo - (ends - counts), counts) + np.arange(int(ends[-1]))
        return self._entries[positions], np.repeat(scores, counts)

    @property
    def documents(self) -> int:
        return len(self._scale)
