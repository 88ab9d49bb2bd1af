"""The expected answer type: what kind of thing a question's answer must contain.

Classic question answering: the wh-phrase of a question says what its answer has to hold.
多长时间 / 多久 / 几天 / how long ask for a duration; 多少钱 / 收费吗 / how much for an amount of
money (or "free"); 几点 / 什么时候 / 哪天 / when for a time or date; 在哪 / 地址 / where for a
place; 找谁 / 电话 / who for a person, an office or a phone number.  能不能 / 可以吗 ask yes or
no, which any answer answers, and how-questions (怎么办) are answered by a procedure: neither
expects a type.  `expected_types` reads the types a message expects from its asking clauses;
`answer_types` finds the types of which an answer text holds something (3个工作日, 30元,
免费, 8:30, 周二, 2号楼, 窗口, 12345 …).  An entry whose answer holds none of what the message
asks for answers another question about the same topic (高龄津贴审批公示要多长时间 next to an
answer that says how to apply).

The lexicon is of question words and answer forms of Chinese and English in general, not of
any FAQ.  Messages are read after `TextAnalyzer.normalize` (Simplified, lower case).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import Enum

from bot.faq.text import TextAnalyzer


class AnswerType(Enum):
    DURATION = "duration"
    MONEY = "money"
    TIME = "time"
    PLACE = "place"
    CONTACT = "contact"  # a person, an office or a phone number


# Clause ends as `TextAnalyzer.clauses` splits them; a question mark makes a clause an ask.
_CLAUSE_SPLIT = re.compile(r"([,.;:!?\u3001\u3002\uff5e~\u2026\n]+)")

_PUNCTUATION = re.compile(r"[^\w\s]+")
_NUM = r"(?:\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万半几数]+)"
_SHORT_NUM = r"(?:(?<!\d)\d{1,3}(?:\.\d+)?|[一二两三四五六七八九十百半几数]+)"

# 这几天 / 那几天 / 前几天 "these / those / the last few days": 几 after a demonstrative
_DEMONSTRATIVE_JI = re.compile(r"(?:这|那|(?<!提)前|头|最近)几")

# What a question asks for, by its wh-phrase (Chinese after normalisation, English words).
_ASKS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.DURATION: re.compile(
        r"多长时间|多长时候|多久|多长期|多少天|多少个?工作日|多少个?月|多少年|多少周"
        r"|多少个?小时|多少分钟|几个?工作日|几天|几个月|几年|几周|几个星期|几个?小时"
        r"|几分钟|要多长|有效期多长|期限多长|how long|how many (?:days|weeks|months|years|hours)"
    ),
    AnswerType.MONEY: re.compile(
        r"多少钱|几块钱|几块|几毛|多少元|收费|收不收|要钱|要不要钱|花钱|免费|价格|价钱|多少费"
        r"|费用多少|费用是多少|贵不贵|贵吗|交多少|缴多少|补多少|补贴多少|报销多少|退多少|给多少"
        r"|发多少|罚多少|how much|what does it cost|\bcost\b|\bprice\b|\bfees?\b"
    ),
    AnswerType.TIME: re.compile(
        r"几点|什么时候|啥时候|啥时|什么时间|啥时间|哪天|哪一天|哪日|几号|几月|哪个月|周几"
        r"|星期几|礼拜几|何时|几时|截止到?哪|^when\b|what time|which day|what day"
    ),
    AnswerType.PLACE: re.compile(
        # 哪个 / 哪种 + a noun asks "which one" (扔到哪个垃圾桶), not "where"
        r"(?:在|去|到)哪(?![个种类些样位])|哪里|哪儿|哪个地方|什么地方|啥地方|哪个位置|什么位置"
        r"|地址|地点"
        r"|^where\b|address|location"
    ),
    AnswerType.CONTACT: re.compile(
        r"找谁|问谁|谁负责|谁管|谁来|联系谁|跟谁|和谁|给谁|打谁|谁的电话|电话多少|电话是多少"
        r"|什么电话|啥电话|哪个电话|电话号码|联系方式|联系电话|哪个部门|什么部门|啥部门"
        r"|哪个单位|什么单位|^who\b|^whom\b|phone number"
    ),
}

# What an answer holds, by the forms an answer of each type takes.
_HOLDS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.DURATION: re.compile(
        # not an age (3周岁), a year (2025年) nor a month (5月, unlike 5个月)
        _SHORT_NUM + r"\s*(?:个?(?:工作日|自然日|天|周(?!岁)|星期|礼拜|年|小时|钟头|分钟)|个月)"
        r"|" + _SHORT_NUM + r"\s*个?日\s*(?:内|之内|以内)|当天|当日|当场|即时|随到随办|即办"
        r"|长期有效|永久"
        r"|\d+\s*(?:working days?|days?|weeks?|months?|years?|hours?|minutes?)"
    ),
    AnswerType.MONEY: re.compile(
        _NUM + r"\s*(?:元|块|角|毛|万元)|[¥￥$]\s*\d|免费|不收费|不要钱|无需付费|无需缴费"
        r"|不收取|收费|费用|自费|补贴|补助|报销|\d+\s*%|百分之|\byuan\b|\brmb\b|\bfree\b"
        r"|\bcharge|\bfees?\b"
    ),
    AnswerType.TIME: re.compile(
        r"\d{1,2}\s*[:：]\s*\d{2}|" + _NUM + r"\s*[点时]|上午|下午|早上|晚上|中午|凌晨|傍晚"
        r"|周[一二三四五六日天末]|星期[一二三四五六日天]|礼拜[一二三四五六日天]"
        r"|每(?:天|日|周|月|年|季度|星期)|工作日|节假日|" + _NUM + r"\s*月(?:份|底|初|中旬)?"
        r"|" + _NUM + r"\s*[日号]|月底|月初|年底|年初|截止"
        r"|\d+\s*(?:am|pm)\b|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
        r"|weekdays?|daily|weekly|monthly|morning|afternoon|evening"
    ),
    AnswerType.PLACE: re.compile(
        _NUM + r"\s*(?:号楼|楼|层|栋|幢|单元|室|号窗口|号)|窗口|大厅|办公室|服务中心|服务站"
        r"|中心|站|室|馆|院|所|处|台|门口|旁边|对面|附近|地下|路|街|巷|小区|广场|公园"
        r"|线上|网上|官网|网站|小程序|公众号|\bapp\b|在线|room|floor|building|office"
        r"|street|road|online|website"
    ),
    AnswerType.CONTACT: re.compile(
        r"\d{3,4}\s*-\s*\d{7,8}|1[3-9]\d{9}|\d{5,8}|电话|热线|拨打|致电|联系|咨询|找"
        r"|物业|居委|村委|社区|街道|办公室|中心|站|所|局|科|处|公司|客服|工作人员|网格员"
        r"|社工|负责人|主任|书记|管家|专员|医院|派出所|\bcall\b|phone|contact|office|staff"
        r"|hotline"
    ),
}


def _asking_clauses(text: str, analyzer: TextAnalyzer) -> list[str]:
    """The clauses of the message that ask (normalised): those with a question marker or
    a question mark, else the last one, as `TextAnalyzer.clauses` takes the ask (chat
    often leaves out the question mark, so one does not outrank a marker)."""
    parts = _CLAUSE_SPLIT.split(unicodedata.normalize("NFKC", text))
    clauses: list[tuple[str, bool]] = []
    for i in range(0, len(parts), 2):
        piece = analyzer.normalize(parts[i])
        if piece:
            delim = parts[i + 1] if i + 1 < len(parts) else ""
            clauses.append((piece, "?" in delim or analyzer.is_question(piece)))
    asking = [piece for piece, asks in clauses if asks]
    return asking or [piece for piece, _ in clauses[-1:]]


def _without_indefinites(text: str, indefinites: Iterable[str]) -> str:
    """好几天 "several days", 多少有点 "somewhat", 那几天 "those days": interrogatives
    that ask nothing."""
    for indefinite in indefinites:
        text = text.replace(indefinite, " ")
    return _DEMONSTRATIVE_JI.sub(" ", text)


def expected_types(text: str, analyzer: TextAnalyzer) -> frozenset[AnswerType]:
    """The kinds of thing the message's answer must contain (empty: any answer does)."""
    found: set[AnswerType] = set()
    for clause in _asking_clauses(text, analyzer):
        asked = _without_indefinites(clause, analyzer.lexicon.indefinites)
        found.update(kind for kind, pattern in _ASKS.items() if pattern.search(asked))
    return frozenset(found)


def answer_types(answer: str, analyzer: TextAnalyzer) -> frozenset[AnswerType]:
    """The kinds of thing the answer text holds something of.  Searched as written (8:30
    and 0312-5678 keep their punctuation) and normalised (a Traditional answer in
    Simplified)."""
    written = unicodedata.normalize("NFKC", answer).lower()
    # piece by piece: normalising turns punctuation into spaces, which would join a number
    # to the unit of the next phrase (12:00，周六 → 12 00 周六, "00 周")
    texts = [written, *(analyzer.normalize(p) for p in _PUNCTUATION.split(written))]
    return frozenset(
        kind for kind, pattern in _HOLDS.items() if any(pattern.search(t) for t in texts)
    )


# "When will it come?" is answered by "within 3 working days" as well as by a date.
_ALSO_ANSWERED_BY = {AnswerType.TIME: AnswerType.DURATION}


def missing_share(expected: frozenset[AnswerType], held: frozenset[AnswerType]) -> float:
    """The share of the expected types of which the answer holds nothing (0 when none is
    expected)."""
    if not expected:
        return 0.0
    missing = [
        kind for kind in expected if kind not in held and _ALSO_ANSWERED_BY.get(kind) not in held
    ]
    return len(missing) / len(expected)
