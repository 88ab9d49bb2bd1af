"""Term coverage: how much of one text's informative words another text explains."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from bot.faq.text import TextAnalyzer, has_han

_EMPTY: frozenset[str] = frozenset()

HOMOPHONE_CREDIT = 0.9  # 医报 for 医保: same pinyin, different characters
FRAGMENT_CREDIT = 0.85  # share of a word's character/pinyin bigrams found elsewhere
SINGLE_CHAR_CREDIT = 0.5  # a one-character word found inside a longer word
# Near variants: words of VARIANT_MIN_CHARS.. characters that differ in one character
# (雨污分离 for 雨污分流, 延迟服务 for 延时服务) share one of their variant keys.
VARIANT_MIN_CHARS = 4
VARIANT_MAX_CHARS = 8


@dataclass(frozen=True)
class Term:
    """A content word with the keys used to recognise it in other text."""

    word: str
    han: bool
    pinyin: str
    bigrams: frozenset[str]
    pinyin_bigrams: frozenset[str]
    variants: frozenset[str] = _EMPTY


@dataclass(frozen=True)
class Field:
    """The lookup sets of one text (an entry's questions, or its answer, or a query)."""

    words: frozenset[str]
    pinyins: frozenset[str]
    chars: frozenset[str]
    bigrams: frozenset[str]
    pinyin_bigrams: frozenset[str]
    variants: frozenset[str] = _EMPTY


def variant_keys(word: str) -> frozenset[str]:
    """The word with each one of its characters in turn replaced by a wildcard."""
    if not VARIANT_MIN_CHARS <= len(word) <= VARIANT_MAX_CHARS:
        return _EMPTY
    return frozenset(word[:i] + "*" + word[i + 1 :] for i in range(len(word)))


def _pairs(items: Iterable[str]) -> frozenset[str]:
    seq = list(items)
    return frozenset(a + b for a, b in pairwise(seq))


def make_term(analyzer: TextAnalyzer, word: str) -> Term:
    if not has_han(word):
        return Term(word, False, word, frozenset(), frozenset())
    syllables = analyzer.pinyin(word)
    return Term(word, True, "".join(syllables), _pairs(word), _pairs(syllables), variant_keys(word))


def make_terms(
    analyzer: TextAnalyzer, tokens: list[str], cache: dict[str, Term] | None = None
) -> list[Term]:
    """Distinct content words of a tokenised text, in order (`cache` memoises per word)."""
    if cache is None:
        return [make_term(analyzer, w) for w in dict.fromkeys(tokens)]
    out = []
    for word in dict.fromkeys(tokens):
        term = cache.get(word)
        if term is None:
            term = cache[word] = make_term(analyzer, word)
        out.append(term)
    return out


def make_field(terms: Iterable[Term]) -> Field:
    items = list(terms)
    han = [t for t in items if t.han]
    return Field(
        words=frozenset([t.word for t in items]),
        pinyins=frozenset([t.pinyin for t in han]),
        chars=frozenset("".join([t.word for t in han])),
        bigrams=_EMPTY.union(*[t.bigrams for t in items]),
        pinyin_bigrams=_EMPTY.union(*[t.pinyin_bigrams for t in items]),
        variants=_EMPTY.union(*[t.variants for t in han]),
    )


def merge_fields(fields: Iterable[Field]) -> Field:
    """The field of the union of several texts' terms (equal to `make_field` of them all)."""
    parts = list(fields)
    return Field(
        words=_EMPTY.union(*[f.words for f in parts]),
        pinyins=_EMPTY.union(*[f.pinyins for f in parts]),
        chars=_EMPTY.union(*[f.chars for f in parts]),
        bigrams=_EMPTY.union(*[f.bigrams for f in parts]),
        pinyin_bigrams=_EMPTY.union(*[f.pinyin_bigrams for f in parts]),
        variants=_EMPTY.union(*[f.variants for f in parts]),
    )


def cover(term: Term, field: Field) -> float:
    """1 when the word itself is in the field; partial credit for homophones, fragments and
    near variants (one character of 4+ different: the share of characters in place)."""
    if term.word in field.words:
        return 1.0
    if not term.han:
        return 0.0
    if term.pinyin in field.pinyins:
        return HOMOPHONE_CREDIT
    if len(term.word) == 1:
        return SINGLE_CHAR_CREDIT if term.word in field.chars else 0.0
    chars = len(term.bigrams & field.bigrams) / len(term.bigrams)
    sounds = 0.0
    if term.pinyin_bigrams:
        sounds = len(term.pinyin_bigrams & field.pinyin_bigrams) / len(term.pinyin_bigrams)
    if not term.variants.isdisjoint(field.variants):
        chars = max(chars, (len(term.word) - 1) / len(term.word))
    return FRAGMENT_CREDIT * max(chars, HOMOPHONE_CREDIT * sounds)


def char_share(term: Term, field: Field) -> float:
    """The share of a Chinese word's characters found in the field's words (0 for a single
    character or a Latin word, which `cover` already judges)."""
    if not term.han or len(term.word) < 2:
        return 0.0
    return sum(ch in field.chars for ch in term.word) / len(term.word)


def weighted_cover(terms: Iterable[tuple[Term, float]], field: Field) -> float:
    """The weighted share of the terms that the field explains, in [0, 1]."""
    total = got = 0.0
    for term, weight in terms:
        total += weight
        got += weight * cover(term, field)
    return got / total if total else 0.0
