"""bot/faq/data/pinyin_phrases.txt is exactly what pypinyin's phrase dictionary adds.

The bot imports pypinyin without its 47,000-phrase dictionary (42 MB resident) and loads
only the phrases whose reading differs from their characters' first readings (重新 is
chong xin, not zhong xin). This test rebuilds that list from the installed pypinyin in a
child process that has the full dictionary, and compares; after a pypinyin upgrade,
`python -m tests.test_pinyin_phrases --write` rewrites the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.faq.text import TextAnalyzer

DATA = Path(__file__).resolve().parent.parent / "bot" / "faq" / "data" / "pinyin_phrases.txt"

# Runs in a process that never imports bot (bot.faq.text turns the full dictionary off).
_BUILD = r"""
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

def first_reading(ch):
    found = pinyin_dict.get(ord(ch))
    return to_normal(found.split(",")[0]) if found else None

lines = []
for phrase, readings in phrases_dict.items():
    mine = [first_reading(ch) for ch in phrase]
    if None in mine or len(readings) != len(phrase):
        continue
    if mine != [to_normal(r[0]) for r in readings]:
        lines.append(phrase + "\t" + " ".join(r[0] for r in readings))
print("\n".join(sorted(lines)))
"""


def built() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPINYIN_")}
    done = subprocess.run(
        [sys.executable, "-c", _BUILD], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout


def test_the_phrase_file_is_what_pypinyin_adds() -> None:
    assert DATA.read_text(encoding="utf-8") == built()


def test_a_polyphone_in_a_phrase_reads_as_the_phrase_says(analyzer: TextAnalyzer) -> None:
    assert analyzer.pinyin("重新") == ("chong", "xin")
    assert analyzer.pinyin("重量") == ("zhong", "liang")
    assert analyzer.pinyin("银行") == ("yin", "hang")
    assert analyzer.pinyin("重新办") == ("chong", "xin", "ban")  # found inside a longer run


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    DATA.write_text(built(), encoding="utf-8")
