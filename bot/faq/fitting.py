"""Fit the sentence model's constants and measure them out of sample (`faq eval --cv`).

The lexical thresholds stay as they are; the constants of the model's second opinion
(`MatchSettings.rerank_weight`, `agree_*`, `recall_threshold`) are chosen from GRID by the
objective below.  Cross-validation: the cases are shuffled (20 seeds) and halved; the
constants fitted on one half are scored on the other, and the reported figures are the
means over the 40 held-out halves, per cases file and over all of them.  The constants in
`MatchSettings` are those the same fit chooses on all the dev cases (the in-sample fit).
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

GRID: dict[str, tuple[float, ...]] = {
    "rerank_weight": (2.0, 4.0, 8.0),
    "agree_threshold": (0.30, 0.34, 0.38, 0.42, 0.46),
    "agree_lexical_margin": (0.0, 0.1, 0.2),
    "agree_model_margin": (0.0, 0.005, 0.01, 0.02),
    "recall_threshold": (0.25, 0.29),
}
SEEDS = 20
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


class Fit:
    """Every case's outcome under every setting of GRID, computed once."""

    def __init__(self, matcher: FaqMatcher, cases: Sequence[LabelledCase]) -> None:
        if matcher.meaning is not None:
            matcher.meaning.prepare([c.case.q for c in cases])
        evidence = [matcher.evidence(c.case.q) for c in cases]
        self.cases = list(cases)
        # lexical-only: nothing to fit, the one setting is the matcher's own
        self.settings = (
            settings_grid(matcher.settings) if matcher.uses_model else [matcher.settings]
        )
        index = {name: i for i, name in enumerate(OUTCOMES)}
        self.codes = np.array(
            [
                [
                    index[outcome(c.case, matcher.decide(e, s))]
                    for c, e in zip(cases, evidence, strict=True)
                ]
                for s in self.settings
            ],
            dtype=np.int64,
        )
        shipped = [
            index[outcome(c.case, matcher.decide(e))] for c, e in zip(cases, evidence, strict=True)
        ]
        self.shipped = np.array(shipped, dtype=np.int64)

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

    def cross_validate(self, seeds: int = SEEDS) -> dict[str | None, dict[str, float]]:
        """Mean held-out rates per cases file (and None: all of them) over 2 folds × seeds."""
        n = len(self.cases)
        sums: dict[str | None, dict[str, float]] = {}
        folds = 0
        for seed in range(seeds):
            order = list(range(n))
            random.Random(seed).shuffle(order)
            halves = (np.array(sorted(order[: n // 2])), np.array(sorted(order[n // 2 :])))
            for train, test in (halves, halves[::-1]):
                chosen = self.best(train)
                folds += 1
                for source in [None, *self.sources()]:
                    rows = self.rows_of(source, test)
                    rates = report_of(self.codes[chosen, rows]).rates
                    acc = sums.setdefault(source, dict.fromkeys(rates, 0.0))
                    for k, v in rates.items():
                        acc[k] += v
        return {src: {k: round(v / folds, 4) for k, v in r.items()} for src, r in sums.items()}

    def in_sample(self) -> tuple[MatchSettings, dict[str | None, dict[str, float]]]:
        """The setting fitted on all the cases, and its rates per file and over all."""
        rows = np.arange(len(self.cases))
        chosen = self.best(rows)
        return self.settings[chosen], {
            src: report_of(self.codes[chosen, self.rows_of(src, rows)]).rates
            for src in [None, *self.sources()]
        }

    def shipped_rates(self) -> dict[str | None, dict[str, float]]:
        rows = np.arange(len(self.cases))
        return {
            src: report_of(self.shipped[self.rows_of(src, rows)]).rates
            for src in [None, *self.sources()]
        }
