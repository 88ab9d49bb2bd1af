"""A repeating rule in words ("每周六 09:00", "每天 8:30", "every monday 09:00") as cron."""

from __future__ import annotations

import re

_TIME = r"(?P<h>[01]?\d|2[0-3])(?::|：|点)(?P<m>[0-5]\d)?"
_WEEKDAYS = {
    **dict(
        zip(
            "一二三四五六日天",
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "sun"),
            strict=True,
        )
    ),
    **{
        name: name[:3]
        for name in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}
_RULES = (
    (re.compile(rf"^(?:每天|每日|every\s*day|daily)\s*{_TIME}$", re.I), "* * *"),
    (re.compile(rf"^(?:工作日|周一至周五|weekdays)\s*{_TIME}$", re.I), "* * mon-fri"),
    (
        re.compile(
            rf"^(?:每(?:周|星期)|every\s+)(?P<d>[一二三四五六日天]|[a-z]+day)\s*{_TIME}$", re.I
        ),
        "* * {d}",
    ),
    (re.compile(rf"^每月\s*(?P<dom>[1-9]|[12]\d|3[01])\s*[日号]\s*{_TIME}$"), "{dom} * *"),
)


def cron_from_words(text: str) -> str | None:
    """The five-field cron of a rule in words, or None when it is not one of them.

    "工作日" is Monday to Friday: China's 调休 working days are not in a cron rule.
    """
    words = " ".join(text.split())
    for pattern, tail in _RULES:
        match = pattern.match(words)
        if match is None:
            continue
        fields = match.groupdict()
        day = _WEEKDAYS.get((fields.get("d") or "").lower(), "")
        if fields.get("d") and not day:
            return None
        rest = tail.format(d=day, dom=fields.get("dom") or "")
        return f"{int(fields['m'] or 0)} {int(fields['h'])} {rest}"
    return None
