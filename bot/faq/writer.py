"""Write accepted resident phrasings into faq.yaml, keeping its comments, order and style."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.errors import ConfigError
from bot.faq.entries import parse_faq


def add_questions(path: Path, additions: dict[str, list[str]]) -> int:
    """Append phrasings to the named entries; returns how many were new. Atomic on disk."""
    yaml = YAML()  # round-trip mode: comments, key order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    text = path.read_text(encoding="utf-8")
    data: Any = yaml.load(text)
    entries = {str(e.get("id")): e for e in data.get("entries", [])}
    added = 0
    for entry_id, phrasings in additions.items():
        entry = entries.get(entry_id)
        if entry is None:
            raise ConfigError(str(path), "no such entry", entry=entry_id)
        for phrasing in phrasings:
            if phrasing not in entry["questions"]:
                entry["questions"].append(phrasing)
                added += 1
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    parse_faq(tmp.read_text(encoding="utf-8"), str(path), base_dir=path.parent)  # still valid
    os.replace(tmp, path)
    return added
