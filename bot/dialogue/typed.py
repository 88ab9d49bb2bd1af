"""A typed answer to a prompt with buttons: its number, its label or a common synonym.

Elderly residents type what they see ("路灯照明", "跳过", "确认", "明天", "２") instead of
tapping. In a dialogue, such a message is the button it names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

YES = frozenset(
    {
        "是",
        "是的",
        "对",
        "对的",
        "好",
        "好的",
        "确认",
        "确定",
        "可以",
        "行",
        "嗯",
        "提交",
        "没错",
        "yes",
        "ok",
    }
)
NO = frozenset({"不", "不是", "不用", "不用了", "取消", "算了", "不要", "不对", "no", "cancel"})
SKIP = frozenset({"跳过", "没有", "没有照片", "不拍", "不拍了", "没照片", "skip"})
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RELATIVE = {"今天": 0, "今晚": 0, "明天": 1, "明晚": 1, "后天": 2}
_STRIP = re.compile(r"[\s，。,.!！?？~～、]+")
# Which buttons a synonym means, by the end of their action text.
_YES_ACTIONS = (":submit", ":confirm", "flow:metoo:")
_NO_ACTIONS = (":cancel", ":drop", "flow:new")
_SKIP_ACTIONS = (":skip",)


def _plain(text: str) -> str:
    return _STRIP.sub("", unicodedata.normalize("NFKC", text)).lower()


def typed_choice(text: str, buttons: Sequence[tuple[str, str]], today: date) -> str | None:
    """The action of the button `text` names among `buttons` (label, action), else None."""
    said = _plain(text)
    if not said or not buttons:
        return None
    if said.isdigit():
        index = int(said)
        return buttons[index - 1][1] if 1 <= index <= len(buttons) else None
    labels = [(_plain(label), action) for label, action in buttons]
    exact = [action for label, action in labels if label == said]
    if exact:
        return exact[0]
    for words, endings in ((YES, _YES_ACTIONS), (NO, _NO_ACTIONS), (SKIP, _SKIP_ACTIONS)):
        if said in words:
            return next((a for _, a in buttons if any(e in a for e in endings)), None)
    day = _day(said, today)
    if day is not None:
        return next((a for _, a in buttons if a.endswith(f":{day.isoformat()}")), None)
    partial = [action for label, action in labels if len(said) >= 2 and said in label]
    return partial[0] if len(partial) == 1 else None


def _day(said: str, today: date) -> date | None:
    """今天 / 明天 / 后天 / 周三 / 星期三 / 礼拜三 as the next such date."""
    if said in _RELATIVE:
        return today + timedelta(days=_RELATIVE[said])
    match = re.fullmatch(r"(?:下?(?:周|星期|礼拜))([一二三四五六日天])", said)
    if match is None:
        return None
    ahead = (_WEEKDAYS[match.group(1)] - today.weekday()) % 7
    return today + timedelta(days=ahead)
