"""Compound names: what residents type or a group is called, as one configured compound.

'康樂小區3號樓', '康乐小区 3号楼' and 'kangle' (an alias) are all the compound 康乐小区 with
the location '3号楼': Traditional → Simplified, full width → half width, the configured
names and aliases recognised, a building or unit number split off. Tickets keep the
compound (for routing, lists and "me too") and the location text apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cached_property

import opencc

_PLACE = re.compile(
    r"[0-9一二三四五六七八九十百]+\s*(?:号楼|號樓|栋|棟|幢|单元|單元|号院|號院|号|號|楼|樓)"
)
_GROUP_SUFFIX = re.compile(r"(业主|居民)?群$")
_SEPARATORS = " ,，、·-_/"


def compound_from_title(title: str) -> str:
    """'丰仓小区群' → '丰仓小区': a compound's group is usually named after it."""
    return _GROUP_SUFFIX.sub("", title.strip())


class Compounds:
    """The configured compounds with their aliases; normalises what residents type."""

    def __init__(self, names: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> None:
        self.names = tuple(names)
        self._spellings: list[tuple[str, str]] = []  # (how it may be written, the compound)
        for name in (*names, *aliases):
            for spelling in (name, *aliases.get(name, ())):
                self._spellings.append((self._plain(spelling), name))
        self._spellings.sort(key=lambda pair: -len(pair[0]))

    @cached_property
    def _t2s(self) -> opencc.OpenCC:
        return opencc.OpenCC("t2s")

    def _plain(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).strip().lower()
        return str(self._t2s.convert(text))

    def normalize(self, typed: str) -> tuple[str, str]:
        """(compound, location) of what someone typed or a group's title."""
        plain = compound_from_title(self._plain(typed))
        for spelling, name in self._spellings:
            if spelling and spelling in plain:
                rest = plain.replace(spelling, " ", 1)
                return name, rest.strip(_SEPARATORS)
        place = _PLACE.search(plain)
        if place is None:
            return plain.strip(_SEPARATORS), ""
        compound = (plain[: place.start()] + plain[place.end() :]).strip(_SEPARATORS)
        return compound, place.group().strip()

    def name_of(self, typed: str) -> str:
        return self.normalize(typed)[0]
