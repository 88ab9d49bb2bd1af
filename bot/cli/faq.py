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
from bot.faq.matcher import FaqMatcher
from bot.faq.source import FaqSource
from bot.faq.text import TextAnalyzer
from bot.faq.writer import add_questions
from bot.store.folder import Store


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
        matcher = FaqSource(path, settings.match_settings).matcher
        for line in sys.stdin:
            query = line.rstrip("\n")
            if query.strip():
                say(json.dumps(_decision_json(matcher, query), ensure_ascii=False))
        return 0
    matcher = FaqMatcher(load_faq(path), TextAnalyzer(), settings.match_settings)
    report, _ = evaluate(matcher, load_cases(args.cases))
    if args.json:
        say(json.dumps(report.as_json(), ensure_ascii=False))
        return 0
    rows = report.as_json()
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        say(f"{key:<{width}}  {value}")
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
