"""A typed answer to a prompt with buttons: its number, its label or a common synonym.

Elderly residents type what they see ("路灯照明", "跳过", "确认", "明天", "２") instead of
tapping. In a dialogue, such a message is the button it names. The synonyms are data
(bot/dialogue/data/synonyms.yaml), not code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

_STRIP = re.compile(r"[\s，。,.!！?？~～、]+")
# Which buttons a synonym means, by what their action text contains.
_YES_ACTIONS = (":submit", ":confirm", "flow:metoo:", ":resume")
_NO_ACTIONS = (":cancel", ":drop", "flow:new", ":discard")
_SKIP_ACTIONS = (":skip",)


@dataclass(frozen=True)
class Synonyms:
    """What typed words mean: yes, no, skip, and days in words."""

    yes: frozenset[str]
    no: frozenset[str]
    skip: frozenset[str]
    relative_days: Mapping[str, int]
    weekday_prefixes: tuple[str, ...]
    weekdays: Mapping[str, int]

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Synonyms:
        words = {
            name: frozenset(plain(str(w)) for w in doc[name]) for name in ("yes", "no", "skip")
        }
        return cls(
            yes=words["yes"],
            no=words["no"],
            skip=words["skip"],
            relative_days={plain(str(k)): int(v) for k, v in doc["relative_days"].items()},
            weekday_prefixes=tuple(str(p) for p in doc["weekday_prefixes"]),
            weekdays={str(k): int(v) for k, v in doc["weekdays"].items()},
        )


@cache
def bundled_synonyms() -> Synonyms:
    """The synonyms shipped with the bot (read once; immutable)."""
    text = resources.files("bot.dialogue.data").joinpath("synonyms.yaml").read_text("utf-8")
    return Synonyms.from_doc(yaml.safe_load(text))


def plain(text: str) -> str:
    """Full width folded, lower case, no spaces or punctuation: how typed words compare."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text)).lower()


def typed_choice(
    text: str,
    buttons: Sequence[tuple[str, str]],
    today: date,
    synonyms: Synonyms | None = None,
) -> str | None:
    """The action of the button `text` names among `buttons` (label, action), else None."""
    words = synonyms or bundled_synonyms()
    said = plain(text)
    if not said or not buttons:
        return None
    if said.isdigit():
        index = int(said)
        return buttons[index - 1][1] if 1 <= index <= len(buttons) else None
    labels = [(plain(label), action) for label, action in buttons]
    exact = [action for label, action in labels if label == said]
    if exact:
        return exact[0]
    for meaning, endings in ((words.yes, _YES_ACTIONS), (words.no, _NO_ACTIONS)):
        if said in meaning:
            return next((a for _, a in buttons if any(e in a for e in endings)), None)
    if said in words.skip:
        return next((a for _, a in buttons if any(e in a for e in _SKIP_ACTIONS)), None)
    day = day_in_words(said, today, words)
    if day is not None:
        return next((a for _, a in buttons if a.endswith(f":{day.isoformat()}")), None)
    partial = [action for label, action in labels if len(said) >= 2 and said in label]
    return partial[0] if len(partial) == 1 else None


def day_in_words(text: str, today: date, synonyms: Synonyms | None = None) -> date | None:
    """今天 / 明天 / 后天 / 周三 / 星期三 / 礼拜三 as the next such date (today included)."""
    words = synonyms or bundled_synonyms()
    said = plain(text)
    if said in words.relative_days:
        return today + timedelta(days=words.relative_days[said])
    for prefix in words.weekday_prefixes:
        rest = said.removeprefix(prefix)
        if rest != said and rest in words.weekdays:
            return today + timedelta(days=(words.weekdays[rest] - today.weekday()) % 7)
    return None
