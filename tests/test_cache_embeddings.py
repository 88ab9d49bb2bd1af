"""The real model through the shared embedding cache: a second build embeds nothing.

Runs early (by name), so the command-line tests that follow find the dev set's vectors in
the cache, as a restarted bot or a second `faq eval` does."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.faq.entries import load_faq
from bot.faq.evaluation import load_cases
from bot.faq.meaning import EntryMeaning, Kind, ModelStatus, SentenceModel, Vectors
from tests.conftest import REPO, SHARED_DEV


class Watched:
    """The real model, noting what it is asked to embed (same name: same cache)."""

    def __init__(self, model: SentenceModel) -> None:
        self.model = model
        self.embedded = 0

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def dim(self) -> int:
        return self.model.dim

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        self.embedded += len(texts)
        return self.model.embed(texts, kind)


@pytest.mark.parametrize("which", ["dev", "bundled"])
def test_a_second_build_embeds_nothing(which: str, sentence_model: ModelStatus) -> None:
    status = sentence_model
    assert status.model is not None
    if which == "dev":
        faq_path = SHARED_DEV / "faq.yaml"
        case_files = [SHARED_DEV / "cases.yaml", SHARED_DEV / "cases-extra.yaml"]
    else:
        faq_path = REPO / "faq.yaml"
        case_files = [REPO / "tests" / "data" / "bundled-faq-cases.yaml"]
    faq = load_faq(faq_path)
    cases = [c.q for f in case_files for c in load_cases(f)]
    first = EntryMeaning(faq, status.model)
    first.prepare(cases)
    watched = Watched(status.model)
    again = EntryMeaning(faq, watched)
    again.prepare(cases)
    assert watched.embedded == 0
    assert (again.matrix == first.matrix).all()
    for text in cases[:5]:
        assert abs(float((again.similarities(text) - first.similarities(text)).max())) < 1e-6
