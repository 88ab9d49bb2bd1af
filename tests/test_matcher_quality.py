"""Matching quality floors on the shared dev set, and the text handling they rest on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import MatchSettings
from bot.faq.coverage import cover, make_field, make_term
from bot.faq.entries import Faq, FaqEntry, load_faq
from bot.faq.evaluation import EvalReport, evaluate, load_cases
from bot.faq.matcher import FaqMatcher
from bot.faq.meaning import ModelStatus
from bot.faq.source import FaqSource
from bot.faq.text import TextAnalyzer
from tests.conftest import REPO, SHARED_DEV


@pytest.fixture(scope="module")
def bundled(analyzer: TextAnalyzer) -> FaqMatcher:
    return FaqMatcher(load_faq(REPO / "faq.yaml"), analyzer)


def measured(faq: Path, cases: Path, status: ModelStatus, model: bool = True) -> EvalReport:
    """`yishiting faq eval` exactly: a fresh analyzer, since an FAQ teaches the shared one
    its keywords, which would make the figures depend on the tests that ran before; the
    sentence model as configured by default, or turned off (lexical-only)."""
    matcher = FaqSource(faq, MatchSettings(sentence_model=int(model)), status=status).matcher
    assert matcher.uses_model is model
    report, _ = evaluate(matcher, load_cases(cases))
    return report


def _dev() -> Path:
    if not SHARED_DEV.is_dir():
        pytest.fail(f"the shared dev set is missing at {SHARED_DEV}")
    return SHARED_DEV


def test_dev_set_floors(sentence_model: ModelStatus) -> None:
    """Floors at the level reached with the sentence model and the answer verifier
    (in-sample: their constants were fitted on these cases; README has the cross-validated
    figures).  Never lower these.

    The model answers more (0.78 -> 0.82) and suggests where the lexical matcher was silent
    but both agree on the entry (top-3 up), which costs some silence (0.78 -> 0.72); the
    verifier answers more again (0.82 -> 0.85) and, on the extra cases, turns near misses
    the thresholds answered into suggestions (wrong 0.0825 -> 0.06); the expected answer
    type (bot/faq/answer_type.py) turns two more into suggestions (extra: wrong 0.06 ->
    0.055)."""
    rates = measured(_dev() / "faq.yaml", _dev() / "cases.yaml", sentence_model).rates
    assert rates["wrong_answer_rate"] <= 0.0182, rates
    assert rates["answer_rate"] >= 0.85, rates
    assert rates["top3_rate"] >= 0.945, rates
    assert rates["null_silent_rate"] >= 0.72, rates
    extra = measured(_dev() / "faq.yaml", _dev() / "cases-extra.yaml", sentence_model).rates
    assert extra["wrong_answer_rate"] <= 0.055, extra
    assert extra["answer_rate"] >= 0.70, extra
    assert extra["top3_rate"] >= 0.895, extra
    assert extra["null_silent_rate"] >= 0.645, extra


def test_dev_set_floors_lexical_only(sentence_model: ModelStatus) -> None:
    """Where the model is turned off or unavailable the lexical matcher is what it was."""
    rates = measured(_dev() / "faq.yaml", _dev() / "cases.yaml", sentence_model, model=False).rates
    assert rates["wrong_answer_rate"] <= 0.02, rates
    assert rates["answer_rate"] >= 0.77, rates
    assert rates["top3_rate"] >= 0.94, rates
    assert rates["null_silent_rate"] >= 0.78, rates


def test_bundled_faq_held_out_floors(sentence_model: ModelStatus) -> None:
    """Floors at the level reached on cases written for the bundled FAQ before tuning; the
    model's constants were fitted on the dev set only, so these are held-out figures."""
    cases = REPO / "tests" / "data" / "bundled-faq-cases.yaml"
    report = measured(REPO / "faq.yaml", cases, sentence_model)
    assert (report.positive, report.null) == (73, 16)
    rates = report.rates
    assert rates["wrong_answer_rate"] <= 0.045, rates
    assert rates["answer_rate"] >= 0.915, rates
    assert rates["top3_rate"] >= 0.985, rates
    assert rates["null_silent_rate"] >= 0.62, rates
    lexical = measured(REPO / "faq.yaml", cases, sentence_model, model=False).rates
    assert lexical["wrong_answer_rate"] <= 0.045, lexical
    assert lexical["answer_rate"] >= 0.90, lexical
    assert lexical["top3_rate"] >= 0.97, lexical
    assert lexical["null_silent_rate"] >= 0.68, lexical


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full width
        ("醫保網上繳費怎麼弄", "医保网上缴费怎么弄"),  # Traditional -> Simplified
        ("好的👍👍 [抱拳]", "好的"),  # emoji, WeChat emoticons
        ("@张姐 晚上跳舞去不？", "晚上跳舞去不"),  # mentions, punctuation
    ],
)
def test_normalize(analyzer: TextAnalyzer, raw: str, expected: str) -> None:
    assert analyzer.normalize(raw) == expected


