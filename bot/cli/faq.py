"""`yishiting faq check|match|eval|suggestions|accept`: the FAQ from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.output import say
from bot.config import Settings
from bot.errors import ConfigError
from bot.faq import placeholders
from bot.faq.entries import Faq, load_faq
from bot.faq.evaluation import evaluate, load_cases
from bot.faq.feedback import FaqSuggestions
from bot.faq.fitting import GRID, SEEDS, Fit, LabelledCase
from bot.faq.matcher import FaqMatcher
from bot.faq.source import FaqSource
from bot.faq.writer import add_questions
from bot.store.folder import Store
from bot.wiring import language_model


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.faq_command in ("suggestions", "accept"):
        return _suggestions(args, settings)
    return _faq(args, settings)


def _faq(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.faq_path
    if args.faq_command == "check":
        faq = load_faq(path)
        categories: dict[str, int] = {}
        for e in faq.entries:
            categories[e.category] = categories.get(e.category, 0) + 1
        questions = sum(len(e.questions) for e in faq.entries)
        say(
            f"{path}: OK — {len(faq.entries)} entries, {questions} questions, "
            f"{len(categories)} categories"
        )
        for name, count in sorted(categories.items(), key=lambda kv: -kv[1]):
            say(f"  {name}: {count}")
        return _check_promises(faq, str(path))
    if args.faq_command == "match":
        matcher = _source(settings).matcher
        for line in sys.stdin:
            query = line.rstrip("\n")
            if query.strip():
                say(json.dumps(_decision_json(matcher, query), ensure_ascii=False))
        return 0
    return _eval(args, _source(settings).matcher)


def _source(settings: Settings) -> FaqSource:
    model = language_model(settings)
    return FaqSource(settings.faq_path, settings.match_settings, status=model, progress=_progress)


def _eval(args: argparse.Namespace, matcher: FaqMatcher) -> int:
    files: list[Path] = args.cases
    cases = [LabelledCase(c, str(f)) for f in files for c in load_cases(f)]
    if args.cv:
        return _cross_validate(matcher, cases, args.json, args.save_verifier)
    reports = {str(f): evaluate(matcher, load_cases(f))[0] for f in files}
    combined = evaluate(matcher, [c.case for c in cases])[0] if len(files) > 1 else None
    if args.json:
        out = (combined or reports[str(files[0])]).as_json()
        if combined is not None:
            out["per_file"] = {name: r.as_json() for name, r in reports.items()}
        print(f"mode: {_mode(matcher)}", file=sys.stderr)
        say(json.dumps(out, ensure_ascii=False))
        return 0
    say(f"mode: {_mode(matcher)}")
    tables = dict(reports)
    if combined is not None:
        tables["all"] = combined
    for name, report in tables.items():
        if len(tables) > 1:
            say(f"\n{name}:")
        rows = report.as_json()
        width = max(len(k) for k in rows)
        for key, value in rows.items():
            say(f"{key:<{width}}  {value}")
    return 0


def _mode(matcher: FaqMatcher) -> str:
    return "lexical + sentence model" if matcher.uses_model else "lexical only"


def _progress(done: int, total: int) -> None:
    """The first build of a big FAQ embeds for minutes: show how far it is (on stderr)."""
    if total >= 100:
        end = "\n" if done == total else "\r"
        print(f"embedding the FAQ: {done}/{total}", end=end, file=sys.stderr, flush=True)


def _cross_validate(
    matcher: FaqMatcher, cases: list[LabelledCase], as_json: bool, save: Path | None
) -> int:
    fit = Fit(matcher, cases)
    shipped = fit.shipped_rates()
    chosen, verifier, in_sample = fit.in_sample()
    held_out = fit.cross_validate()
    thresholds_only = fit.cross_validate(with_verifier=False)
    fitted: dict[str, Any] = {k: getattr(chosen, k) for k in GRID}
    if verifier is not None:
        fitted["verifier_threshold"] = verifier.threshold
        if save is not None:
            verifier.save(save)
    if as_json:

        def named(d: dict[str | None, dict[str, float]]) -> dict[str, dict[str, float]]:
            return {k or "all": v for k, v in d.items()}

        say(
            json.dumps(
                {
                    "mode": _mode(matcher),
                    "shipped": named(shipped),
                    "fitted_settings": fitted,
                    "in_sample_fit": named(in_sample),
                    "cross_validated": named(held_out),
                    "cross_validated_thresholds_only": named(thresholds_only),
                },
                ensure_ascii=False,
            )
        )
        return 0
    say(f"mode: {_mode(matcher)}; constants fitted over {len(fit.settings)} settings")
    say("fitted on all cases: " + ", ".join(f"{k}={v}" for k, v in fitted.items()))
    header = f"{'cases':<28} {'figures':<26} {'answer':>7} {'top3':>7} {'wrong':>7} {'silent':>7}"
    say(header)
    for label, table in (
        ("shipped settings", shipped),
        ("in-sample fit", in_sample),
        (f"2-fold CV x {SEEDS} seeds", held_out),
        ("CV, thresholds only", thresholds_only),
    ):
        for source, r in table.items():
            say(
                f"{Path(source).name if source else 'all':<28} {label:<26} "
                f"{r['answer_rate']:>7.3f} {r['top3_rate']:>7.3f} "
                f"{r['wrong_answer_rate']:>7.4f} {r['null_silent_rate']:>7.3f}"
            )
    return 0


def _suggestions(args: argparse.Namespace, settings: Settings) -> int:
    if args.faq_command == "suggestions":
        store = Store(settings.data_dir, read_only=True)
        try:
            lines = faq_suggestions(store)
            say("\n".join(lines) if lines else "(no suggestions)")
        finally:
            store.close()
        return 0
    store = Store(settings.data_dir)  # writes: needs the folder lock (stop the bot first)
    try:
        faq_accept(store, settings.faq_path, args.ids, say)
    finally:
        store.close()
    return 0


def faq_suggestions(store: Store) -> list[str]:
    return [
        f"{s.id:>4}  {s.entry:<36} #{s.ticket}  {s.text}"
        for s in store.repo(FaqSuggestions).pending()
    ]


def faq_accept(store: Store, faq_path: Path, ids: list[int], say: Callable[[str], None]) -> None:
    pending = {s.id: s for s in store.repo(FaqSuggestions).pending()}
    unknown = [i for i in ids if i not in pending]
    if unknown:
        raise ConfigError(str(store.folder), f"no pending suggestion {unknown[0]}")
    additions: dict[str, list[str]] = {}
    for i in ids:
        additions.setdefault(pending[i].entry, []).append(pending[i].text)
    added = add_questions(faq_path, additions)
    store.repo(FaqSuggestions).remove(ids)
    say(f"{faq_path}: {added} phrasing(s) added to {len(additions)} entr(y/ies)")


def _decision_json(matcher: FaqMatcher, query: str) -> dict[str, Any]:
    d = matcher.match(query)
    return {
        "q": query,
        "decision": d.kind,
        "id": d.entry.id if d.kind == "answer" and d.entry is not None else None,
        "score": round(d.score, 4),
        "suggestions": [e.id for e in d.suggestions][:3],
    }


def _check_promises(faq: Faq, path: str) -> int:
    """Answers may only promise what exists: a placeholder the bot fills, a command, or an
    entry's action keyword. Unknown placeholders are errors (exit 2); a promise to send
    something that is no command or keyword is a warning."""
    keywords = {e.action.keyword for e in faq.entries if e.action and e.action.keyword}
    bad = 0
    for entry in faq.entries:
        for name in placeholders.unknown(entry.answer):
            bad += 1
            known = ", ".join(sorted(placeholders.NAMES))
            say(
                f"{path}, entry {entry.id!r}, field 'answer': unknown placeholder {{{name}}} ({known})"
            )
        for target in placeholders.promises(entry.answer):
            if not target.startswith(("/", "!")) and target not in keywords:
                say(
                    f"{path}, entry {entry.id!r}: warning: the answer asks residents to send "
                    f"“{target}”, which is no command and no entry's action keyword"
                )
    return 2 if bad else 0
