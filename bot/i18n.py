"""User-facing strings by language (bot/locales/*.yaml) and the choice of language."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import yaml

from bot.errors import ConfigError

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")
ENGLISH_WORDS = 2  # a message "is English" with at least this many Latin words and no Han


def normalize_language(code: str | None) -> str | None:
    """Map 'zh', 'zh-Hans', 'en-US', '中文' … onto a supported language, or None."""
    if not code:
        return None
    lowered = code.strip().lower()
    if lowered.startswith("zh") or lowered in {"中文", "cn", "chinese"}:
        return "zh-CN"
    if lowered.startswith("en") or lowered == "english":
        return "en"
    return None


def language_of_text(text: str) -> str | None:
    """The language a message is written in, when the script makes it plain: any Han is
    Chinese; English needs a sentence, not one Latin token ('ok', 'foo', a name)."""
    if _HAN.search(text):
        return "zh-CN"
    if len(_LATIN.findall(text)) >= ENGLISH_WORDS:
        return "en"
    return None


class Translator:
    """Looks up a message key in the user's language, falling back to zh-CN."""

    def __init__(self) -> None:
        self._tables = {lang: self._load(lang) for lang in LANGUAGES}
        missing = set(self._tables[DEFAULT_LANGUAGE]) ^ set(self._tables["en"])
        if missing:
            raise ConfigError("bot/locales", f"keys not in both languages: {sorted(missing)}")

    @staticmethod
    def _load(lang: str) -> dict[str, str]:
        name = f"{lang}.yaml"
        text = resources.files("bot.locales").joinpath(name).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ConfigError(f"bot/locales/{name}", "expected a mapping of key: text")
        return {str(k): str(v).rstrip("\n") for k, v in data.items()}

    def __call__(self, lang: str, key: str, **params: Any) -> str:
        table = self._tables.get(lang, self._tables[DEFAULT_LANGUAGE])
        template = table.get(key) or self._tables[DEFAULT_LANGUAGE][key]
        return template.format(**params) if params else template

    def keys(self) -> set[str]:
        return set(self._tables[DEFAULT_LANGUAGE])
