"""The expected answer type: what a question asks for, and whether an answer holds it."""

from __future__ import annotations

import pytest

from bot.faq.answer_type import AnswerType, answer_types, expected_types, missing_share
from bot.faq.text import TextAnalyzer

DURATION, MONEY, TIME, PLACE, CONTACT = (
    AnswerType.DURATION,
    AnswerType.MONEY,
    AnswerType.TIME,
    AnswerType.PLACE,
    AnswerType.CONTACT,
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("居住证办下来要多长时间", {DURATION}),
        ("审批得几个工作日", {DURATION}),
        ("周六能约吗？得提前几天说", {DURATION}),
        ("办这个证多少钱", {MONEY}),
        ("调解室收费吗", {MONEY}),
        ("社区几点开门", {TIME}),
        ("暖气什么时候来", {TIME}),
        ("垃圾车周几来", {TIME}),
        ("狗证在哪办", {PLACE}),
        ("服务中心的地址是啥", {PLACE}),
        ("路灯坏了找谁", {CONTACT}),
        ("物业电话是多少", {CONTACT}),
        ("办居住证在哪里办？要多少钱", {PLACE, MONEY}),
        # Traditional script
        ("辦證要多久", {DURATION}),
        ("幾點開門", {TIME}),
        ("狗證在哪裡辦", {PLACE}),
        ("社區電話是多少", {CONTACT}),
        # English
        ("How long does the approval take?", {DURATION}),
        ("How much does a dog licence cost?", {MONEY}),
        ("What time does the office open?", {TIME}),
        ("Where is the neighbourhood committee?", {PLACE}),
        ("Who do I call about a broken street light?", {CONTACT}),
    ],
)
def test_the_wh_phrase_says_what_the_answer_must_hold(
    analyzer: TextAnalyzer, message: str, expected: set[AnswerType]
) -> None:
    assert expected_types(message, analyzer) == expected


@pytest.mark.parametrize(
    "message",
    [
        "能不能带狗进去",  # yes or no: any answer answers it
        "居住证怎么办",  # a procedure
        "HPV疫苗咋预约",
        "过期的药扔到哪个垃圾桶",  # which bin, not where
        "这都好几天了，暖气还不热，咋办",  # 好几天 "several days" asks nothing
        "过年那几天垃圾车还来不来",  # 那几天 "those days" neither
        "Can I bring my dog?",
        "Is it OK to charge my e-bike in the hallway?",  # charge a battery, not a fee
        "What should I say when I report a broken light?",  # when as a conjunction
    ],
)
def test_questions_that_expect_no_type(analyzer: TextAnalyzer, message: str) -> None:
    assert expected_types(message, analyzer) == frozenset()


def test_the_ask_clause_is_read_not_the_story(analyzer: TextAnalyzer) -> None:
    """Only the clauses that ask are read: the story's 一个月 asks for nothing."""
    assert expected_types("交了钱一个月了，在哪查进度", analyzer) == {PLACE}
    assert expected_types("暖气不热 屋里才16度 找谁", analyzer) == {CONTACT}


@pytest.mark.parametrize(
    ("answer", "held"),
    [
        ("受理后3个工作日内办结。", {DURATION}),
        ("审核需15天", {DURATION}),
        ("有效期一年", {DURATION}),
        ("当场办结", {DURATION}),
        ("每张30元", {MONEY}),
        ("免费", {MONEY}),
        ("周二、周四上午8:30开始", {TIME}),
        ("每月10号发放", {TIME}),
        ("到二楼窗口", {PLACE}),
        ("在小程序上操作", {PLACE}),
        ("拨打0319-1234567", {CONTACT}),
        ("请联系物业", {CONTACT}),
        ("Processing takes 5 working days, free of charge", {DURATION, MONEY}),
        ("受理後3個工作日內辦結，費用30元", {DURATION, MONEY}),  # Traditional
        ("週二上午8:30，到二樓窗口", {TIME, PLACE}),
    ],
)
def test_an_answer_holds_the_types_of_what_it_says(
    analyzer: TextAnalyzer, answer: str, held: set[AnswerType]
) -> None:
    assert held <= answer_types(answer, analyzer)


@pytest.mark.parametrize(
    ("answer", "lacks"),
    [
        ("年满3周岁的儿童", DURATION),  # an age, not a duration
        ("2025年起执行", DURATION),  # a year
        ("5月底前申请", DURATION),  # a month of the year, unlike 5个月
        ("带身份证和户口本", MONEY),
        ("带身份证和户口本", TIME),
    ],
)
def test_what_is_not_of_a_type(analyzer: TextAnalyzer, answer: str, lacks: AnswerType) -> None:
    assert lacks not in answer_types(answer, analyzer)


def test_the_missing_share(analyzer: TextAnalyzer) -> None:
    assert missing_share(frozenset(), frozenset()) == 0.0  # nothing expected
    assert missing_share(frozenset({DURATION}), frozenset({PLACE})) == 1.0
    assert missing_share(frozenset({DURATION, MONEY}), frozenset({MONEY})) == 0.5
    assert missing_share(frozenset({DURATION}), answer_types("3个工作日办结", analyzer)) == 0.0
    # a duration answers "when" (within 3 days); a date does not answer "how long"
    assert missing_share(frozenset({TIME}), frozenset({DURATION})) == 0.0
    assert missing_share(frozenset({DURATION}), frozenset({TIME})) == 1.0
