"""The compact dictionary segments exactly as jieba does with the same words."""

from __future__ import annotations

import random

import jieba
import pytest

from bot.faq.text import TextAnalyzer
from bot.faq.word_frequencies import WordFrequencies, jieba_dictionary
from bot.operator_files import parse_yaml, read_text
from tests.conftest import REPO, SHARED_DEV


@pytest.fixture(scope="module")
def tokenizer() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


def texts() -> list[str]:
    """Every question and answer of the bundled FAQ and the dev set's case wordings."""
    found: list[str] = []
    for entry in parse_yaml(read_text(REPO / "faq.yaml"), "faq.yaml")["entries"]:
        found.extend(entry.get("questions", []))
        found.append(entry.get("answer", ""))
    for name in ("cases.yaml", "cases-extra.yaml"):
        path = SHARED_DEV / name
        if path.is_file():
            found.extend(c["q"] for c in parse_yaml(read_text(path), name)["cases"])
    return [t for t in found if t]


def test_counts_and_total_are_jiebas(tokenizer: jieba.Tokenizer) -> None:
    words = WordFrequencies.read(jieba_dictionary())
    assert words.total == tokenizer.total
    mismatched = [w for w, n in tokenizer.FREQ.items() if words.get(w) != n]
    assert mismatched == []
    assert words.get("不是一个词吧") == 0


def test_segmentation_is_jiebas_word_for_word(tokenizer: jieba.Tokenizer) -> None:
    # The analyzer teaches its synonyms; teach jieba the same before comparing.
    fresh = TextAnalyzer()
    for word, count in fresh._words.taught.items():
        tokenizer.add_word(word, freq=count)
    corpus = texts()
    rng = random.Random(7)
    chars = "".join(corpus)
    corpus += ["".join(rng.choice(chars) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    corpus.append("重新" * 5000)  # a long run: the window bounds each lookup
    assert len(corpus) > 800
    differ = [t for t in corpus if fresh._segment(t) != tokenizer.lcut(t, HMM=False)]
    assert differ == []


def test_a_taught_word_is_one_word_and_its_prefix_is_not() -> None:
    fresh = TextAnalyzer()
    assert fresh._segment("丰仓小区东门") != ["丰仓小区", "东门"]
    fresh.add_words(["丰仓小区"])
    assert fresh._segment("丰仓小区东门") == ["丰仓小区", "东门"]
    assert fresh._words.get("丰仓小区") == 2000
    assert fresh._words.get("丰仓") == 0  # a prefix of a taught word is no word
