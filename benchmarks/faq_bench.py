"""FAQ matcher speed at 100/1,000/10,000 entries against rapidfuzz WRatio in the same run."""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.faq.entries import Faq, FaqEntry, load_faq
from bot.faq.matcher import FaqMatcher
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=3, help="query passes; p50/p99 are medians over them"
    )
    args = parser.parse_args()
    analyzer = TextAnalyzer()
    print(
        f"{'entries':>8} {'build s (median)':>17} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'WRatio p50':>11} {'WRatio p99':>11} {'p99 ratio':>10}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
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
    bot, bare = startup_seconds(runs=5)
    print(
        f"\n`yishiting faq match`, first answer for the bundled FAQ: {bot:.2f} s median of 5 "
        f"(bare python start: {bare:.2f} s)"
    )


if __name__ == "__main__":
    main()
