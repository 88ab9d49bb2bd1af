"""Small talk: messages made only of thanks, greetings, laughter or "ok" (never a ticket)."""

from __future__ import annotations

from importlib import resources

from bot.faq.text import TextAnalyzer


def bundled_phrases() -> tuple[str, ...]:
    """The phrases of bot/faq/data/smalltalk.txt, longest first."""
    text = resources.files("bot.faq.data").joinpath("smalltalk.txt").read_text(encoding="utf-8")
    lines = {
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    }
    return tuple(sorted(lines, key=lambda p: (-len(p), p)))


class SmallTalk:
    """Tells small talk from a question or a report, on the analyzer's normalised text."""

    def __init__(self, phrases: tuple[str, ...]) -> None:
        self.phrases = phrases

    def matches(self, analyzer: TextAnalyzer, text: str) -> bool:
        """True when nothing is left of the message once the small-talk phrases are gone
        (emoji-only and punctuation-only messages included)."""
        rest = analyzer.normalize(text)
        for phrase in self.phrases:
            if phrase.isascii():  # whole English words only: "ok" is not inside "book"
                rest = " ".join(w for w in _remove_words(rest.split(), phrase.split()))
            else:
                rest = rest.replace(phrase, " ")
        return not rest.strip()


def _remove_words(words: list[str], phrase: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i : i + len(phrase)] == phrase:
            i += len(phrase)
        else:
            out.append(words[i])
            i += 1
    return out
