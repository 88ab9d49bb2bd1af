"""The answer verifier: how likely the matcher's candidate entry is the one a message asks for.

A logistic regression over generic features of (message, candidate entry, runner-ups): the
lexical score and margins, how much of the ask the entry leaves unexplained, the sentence
model's similarity and margin, the best similarity of one of the entry's answer sentences
and its margin, whether its answer lacks the kind of thing asked for (a duration, an amount,
a time, a place, a contact: bot/faq/answer_type.py), and what the hand-set rules decided.
The matcher answers when the probability reaches `threshold`, and otherwise keeps the
rules' suggestion or silence (a rules' answer below it becomes a suggestion).  Nothing in it names a word or an entry, so it
carries over to other FAQs; its coefficients are fitted on the dev cases by `faq eval --cv`
(bot/faq/fitting.py), which also measures it out of sample, and shipped in
bot/faq/data/verifier.json.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Not the lexical score itself: it moves with the query side and the rules' verdict, and
# alongside them took a negative weight that answered more near misses out of sample.
FEATURES = (
    "score_margin",  # (its lexical score - the best other lexical score) / its score
    "explains",  # the share of the message the candidate explains (its query side)
    "explains_margin",  # … minus that of the best other lexical candidate
    "similarity",  # the sentence model's similarity of message and entry
    "similarity_margin",  # … minus the best similarity of another entry
    "sentence",  # the best similarity of one of its answer sentences
    "sentence_margin",  # … minus the same for the best other candidate
    "ask_gap",  # the share of the message held by ask words it leaves unexplained
    "type_missing",  # the share of the answer types asked for its answer holds nothing of
    "rules_answer",  # 1 when the hand-set thresholds answer with it
    "rules_suggest",  # 1 when they suggest or answer
)
# Ridge penalty of the fit: the features are standardised, so one value suits them all.
L2 = 1.0
NEWTON_STEPS = 30


@dataclass(frozen=True)
class Verifier:
    """Standardisation, coefficients and the answer threshold of the fitted regression."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: NDArray[np.float64]) -> float:
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(z @ np.asarray(self.weights)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))

    def probabilities(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        z = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        logits = np.clip(z @ np.asarray(self.weights) + self.bias, -40.0, 40.0)
        out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits))
        return out

    def with_threshold(self, threshold: float) -> Verifier:
        return Verifier(self.mean, self.scale, self.weights, self.bias, threshold)

    def as_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "weights": [round(v, 6) for v in self.weights],
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verifier:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"verifier features {data['features']} are not {list(FEATURES)}")
        return cls(
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["scale"]),
            tuple(float(v) for v in data["weights"]),
            float(data["bias"]),
            float(data["threshold"]),
        )

    @classmethod
    def shipped(cls) -> Verifier:
        """The coefficients fitted on the dev cases (bot/faq/data/verifier.json)."""
        text = resources.files("bot.faq.data").joinpath("verifier.json").read_text("utf-8")
        return cls.from_json(json.loads(text))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")


def fit(rows: NDArray[np.float64], correct: NDArray[np.float64], threshold: float) -> Verifier:
    """Ridge-penalised logistic regression by Newton's method on standardised features."""
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = np.column_stack([(rows - mean) / scale, np.ones(len(rows))])
    penalty = np.diag([*([L2] * rows.shape[1]), 0.0])  # the bias is not penalised
    w = np.zeros(z.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40.0, 40.0)))
        gradient = z.T @ (p - correct) + penalty @ w
        hessian = (z * (p * (1.0 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Verifier(
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in w[:-1]),
        float(w[-1]),
        threshold,
    )
