"""Measure FAQ matching quality against a cases file (the `faq eval` contract)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.faq.matcher import Decision, FaqMatcher
from bot.operator_files import parse_yaml, read_text


@dataclass(frozen=True)
class EvalCase:
    q: str
    expect: str | None


@dataclass(frozen=True)
class EvalReport:
    """Counts and rates exactly as `yishiting faq eval --json` prints them."""

    cases: int
    positive: int
    null: int
    answered_correct: int
    answered_wrong: int
    suggested_correct: int
    missed: int
    null_silent: int
    null_suggested: int
    null_answered: int

    @property
    def rates(self) -> dict[str, float]:
        def ratio(a: int, b: int) -> float:
            return round(a / b, 4) if b else 0.0

        return {
            "answer_rate": ratio(self.answered_correct, self.positive),
            "top3_rate": ratio(self.answered_correct + self.suggested_correct, self.positive),
            "wrong_answer_rate": ratio(self.answered_wrong + self.null_answered, self.cases),
            "null_silent_rate": ratio(self.null_silent, self.null),
        }

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), **self.rates}


def load_cases(path: Path) -> list[EvalCase]:
    name = str(path)
    data = parse_yaml(read_text(path), name)  # the operators' loader: limits, named lines
    raw = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise ConfigError(name, "expected a mapping with a 'cases' list", field="cases")
    cases: list[EvalCase] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise ConfigError(name, "each case needs text 'q'", entry=f"#{index}", field="q")
        expect = item.get("expect")
        if expect is not None and not isinstance(expect, str):
            raise ConfigError(
                name, "must be an entry id or null", entry=f"#{index}", field="expect"
            )
        cases.append(EvalCase(item["q"], expect))
    return cases


def evaluate(matcher: FaqMatcher, cases: list[EvalCase]) -> tuple[EvalReport, list[Decision]]:
    counts = {f.name: 0 for f in fields(EvalReport) if f.name not in ("cases", "positive", "null")}
    decisions = []
    if matcher.uses_model and matcher.meaning is not None:
        matcher.meaning.prepare([c.q for c in cases])  # one batch, through the embedding cache
    for case in cases:
        decision = matcher.match(case.q)
        decisions.append(decision)
        counts[outcome(case, decision)] += 1
    positive = sum(1 for c in cases if c.expect is not None)
    return EvalReport(
        cases=len(cases), positive=positive, null=len(cases) - positive, **counts
    ), decisions


def outcome(case: EvalCase, decision: Decision) -> str:
    """The EvalReport count this decision adds to."""
    if case.expect is None:
        return {"answer": "null_answered", "suggest": "null_suggested"}.get(
            decision.kind, "null_silent"
        )
    if decision.kind == "answer":
        assert decision.entry is not None
        return "answered_correct" if decision.entry.id == case.expect else "answered_wrong"
    if decision.kind == "suggest" and case.expect in {e.id for e in decision.suggestions}:
        return "suggested_correct"
    return "missed"
