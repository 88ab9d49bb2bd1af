"""English questions against a Chinese-only FAQ, through the CC-CEDICT glossary."""

from __future__ import annotations

import logging

import pytest

from bot.faq.entries import parse_faq
from bot.faq.glossary import MAX_SENSES, Glossary, gloss_words, read_cedict, senses
from bot.faq.matcher import FaqMatcher
from bot.faq.text import TextAnalyzer, stem_english

STOPWORDS = frozenset({"the", "to", "of", "a"})

CHINESE_ONLY_FAQ = """
version: 1
entries:
  - id: battery-disposal
    category: 垃圾分类
    questions: ["废电池扔到哪个垃圾桶？", "用过的电池怎么处理"]
    answer: 废电池属于有害垃圾，请投放到红色有害垃圾桶。
  - id: committee-address
    category: 便民服务
    questions: ["居委会在哪里？", "社区办公室地址"]
    answer: 居委会在丰仓街12号院内，一楼东侧。
  - id: street-lights
    category: 市政设施
    questions: ["路灯坏了找谁修？"]
    answer: 请拨打12345或在群里@网格员报修，写明位置。
"""


def glossary(vocabulary: set[str], source: dict[str, str] | None = None) -> Glossary:
    if source is None:
        return Glossary(vocabulary, stem_english, STOPWORDS)
    return Glossary(vocabulary, stem_english, STOPWORDS, source=lambda: source)


def test_gloss_words_keep_short_translations_only() -> None:
    assert gloss_words("to park (a vehicle)", stem_english, STOPWORDS) == ["park"]
    assert gloss_words("CL:個|个[ge4]", stem_english, STOPWORDS) == []
    assert gloss_words("variant of 電池|电池", stem_english, STOPWORDS) == []
    long = "a person who volunteers for a good cause in the community"
    assert gloss_words(long, stem_english, STOPWORDS) == []


def test_senses_split_at_semicolons_outside_parentheses() -> None:
    glosses = "to retire (from the workforce; old use); to go into retirement/CL:個|个[ge4]"
    assert senses(glosses)[:2] == ["to retire", "to go into retirement"]
    words = glossary({"退休"}, source={"退休": glosses})
    assert words.translations("retire") == ("退休",)  # too long a gloss before the split


def test_real_cedict_translates_into_the_faq_vocabulary() -> None:
    words = glossary({"居委会", "废电池", "路灯", "垃圾桶"})
    assert words.translations("committee") == ("居委会",)
    assert words.translations("battery") == ("废电池",)  # found through its part 电池
    assert "路灯" in words.translations("street")
    assert words.translations("spaceship") == ()


def test_english_word_with_too_many_senses_is_ignored() -> None:
    senses = {f"词{i}": "thing" for i in range(MAX_SENSES + 1)}
    senses["电池"] = "battery/electric cell"
    words = glossary(set(senses), source=senses)
    assert words.translations("thing") == ()
    assert words.translations("battery") == ("电池",)


def test_missing_dictionary_degrades_to_no_translations(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> dict[str, str]:
        raise OSError("no such file")

    words = Glossary({"电池"}, stem_english, STOPWORDS, source=broken)
    with caplog.at_level(logging.WARNING, logger="bot.faq.glossary"):
        assert words.translations("battery") == ()
    assert "CC-CEDICT" in caplog.text


def test_cedict_is_read_from_the_installed_package() -> None:
    cedict = read_cedict()
    assert len(cedict) > 100_000
    assert "battery" in cedict["电池"].split("/")


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("Which bin do used batteries go in?", "battery-disposal"),
        ("Where is the neighbourhood committee?", "committee-address"),
        ("street light broken, who repairs it", "street-lights"),
    ],
)
def test_english_question_finds_chinese_only_entry(
    analyzer: TextAnalyzer, query: str, entry_id: str
) -> None:
    matcher = FaqMatcher(parse_faq(CHINESE_ONLY_FAQ, "faq.yaml"), analyzer)
    decision = matcher.match(query)
    offered = {e.id for e in decision.suggestions} | (
        {decision.entry.id} if decision.entry else set()
    )
    assert decision.kind != "none" and entry_id in offered, decision.ranked
    assert decision.ranked[0][0] == entry_id
