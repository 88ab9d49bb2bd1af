"""Chinese/English text normalisation and the match features derived from it."""

from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise
from typing import Any

import jieba
import opencc

# pypinyin loads its 47,000-phrase dictionary (about 42 MB resident) unless told not to before
# its first import. Only the phrases whose reading differs from their characters' first
# readings change a result (重新 is chong xin, not zhong xin); those 3,400 are loaded from
# data/pinyin_phrases.txt instead (tests/test_pinyin_phrases.py keeps the list in step).
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin import Style, lazy_pinyin, load_phrases_dict

from bot.faq.file_cache import cache_path, read_cache, write_cache
from bot.faq.word_frequencies import WordFrequencies, jieba_dictionary

log = logging.getLogger(__name__)

_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2300-\u23ff\ufe0f\u200d]"
)
_BRACKET_EMOTE = re.compile(r"\[[^\[\]\s]{1,6}\]")  # WeChat-style [抱拳] [捂脸]
_MENTION = re.compile(r"@\S+")
_URL = re.compile(r"https?://\S+")
_NON_WORD = re.compile(r"[^\w\u4e00-\u9fff]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9\-]*|[0-9]+")
_SPACES = re.compile(r"\s+")
# Clause boundaries in chat text: sentence/clause punctuation (half- or full-width after NFKC)
# and whitespace; the captured delimiter tells whether the clause ended with a question mark.
_CLAUSE_SPLIT = re.compile(r"([,.;:!?\u3001\u3002\uff5e~\u2026\n]+)")

# jieba's own block/skip/latin patterns, so `TextAnalyzer._segment` splits exactly like
# `jieba.Tokenizer.cut`.
_JIEBA_BLOCK: re.Pattern[str] = jieba.re_han_default
_JIEBA_SKIP: re.Pattern[str] = jieba.re_skip_default
_JIEBA_ENG: re.Pattern[str] = jieba.re_eng

# informativeness(): natural-log self-information minus INFO_SHIFT, clipped to the range.
INFO_SHIFT = 6.0
INFO_FLOOR = 0.3
INFO_CEILING = 5.0
LATIN_INFORMATIVENESS = 4.0
# jieba tags (first letter) of words that fill a slot of a question rather than name its
# topic: numerals, measure words, time, place, direction, pronouns, adverbs, prepositions,
# conjunctions, particles, modal and interjection words, onomatopoeia.
SLOT_TAGS = frozenset("mqtfsrdpcuyeokh")
UNGLUE_MAX_FREQ = 100  # see TextAnalyzer._unglue