def test_chatter_and_thanks_have_no_content(analyzer: TextAnalyzer) -> None:
    for text in ("谢谢群主🙏", "大家好", "麻烦问一下", "thanks!", "[抱拳][抱拳]"):
        assert analyzer.tokens(text) == [], text
    assert analyzer.tokens("群主你好，麻烦问一下路灯坏了找谁") != []


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("几点上班", True),
        ("医保交了吗", True),
        ("路灯坏了？", True),
        ("Is the office open on Sunday", True),
        ("Sorry, is the office open today", True),  # an inverted clause after a comma
        ("路灯黑了好几天了", False),  # 好几: "several", not "how many"
        ("晚上啥也看不见", False),  # 啥也: "nothing at all"
        ("this is nice, thanks", False),  # 'is' inside 'this' is not the word 'is'
        ("谢谢大家", False),
    ],
)
def test_is_question(analyzer: TextAnalyzer, text: str, asks: bool) -> None:
    assert analyzer.is_question(text) is asks


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("医报在手机上怎么交", "medical-insurance-online-payment"),  # homophone typo 医报
        ("居住正在哪办", "residence-permit"),  # 居住证在 mistyped, segmented 居住 正在
        ("医疗保险网上交费", "medical-insurance-online-payment"),  # synonym + 交费/缴费
        ("街灯不亮了", "street-lights-broken"),  # synonym 街灯/路灯
        ("養老金資格認證怎麼做", "pension-qualification-certification"),  # Traditional
        ("How do I pay resident medical insurance online?", "medical-insurance-online-payment"),
        # three entries say 'community office' in English; the rest of the question decides
        ("Is the community office open on Saturday?", "office-hours"),
        ("Can the community office issue a certificate?", "certificates-issuable"),
    ],
)
def test_typical_resident_questions_are_answered(
    bundled: FaqMatcher, query: str, entry_id: str
) -> None:
    decision = bundled.match(query)
    assert decision.kind == "answer" and decision.entry is not None, decision.ranked
    assert decision.entry.id == entry_id


@pytest.mark.parametrize(
    "query", ["今天中午吃的饺子 韭菜馅的 香", "双色球昨晚开的啥号", "iPhone 16 值得买吗"]
)
def test_off_topic_gets_nothing(bundled: FaqMatcher, query: str) -> None:
    assert bundled.match(query).kind == "none"


def test_rare_glued_words_are_split_back(analyzer: TextAnalyzer) -> None:
    assert analyzer.tokens("捡了个钱包") == ["捡", "钱包"]  # 了 glued inside a rare word
    assert analyzer.tokens("帮帮忙") == ["帮忙"]  # a repeated first character
    assert analyzer.tokens("奶奶") == ["奶奶"]  # common words stay whole


def test_words_taught_later_are_kept_whole() -> None:
    """Content words are memoised per segmenter word; a keyword taught afterwards (a
    service called 帮帮忙) must no longer be unglued as a rare word."""
    analyzer = TextAnalyzer()
    assert analyzer.tokens("帮帮忙") == ["帮忙"]
    analyzer.add_words(["帮帮忙"])
    assert analyzer.tokens("帮帮忙") == ["帮帮忙"]


def test_near_variant_of_a_long_faq_word(analyzer: TextAnalyzer) -> None:
    faq = Faq(
        "t",
        (
            FaqEntry("checkup", "c", ("核酸检测在哪做",), "社区卫生站。", keywords=("核酸检测",)),
            FaqEntry("lights", "c", ("路灯坏了找谁修",), "打物业电话。"),
        ),
    )
    matcher = FaqMatcher(faq, analyzer)
    words, _ = matcher._query("核酸检查在哪做")
    assert "核酸检查" in words  # split by the segmenter, joined again
    field = make_field([make_term(analyzer, "核酸检测")])
    assert cover(make_term(analyzer, "核酸检查"), field) == pytest.approx(0.85 * 3 / 4)
    assert cover(make_term(analyzer, "病毒检查"), field) < 0.85 / 2  # two characters differ
