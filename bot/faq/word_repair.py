"""Rejoin what the segmenter cut out of a mistyped or variant FAQ word in a query."""

from __future__ import annotations

from collections.abc import Iterable

from bot.faq.coverage import Term, variant_keys
from bot.faq.text import TextAnalyzer, all_han


class WordRepair:
    """Knows an FAQ's question words, their sounds and near variants; `repair` rejoins a
    clause's pieces that together sound like, are, or nearly are one of them."""

    def __init__(self, analyzer: TextAnalyzer, question_terms: Iterable[Term]) -> None:
        han = [t for t in question_terms if t.han]
        self._analyzer = analyzer
        self._pinyins = frozenset(t.pinyin for t in han if 2 <= len(t.word) <= 4)
        self._words = frozenset(t.word for t in han)
        self._variants = frozenset(k for t in han for k in t.variants)

    def repair(self, words: list[str]) -> list[str]:
        return self._join_variants(self._join_homophones(words))

    def _join_homophones(self, words: list[str]) -> list[str]:
        """Undo what the segmenter made of a mistyped FAQ word.

        Pinyin input typos are homophones, and the segmenter splits them wrongly: into
        single characters (医报 → 医 报, 高零 → 高 零), or into a real word that swallows
        the mistyped character (居住证在 typed 居住正在 → 居住 正在).  Adjacent pieces whose
        joined pinyin is that of an FAQ question word become that one word, matched as a
        homophone: two single characters, or a word plus the next word's first character."""
        out: list[str] = []
        i = 0
        while i < len(words):
            a = words[i]
            b = words[i + 1] if i + 1 < len(words) else ""
            if b and all_han(a + b):
                if len(a) == 1 == len(b) and self._sounds_like_faq_word(a + b):
                    out.append(a + b)
                    i += 2
                    continue
                if len(b) > 1 and len(a) > 1 and self._sounds_like_faq_word(a + b[0]):
                    out.append(a + b[0])
                    if b[1:] not in self._analyzer.lexicon.stopwords:
                        out.append(b[1:])
                    i += 2
                    continue
            out.append(a)
            i += 1
        return out

    def _join_variants(self, words: list[str]) -> list[str]:
        """Join adjacent pieces that together are, or nearly are, one FAQ question word.

        The segmenter splits a word it does not know (雨污分离 → 雨 污 分离), so a near
        variant of an FAQ word only shows once its pieces are joined again."""
        out: list[str] = []
        i = 0
        while i < len(words):
            for span in (3, 2):
                pieces = words[i : i + span]
                if len(pieces) == span and self._near_faq_word(pieces):
                    out.append("".join(pieces))
                    i += span
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def _near_faq_word(self, pieces: list[str]) -> bool:
        """Whether the pieces, not all FAQ words already (下午 时间 must not become 下班时间),
        join into an FAQ question word or a near variant of one."""
        text = "".join(pieces)
        if not all_han(text) or all(p in self._words for p in pieces):
            return False
        return text in self._words or not variant_keys(text).isdisjoint(self._variants)

    def _sounds_like_faq_word(self, text: str) -> bool:
        return "".join(self._analyzer.pinyin(text)) in self._pinyins
