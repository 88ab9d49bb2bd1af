"""A sentence model that breaks while the bot serves: the message is decided by its words
alone, the failure is logged once, and nothing crashes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.faq.embedding_cache import EmbeddingCache
from bot.faq.entries import load_faq
from bot.faq.matcher import FaqMatcher
from bot.faq.meaning import EntryMeaning, Kind, ModelStatus, Vectors, tried
from bot.faq.text import TextAnalyzer
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.harness import start_bot

MESSAGES = (
    "路灯不亮了找谁修",
    "跟邻居因为漏水吵起来了 社区能给调解不",
    "在小区门口捡了个手机 交给谁啊",
)


class BreakableModel:
    """A deterministic model (a vector per text) that can be told to fail messages: by
    raising, or by returning rows of the wrong width.  The FAQ's own texts always embed."""

    def __init__(self, dim: int = 16) -> None:
        self._dim = dim
        self.failure: str | None = None  # None, "raise" or "shape"

    @property
    def name(self) -> str:
        return "breakable-1"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        if kind == "query" and self.failure == "raise":
            raise RuntimeError("engine out of memory")
        width = self._dim + 1 if kind == "query" and self.failure == "shape" else self._dim
        rows = np.empty((len(texts), width), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(f"{kind}:{text}".encode()).digest()[:4], "little")
            row = np.random.default_rng(seed).standard_normal(width)
            rows[i] = row / np.linalg.norm(row)
        return rows


@pytest.fixture
def model() -> BreakableModel:
    return BreakableModel()


@pytest.fixture
def matchers(model: BreakableModel, tmp_path: Path) -> tuple[FaqMatcher, FaqMatcher]:
    """The bundled FAQ with the breakable model, and lexical-only."""
    faq = load_faq(REPO / "faq.yaml")
    meaning = EntryMeaning(faq, model, EmbeddingCache(tmp_path, model.name, model.dim))
    return FaqMatcher(faq, TextAnalyzer(), meaning=meaning), FaqMatcher(faq, TextAnalyzer())


def _failures_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum("sentence model failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("failure", ["raise", "shape"])
def test_a_failing_model_leaves_each_message_to_its_words_and_is_logged_once(
    model: BreakableModel,
    matchers: tuple[FaqMatcher, FaqMatcher],
    failure: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_model, lexical = matchers
    model.failure = failure
    with caplog.at_level(logging.WARNING):
        for text in MESSAGES * 2:
            assert with_model.evidence(text).sims is None
            assert with_model.match(text) == lexical.match(text)
            with_model.category_of(text)  # asks for the evidence again: no crash either
    assert _failures_logged(caplog) == 1
    assert with_model.meaning is not None and with_model.meaning.failing


def test_the_model_is_used_again_once_it_works(
    model: BreakableModel,
    matchers: tuple[FaqMatcher, FaqMatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_model, _ = matchers
    model.failure = "raise"
    assert with_model.evidence(MESSAGES[1]).sims is None
    model.failure = None
    with caplog.at_level(logging.INFO):
        sims = with_model.evidence(MESSAGES[1]).sims
    assert sims is not None and sims.shape == (len(with_model.faq.entries),)
    assert with_model.meaning is not None and with_model.meaning.failing is None
    assert any("works again" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("failure", ["raise", "shape"])
def test_a_model_failing_its_test_embedding_is_no_model_and_says_why(
    model: BreakableModel, failure: str
) -> None:
    assert tried(model).model is model
    model.failure = failure
    status = tried(model)
    assert status.model is None and status.mode == "lexical only"
    assert "failed a test embedding" in status.reason
    assert ("out of memory" if failure == "raise" else "shape") in status.reason


async def test_the_running_bot_answers_residents_by_words_while_its_model_fails(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
    model: BreakableModel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The whole path a message takes (embedded ahead in a worker thread, then matched):
    residents get the lexical matcher's answers, and the operator reads one line per cause,
    not one per message."""
    lexical = await start_bot(make_settings(), clock, analyzer, ModelStatus(None, "off"))
    try:
        expected = [await lexical.chat("wu").say(m) for m in MESSAGES]
    finally:
        lexical.close()
    bot = await start_bot(
        make_settings(data_dir=make_settings().data_dir.with_name("broken")),
        clock,
        analyzer,
        ModelStatus(model, "breakable"),
    )
    try:
        model.failure = "raise"
        with caplog.at_level(logging.WARNING):
            said = [await bot.chat("wu").say(m) for m in MESSAGES]
        assert [[o.text for o in s] for s in said] == [[o.text for o in e] for e in expected]
        assert all(s for s in said)
        ahead = [r for r in caplog.records if "embedding messages ahead fails" in r.getMessage()]
        assert len(ahead) == 1 and _failures_logged(caplog) == 1
    finally:
        bot.close()
