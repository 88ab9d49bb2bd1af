"""Fit the model's constants and the answer verifier, and measure them held out (`--cv`).

The lexical thresholds stay as they are.  First the constants of the model's second
opinion (`MatchSettings.rerank_weight`, `agree_*`, `recall_threshold`) are chosen from GRID
by the objective below, with the verifier off; then, under those constants, the verifier's
logistic regression (bot/faq/verifier.py) is fitted on the same cases and its answer
threshold chosen from THRESHOLDS by the same objective.  Cross-validation: the cases are shuffled (20
seeds) and halved; everything fitted on one half is scored on the other, and the reported
figures are the means over the 40 held-out halves, per cases file and over all of them.
The constants in `MatchSettings` and bot/faq/data/verifier.json are those the same fit
chooses on all the dev cases (the in-sample fit).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.config import MatchSettings
from bot.faq.evaluation import EvalCase, EvalReport, outcome
from bot.faq.matcher import FaqMatcher
from bot.faq.verifier import FEATURES, Verifier, fit

GRID: dict[str, tuple[float, ...]] = {
    "rerank_weight": (2.0, 4.0, 8.0),
    "agree_threshold": (0.30, 0.34, 0.38, 0.42, 0.46),
    "agree_lexical_margin": (0.0, 0.1, 0.2),
    "agree_model_margin": (0.0, 0.005, 0.01, 0.02),
    "recall_threshold": (0.25, 0.29),
}
SEEDS = 20
# The verifier answers from this probability that its candidate is right (chosen per fit).
THRESHOLDS = tuple(round(0.5 + 0.025 * i, 3) for i in range(19))  # 0.5 .. 0.95
# The highest threshold whose objective is within this of the best is chosen: a lower one
# answers more for a gain within the noise of a few hundred cases, and wrong answers cost most.
TOLERANCE = 0.01
# A wrong answer costs four correct ones; a right suggestion half an answer, a kept silence a
# quarter (the lexical thresholds were chosen in the same spirit: wrong answers cost most).
WEIGHTS = {
    "answer_rate": 1.0,
    "wrong_answer_rate": -4.0,
    "top3_rate": 0.5,
    "null_silent_rate": 0.25,
}

OUTCOMES = (
    "answered_correct",
    "answered_wrong",
    "suggested_correct",
    "missed",
    "null_silent",
    "null_suggested",
    "null_answered",
)


@dataclass(frozen=True)
class LabelledCase:
    case: EvalCase
    source: str  # the cases file it came from


def objective(rates: dict[str, float]) -> float:
    return sum(w * rates[k] for k, w in WEIGHTS.items())


def report_of(codes: NDArray[np.int64]) -> EvalReport:
    counts = np.bincount(codes, minlength=len(OUTCOMES))
    by_name = {name: int(counts[i]) for i, name in enumerate(OUTCOMES)}
    positive = sum(by_name[k] for k in OUTCOMES[:4])
    null = sum(by_name[k] for k in OUTCOMES[4:])
    return EvalReport(cases=positive + null, positive=positive, null=null, **by_name)


def settings_grid(base: MatchSettings) -> list[MatchSettings]:
    grid: list[MatchSettings] = []
    for values in itertools.product(*GRID.values()):
        changes: dict[str, Any] = dict(zip(GRID, values, strict=True))
        grid.append(replace(base, **changes))
    return grid


@dataclass(frozen=True)
class Judged:
    """Under one setting: the verifier's features per case (judged rows only count), whether
    its candidate is right, and each case's outcome when it answers and when it does not."""

    judged: NDArray[np.bool_]
    features: NDArray[np.float64]
    correct: NDArray[np.float64]
    if_answered: NDArray[np.int64]
    if_not: NDArray[np.int64]

    def codes(self, verifier: Verifier) -> NDArray[np.int64]:
        answers = self.judged & (verifier.probabilities(self.features) >= verifier.threshold)
        return np.where(answers, self.if_answered, self.if_not)


