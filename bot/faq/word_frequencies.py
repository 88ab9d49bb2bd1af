"""jieba's word-frequency dictionary in compact form, plus the words an FAQ teaches.

jieba keeps its 349,000 words and their 149,000 prefixes in one Python dict, about 53 MB
resident in every process that segments text. The same words in a MARISA trie (1.2 MB) with
their counts in an int array (2.7 MB) take 4 MB; the segmenter asks the trie for all the
words that start at a position in one call instead of growing a prefix one character at a
time. That costs about a quarter more CPU when a 10,000-entry FAQ is indexed, and loads in
milliseconds instead of half a second. Counts and the total follow jieba exactly
(`jieba.Tokenizer.gen_pfdict` and `add_word`), so the segmentation is jieba's, word for word
(tests/test_word_frequencies.py compares).
"""

from __future__ import annotations

import array
import os
from dataclasses import dataclass, field

import jieba
import marisa_trie

from bot.faq.file_cache import cache_path, read_cache, write_cache


def jieba_dictionary() -> str:
    """The path of jieba's bundled default dictionary (dict.txt: word, count, tag)."""
    return os.path.join(os.path.dirname(jieba.__file__), str(jieba.DEFAULT_DICT_NAME))


@dataclass
class WordFrequencies:
    """How often jieba's corpus has each word; words taught at run time override it."""

    trie: marisa_trie.Trie
    counts: array.array[int]  # by the trie's key id
    total: int
    reach: dict[str, int]  # a character -> the length of the longest word it starts
    taught: dict[str, int] = field(default_factory=dict)  # words taught at run time
    _taught_first: set[str] = field(default_factory=set)  # their first characters

    @classmethod
    def default(cls) -> WordFrequencies:
        """jieba's default dictionary, from the compact cache (built on first use)."""
        path = cache_path("jieba-trie", jieba_dictionary(), f"{jieba.__version__}:3")
        cached = read_cache(path)
        try:
            trie_bytes, count_bytes, total, reach = cached
            counts = array.array("q")
            counts.frombytes(count_bytes)
            trie = marisa_trie.Trie().frombytes(trie_bytes)
            if len(trie) != len(counts) or not isinstance(reach, dict):
                raise ValueError("inconsistent jieba cache")
            return cls(trie, counts, int(total), reach)
        except (ValueError, TypeError, RuntimeError):
            pass
        built = cls.read(jieba_dictionary())
        write_cache(path, (built.trie.tobytes(), built.counts.tobytes(), built.total, built.reach))
        return built

    @classmethod
    def read(cls, path: str) -> WordFrequencies:
        """A dictionary file in jieba's format; the last count of a repeated word wins and
        every count goes into the total, as in jieba."""
        found: dict[str, int] = {}
        total = 0
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                word, count = line.strip().split(" ")[:2]
                found[word] = int(count)
                total += found[word]
        # A word counted 0 is only a prefix to jieba; the trie needs no prefixes.
        trie = marisa_trie.Trie(w for w, count in found.items() if count)
        counts = array.array("q", bytes(8 * len(trie)))
        reach: dict[str, int] = {}
        for word, key in trie.iteritems():
            counts[key] = found[word]
            reach[word[0]] = max(reach.get(word[0], 0), len(word))
        return cls(trie, counts, total, reach)

    def get(self, word: str) -> int:
        """The word's count; 0 for a word the dictionary does not have."""
        if word in self.taught:
            return self.taught[word]
        key = self.trie.get(word)
        return self.counts[key] if key is not None else 0

    def add(self, word: str, count: int) -> None:
        """Teach a word, exactly as `jieba.Tokenizer.add_word(word, count)` does."""
        self.total += count
        self.taught[word] = count
        self._taught_first.add(word[0])
        self.reach[word[0]] = max(self.reach.get(word[0], 0), len(word))

    def words_in(self, text: str) -> list[list[tuple[int, int]]]:
        """For each position of `text`: (length, count) of every word with a count that
        starts there, shortest first (one trie lookup per position)."""
        counts, reach, prefixes = self.counts, self.reach, self.trie.iter_prefixes_with_ids
        out: list[list[tuple[int, int]]] = []
        for start, first in enumerate(text):
            span = text[start : start + reach.get(first, 0)]
            found = [(len(w), counts[k]) for w, k in prefixes(span)] if span else []
            if first in self._taught_first:
                found = self._with_taught(span, found)
            out.append(found)
        return out

    def _with_taught(self, span: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
        merged = dict(found)
        for length in range(1, len(span) + 1):
            count = self.taught.get(span[:length])
            if count is not None:
                merged[length] = count  # a taught count replaces the dictionary's
        return sorted((n, count) for n, count in merged.items() if count)