def _data_lines(name: str) -> list[str]:
    text = resources.files("bot.faq.data").joinpath(name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _pinyin_phrases() -> dict[str, list[list[str]]]:
    phrases = {}
    for line in _data_lines("pinyin_phrases.txt"):
        phrase, _, readings = line.partition("\t")
        phrases[phrase] = [[reading] for reading in readings.split()]
    return phrases


load_phrases_dict(_pinyin_phrases())


def has_han(text: str) -> bool:
    """True when the text holds at least one Chinese character."""
    return _HAN.search(text) is not None


def all_han(text: str) -> bool:
    """True when the text is nothing but Chinese characters."""
    return _HAN_RUN.fullmatch(text) is not None


def stem_english(word: str) -> str:
    """A light English stemmer: enough to match 'payments' with 'pay'."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def _convertible_chars(converter: Any) -> frozenset[str] | None:
    """Characters of which a text must hold at least one for opencc's t2s dictionaries to
    change it, so plain Simplified text can skip the (slow, pure-Python) conversion; None
    when the internals are not as expected.

    A single-character entry counts when it maps to something else.  A phrase entry can
    only match where all of its characters occur, so a changing phrase needs one of its
    characters in the set: none more when it already holds a converting character (情有獨鍾
    holds 獨), else its first changed character."""
    try:
        converter.convert("")
        tables = [table for group in converter._dict_chain_data for *_, table in group]
        entries = [
            (key, value if isinstance(value, str) else value[0])
            for table in tables
            for key, value in table.items()
        ]
        changed = {key for key, target in entries if len(key) == 1 and target != key}
        for key, target in entries:
            if len(key) == 1 or target == key or not changed.isdisjoint(key):
                continue
            if len(target) != len(key):
                changed.add(key[0])
            else:
                changed.add(next(a for a, b in zip(key, target, strict=True) if a != b))
        return frozenset(changed)
    except (AttributeError, TypeError, ValueError, IndexError, StopIteration):
        return None


def _slot_words() -> frozenset[str]:
    """The words jieba's dictionary tags as numerals, measure, time, place, direction,
    pronoun, adverb, preposition, conjunction, particle or interjection (first letter of
    the tag in SLOT_TAGS), read once and cached like the prefix dictionary."""
    path = cache_path("jieba-slots", jieba_dictionary(), jieba.__version__)
    cached = read_cache(path)
    if isinstance(cached, str):
        return frozenset(cached.split("\n"))
    words: list[str] = []
    try:
        with open(jieba_dictionary(), encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and parts[2][0] in SLOT_TAGS:
                    words.append(parts[0])
    except OSError:
        log.warning("cannot read jieba's dictionary for word classes", exc_info=True)
        return frozenset()
    write_cache(path, "\n".join(words))
    return frozenset(words)


def _chatter_pattern(phrase: str) -> str:
    """Chinese phrases match anywhere; Latin ones only as whole words ('hi' not in 'which')."""
    if has_han(phrase):
        return re.escape(phrase)
    return r"\b" + re.escape(phrase) + r"\b"


@dataclass(frozen=True)
class Lexicon:
    """The data files that steer normalisation: chatter, stopwords, synonyms."""

    chatter: tuple[str, ...]
    stopwords: frozenset[str]
    synonyms: dict[str, str] = field(hash=False)
    question_markers: tuple[str, ...] = ()
    indefinites: tuple[str, ...] = ()  # 好几, 啥也 …: interrogatives that ask nothing

    @classmethod
    def bundled(cls) -> Lexicon:
        chatter = sorted(set(_data_lines("chatter.txt")), key=len, reverse=True)
        stopwords = frozenset(w for ln in _data_lines("stopwords.txt") for w in ln.split())
        synonyms: dict[str, str] = {}
        for line in _data_lines("synonyms.txt"):
            canonical, *others = line.split()
            for term in others:
                synonyms.setdefault(term, canonical)
        markers = tuple(w for ln in _data_lines("question_markers.txt") for w in ln.split())
        indefinites = sorted(
            {w for ln in _data_lines("indefinites.txt") for w in ln.split()}, key=len, reverse=True
        )
        return cls(tuple(chatter), stopwords, synonyms, markers, tuple(indefinites))


@dataclass(frozen=True)
class Clause:
    """Content words of one clause of a message and whether it is the ask."""

    words: list[str]
    question: bool
    # the ask only because a question without content words (咋办, 跟谁说啊) refers to it
    referred: bool = False


class TextAnalyzer:
    """Turns raw chat text into normalised text, tokens and weighted match features."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.bundled()
        self._t2s = opencc.OpenCC("t2s")
        self._t2s_chars = _convertible_chars(self._t2s)
        self._words = WordFrequencies.default()
        for term in [*self.lexicon.synonyms, *self.lexicon.synonyms.values()]:
            if has_han(term) and len(term) > 1:
                self._words.add(term, 2000)
        self._chatter = re.compile("|".join(_chatter_pattern(c) for c in self.lexicon.chatter))
        self._pinyin_cache: dict[str, tuple[str, ...]] = {}
        # word -> (its w: feature, its y: feature or "", all Han, pinyin syllables)
        self._word_info: dict[str, tuple[str, str, bool, tuple[str, ...]]] = {}
        # a word's count -> log(count) - log(total) for _segment, valid while the total is unchanged
        self._logp: dict[int, float] = {}
        self._logp_total = -1
        self._content_cache: dict[str, tuple[str, ...]] = {}  # see _content_of
        self._logtotal = 0.0
        self._slots: frozenset[str] | None = None  # loaded on first use (is_content)

    def add_words(self, words: Iterable[str]) -> None:
        """Teach the segmenter domain words (FAQ keywords) so they stay whole."""
        for word in words:
            norm = self.normalize(word)
            if has_han(norm) and 1 < len(norm) <= 8 and " " not in norm:
                self._words.add(norm, 2000)

    def normalize(self, text: str) -> str:
        """Width, case, Traditional→Simplified, emoji, mentions and punctuation."""
        text = unicodedata.normalize("NFKC", text)
        text = _URL.sub(" ", text)
        text = _MENTION.sub(" ", text)
        text = _BRACKET_EMOTE.sub(" ", text)
        text = _EMOJI.sub(" ", text)
        if self._t2s_chars is None or not self._t2s_chars.isdisjoint(text):
            text = self._t2s.convert(text)
        text = text.lower()
        text = _NON_WORD.sub(" ", text)
        return _SPACES.sub(" ", text).strip()

    def strip_chatter(self, normalized: str) -> str:
        """Remove polite wrapping such as 群主你好 / 麻烦问一下 / 谢谢."""
        return _SPACES.sub(" ", self._chatter.sub(" ", normalized)).strip()

    def clean(self, text: str) -> str:
        """Normalised text without its polite wrapping."""
        return self.strip_chatter(self.normalize(text))

    def tokens(self, text: str) -> list[str]:
        """Content words: segmented, synonyms mapped to canonical, stopwords dropped."""
        return self.tokens_of_clean(self.clean(text))

    def tokens_of_clean(self, clean: str) -> list[str]:
        """`tokens` of a text already passed through `clean`."""
        out: list[str] = []
        for chunk in clean.split(" "):
            if has_han(chunk):
                content = self._content_of
                for word in self._segment(chunk):
                    out.extend(content(word))
            else:
                # stopwords are listed unstemmed ('does', not 'doe')
                words = [
                    stem_english(w)
                    for w in _LATIN_WORD.findall(chunk)
                    if len(w) > 1 and w not in self.lexicon.stopwords
                ]
                out.extend(self._canonical(words))
        return out

    def _content_of(self, segment: str) -> tuple[str, ...]:
        """The content words of one segmenter word (unglued, synonyms folded, stopwords
        dropped), memoised: an index build meets the same words over and over.  Segments are
        dictionary words or single characters, so the memo is bounded by the dictionary;
        `_segment` resets it whenever the dictionary changes (`_unglue` reads it)."""
        cached = self._content_cache.get(segment)
        if cached is None:
            parts = self._unglue(segment) if segment.strip() else []
            cached = self._content_cache[segment] = tuple(self._canonical(parts))
        return cached

    def _canonical(self, words: list[str]) -> list[str]:
        synonyms = self.lexicon.synonyms
        stopwords = self.lexicon.stopwords
        out = []
        for word in words:
            canon = synonyms.get(word, word)
            if canon not in stopwords and word not in stopwords:
                out.append(canon)
        return out

    def _unglue(self, word: str) -> list[str]:
        """A word the segmenter glued from a verb and its aspect or repetition, in its
        parts: 捡了个 → 捡 个, 吃了饭 → 吃 饭 (了 inside), 剪剪 → 剪, 帮帮忙 → 帮忙 (a
        repeated first character), so it matches the plain word.  Only for words the general
        dictionary barely knows: common ones are words of their own (奶奶, 天天, 了解)."""
        if len(word) < 2 or self._words.get(word) >= UNGLUE_MAX_FREQ or not all_han(word):
            return [word]
        if word[0] == word[1]:
            return [word[1:]]
        middle = word.find("了", 1, len(word) - 1)
        if middle > 0:
            return [word[:middle], word[middle + 1 :]]
        return [word]

    def _segment(self, sentence: str) -> list[str]:
        """Exactly jieba's `lcut(sentence, HMM=False)` with the same words, several times
        faster: the same DAG and max-probability route (ties to the longer word), computed in
        one pass with the words at each position found in one trie lookup."""
        words = self._words
        if words.total != self._logp_total:
            self._logp = {}
            self._content_cache = {}
            self._logp_total = words.total
            self._logtotal = math.log(words.total)
        out: list[str] = []
        for blk in _JIEBA_BLOCK.split(sentence):
            if not blk:
                continue
            if _JIEBA_BLOCK.match(blk):
                self._cut_block(blk, out)
            else:
                for piece in _JIEBA_SKIP.split(blk):
                    if _JIEBA_SKIP.match(piece):
                        out.append(piece)
                    else:
                        out.extend(piece)
        return out

    def _cut_block(self, s: str, out: list[str]) -> None:
        words = self._words
        logp = self._logp  # count -> log-probability
        logtotal = self._logtotal
        log = math.log
        n = len(s)
        score = [0.0] * (n + 1)
        nxt = [0] * n
        at = words.words_in(s)
        for idx in range(n - 1, -1, -1):
            best: float | None = None
            best_x = idx
            for length, count in at[idx]:
                lp = logp.get(count)
                if lp is None:
                    lp = logp[count] = log(count) - logtotal
                sc = lp + score[idx + length]
                if best is None or sc >= best:
                    best = sc
                    best_x = idx + length - 1
            if best is None:
                best = log(words.get(s[idx]) or 1) - logtotal + score[idx + 1]
            score[idx] = best
            nxt[idx] = best_x
        x = 0
        buf = ""
        while x < n:
            y = nxt[x] + 1
            word = s[x:y]
            if len(word) == 1 and _JIEBA_ENG.match(word):
                buf += word
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            x = y
        if buf:
            out.append(buf)

    def clauses(self, text: str) -> list[Clause]:
        """The message split at punctuation into clauses of content words.

        A clause is a *question* when it holds a question marker (吗/怎么/咋/how …) or ends
        in a question mark.  A question clause without content words (跟谁说啊, 咋弄)
        passes its question role to the preceding clause it refers to.  When no clause is
        marked, the last one with content is taken as the ask.
        """
        parts = _CLAUSE_SPLIT.split(unicodedata.normalize("NFKC", text))
        out: list[Clause] = []
        for i in range(0, len(parts), 2):
            piece = parts[i]
            delim = parts[i + 1] if i + 1 < len(parts) else ""
            marked = "?" in delim or self._has_marker(self.normalize(piece))
            words = self.tokens(piece)
            if words:
                out.append(Clause(words, marked))
            elif marked and out:
                out[-1] = Clause(out[-1].words, True, referred=True)
        if out and not any(c.question for c in out):
            out[-1] = Clause(out[-1].words, True)
        return out

    def is_question(self, text: str) -> bool:
        """Whether a message asks something: a question mark, or a question marker (吗, 咋,
        how …) that is not an indefinite (好几天, 啥也)."""
        text = unicodedata.normalize("NFKC", text)
        pieces = _CLAUSE_SPLIT.split(text)[::2]  # clauses, as in `clauses`
        return "?" in text or any(self._has_marker(self.normalize(p)) for p in pieces)

    def _has_marker(self, normalized: str) -> bool:
        for indefinite in self.lexicon.indefinites:
            normalized = normalized.replace(indefinite, " ")
        padded = f" {normalized} "
        for marker in self.lexicon.question_markers:
            if has_han(marker):
                if marker in normalized:
                    return True
            elif marker.startswith("^"):
                if padded.startswith(f" {marker[1:]} "):
                    return True
            elif f" {marker} " in padded:
                return True
        return False

    def pinyin(self, han: str) -> tuple[str, ...]:
        cached = self._pinyin_cache.get(han)
        if cached is None:
            cached = tuple(lazy_pinyin(han, style=Style.NORMAL, errors="ignore"))
            self._pinyin_cache[han] = cached
        return cached

    def informativeness(self, word: str) -> float:
        """How much a word says in everyday Chinese: its self-information in jieba's
        general word-frequency dictionary, shifted and clipped so that function words
        and small talk weigh little and rare/unknown words do not dominate."""
        if not has_han(word):
            return LATIN_INFORMATIVENESS
        freq = self._words.get(word)
        bits = math.log(self._words.total / freq) if freq else math.inf
        return min(max(bits - INFO_SHIFT, INFO_FLOOR), INFO_CEILING)

    def is_content(self, word: str) -> bool:
        """A Chinese dictionary word that names a thing, action or property (noun, verb,
        adjective, idiom …), not a slot word; unknown and Latin words are not judged."""
        if self._slots is None:
            self._slots = _slot_words()
        return has_han(word) and word not in self._slots and self._words.get(word) > 0

    def features_of(self, words: list[str]) -> dict[str, int]:
        """Match features of a text's tokens, with counts.

        w:  content word (synonyms folded)        — exact lexical evidence
        y:  pinyin of a content word              — homophone typos (医报 → yibao = 医保)
        c:  character bigram of content text      — segmentation-independent overlap
        p:  pinyin syllable bigram                — homophone typos inside unknown words

        Pinyin comes from the per-word cache, so building an index converts each distinct
        word once rather than every text."""
        info = self._word_info
        feats: dict[str, int] = {}
        get = feats.get
        run: list[str] = []
        runs: list[list[str]] = [run]
        for word in words:
            item = info.get(word)
            if item is None:
                han = has_han(word)
                syllables = self.pinyin(word) if han else ()
                item = info[word] = (
                    "w:" + word,
                    "y:" + "".join(syllables) if han else "",
                    han and all_han(word),
                    syllables,
                )
            word_key, sound_key, pure_han, _ = item
            feats[word_key] = get(word_key, 0) + 1
            if sound_key:
                feats[sound_key] = get(sound_key, 0) + 1
            if pure_han:
                run.append(word)
            else:
                run = []
                runs.append(run)
        for run_words in runs:
            if not run_words:
                continue
            text = "".join(run_words)
            for a, b in pairwise(text):
                key = "c:" + a + b
                feats[key] = get(key, 0) + 1
            sounds = [syl for w in run_words for syl in info[w][3]]
            for a, b in pairwise(sounds):
                key = "p:" + a + b
                feats[key] = get(key, 0) + 1
        return feats


def idf(df: int, n_docs: int) -> float:
    """BM25's smoothed inverse document frequency, never negative."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