class Fit:
    """Every case's outcome under every setting of GRID, computed once."""

    def __init__(self, matcher: FaqMatcher, cases: Sequence[LabelledCase]) -> None:
        if matcher.meaning is not None:
            matcher.meaning.prepare([c.case.q for c in cases])
        self.matcher = matcher
        self.evidence = [matcher.evidence(c.case.q) for c in cases]
        self.cases = list(cases)
        # lexical-only: nothing to fit, the one setting is the matcher's own
        self.settings = (
            settings_grid(replace(matcher.settings, answer_verifier=0))
            if matcher.uses_model
            else [matcher.settings]
        )
        self.uses_verifier = matcher.uses_model and bool(matcher.settings.answer_verifier)
        self.codes = np.array([self._codes(s) for s in self.settings], dtype=np.int64)
        self.shipped = self._codes(matcher.settings)
        self._judged: dict[int, Judged] = {}

    def _codes(self, s: MatchSettings, verifier: Verifier | None = None) -> NDArray[np.int64]:
        index = {name: i for i, name in enumerate(OUTCOMES)}
        return np.array(
            [
                index[outcome(c.case, self.matcher.decide(e, s, verifier))]
                for c, e in zip(self.cases, self.evidence, strict=True)
            ],
            dtype=np.int64,
        )

    def judged(self, k: int) -> Judged:
        """The verifier's view of every case under grid setting k (computed once)."""
        known = self._judged.get(k)
        if known is not None:
            return known
        s = replace(self.settings[k], answer_verifier=1)
        ids = [e.id for e in self.matcher.faq.entries]
        rows: list[NDArray[np.float64]] = []
        judged: list[bool] = []
        correct: list[float] = []
        for c, e in zip(self.cases, self.evidence, strict=True):
            found = self.matcher.verifier_features(e, s)
            judged.append(found is not None)
            candidate, features = found if found is not None else (-1, None)
            rows.append(features if features is not None else np.zeros(len(FEATURES)))
            correct.append(float(candidate >= 0 and ids[candidate] == c.case.expect))
        always = self.matcher.verifier.with_threshold(-1.0)
        never = self.matcher.verifier.with_threshold(2.0)
        self._judged[k] = known = Judged(
            np.array(judged, dtype=np.bool_),
            np.array(rows, dtype=np.float64),
            np.array(correct, dtype=np.float64),
            self._codes(s, always),
            self._codes(s, never),
        )
        return known

    def verifier(self, k: int, rows: NDArray[np.int64]) -> Verifier | None:
        """The verifier fitted on these cases under grid setting k, with the threshold of
        the best objective on them; None when it does not apply (no model)."""
        if not self.uses_verifier:
            return None
        j = self.judged(k)
        train = np.array([r for r in rows if j.judged[r]], dtype=np.int64)
        if len(train) == 0 or len(set(j.correct[train])) < 2:
            return None
        fitted = fit(j.features[train], j.correct[train], THRESHOLDS[0])
        scores = [
            objective(report_of(j.codes(fitted.with_threshold(t))[rows]).rates) for t in THRESHOLDS
        ]
        best = max(scores)
        # the highest threshold within TOLERANCE of the best: fewer answers for no real gain
        chosen = max(t for t, v in zip(THRESHOLDS, scores, strict=True) if v >= best - TOLERANCE)
        return fitted.with_threshold(chosen)

    def fitted_codes(
        self, rows: NDArray[np.int64]
    ) -> tuple[int, Verifier | None, NDArray[np.int64]]:
        """Grid setting and verifier fitted on these cases, and every case's outcome."""
        chosen = self.best(rows)
        verifier = self.verifier(chosen, rows)
        if verifier is None:
            return chosen, None, self.codes[chosen]
        return chosen, verifier, self.judged(chosen).codes(verifier)

    def best(self, rows: NDArray[np.int64]) -> int:
        """The grid setting with the best objective on these cases (the first on ties)."""
        scores = [
            objective(report_of(self.codes[k, rows]).rates) for k in range(len(self.settings))
        ]
        return int(np.argmax(scores))

    def sources(self) -> list[str]:
        return list(dict.fromkeys(c.source for c in self.cases))

    def rows_of(self, source: str | None, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        if source is None:
            return rows
        return np.array([r for r in rows if self.cases[r].source == source], dtype=np.int64)

    def cross_validate(
        self, seeds: int = SEEDS, with_verifier: bool = True
    ) -> dict[str | None, dict[str, float]]:
        """Mean held-out rates per cases file (and None: all of them) over 2 folds × seeds,
        with the verifier fitted too or by the thresholds alone."""
        n = len(self.cases)
        sums: dict[str | None, dict[str, float]] = {}
        folds = 0
        for seed in range(seeds):
            order = list(range(n))
            random.Random(seed).shuffle(order)
            halves = (np.array(sorted(order[: n // 2])), np.array(sorted(order[n // 2 :])))
            for train, test in (halves, halves[::-1]):
                if with_verifier:
                    _, _, codes = self.fitted_codes(train)
                else:
                    codes = self.codes[self.best(train)]
                folds += 1
                for source in [None, *self.sources()]:
                    rows = self.rows_of(source, test)
                    rates = report_of(codes[rows]).rates
                    acc = sums.setdefault(source, dict.fromkeys(rates, 0.0))
                    for k, v in rates.items():
                        acc[k] += v
        return {src: {k: round(v / folds, 4) for k, v in r.items()} for src, r in sums.items()}

    def in_sample(
        self,
    ) -> tuple[MatchSettings, Verifier | None, dict[str | None, dict[str, float]]]:
        """The setting and verifier fitted on all the cases, and their rates per file and
        over all."""
        rows = np.arange(len(self.cases))
        chosen, verifier, codes = self.fitted_codes(rows)
        return (
            self.settings[chosen],
            verifier,
            {
                src: report_of(codes[self.rows_of(src, rows)]).rates
                for src in [None, *self.sources()]
            },
        )

    def shipped_rates(self) -> dict[str | None, dict[str, float]]:
        rows = np.arange(len(self.cases))
        return {
            src: report_of(self.shipped[self.rows_of(src, rows)]).rates
            for src in [None, *self.sources()]
        }
