"""Split long message text at line boundaries to fit a network's size limit."""

from __future__ import annotations

from collections.abc import Callable


def split_lines(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Chunks of at most `limit` (as `measure` counts), cut at line breaks where possible."""
    if measure(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for whole in text.splitlines(keepends=True):
        line = whole
        while measure(line) > limit:  # one line longer than a message: cut it
            if current:
                chunks.append(current)
                current = ""
            cut = limit
            while measure(line[:cut]) > limit:
                cut -= 1
            chunks.append(line[:cut])
            line = line[cut:]
        if measure(current) + measure(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current:
        chunks.append(current)
    return [c.rstrip("\n") or c for c in chunks]
