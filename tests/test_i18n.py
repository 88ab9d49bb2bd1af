"""Every user-facing string exists in both languages and every key the code uses exists."""

from __future__ import annotations

import re

from bot.i18n import Translator, language_of_text, normalize_language
from tests.conftest import REPO
from tests.harness import Bot


def test_code_uses_only_existing_keys() -> None:
    keys = Translator().keys()
    used: set[str] = set()
    for path in (REPO / "bot").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'self\.t\([^,]+,\s*"([a-z_]+)"', source))
        used |= set(re.findall(r'UserError\(\s*"([a-z_]+)"', source))
        used |= set(re.findall(r'"(cmd_[a-z]+)"', source))
        used |= {f"usage_{name}" for name in re.findall(r'Command\(\s*"(\w+)"', source)}
    assert used, "the scan found no keys; the pattern is stale"
    assert used <= keys, used - keys


def test_language_choice() -> None:
    assert language_of_text("医保怎么交") == "zh-CN"
    assert language_of_text("How do I pay?") == "en"
    assert language_of_text("123 ???") is None
    assert normalize_language("en-US") == "en"
    assert normalize_language("zh-Hant") == "zh-CN"
    assert normalize_language("fr") is None


def test_fallback_to_chinese_for_unknown_language() -> None:
    t = Translator()
    assert t("fr", "rate_thanks") == t("zh-CN", "rate_thanks")
    assert t("en", "error_too_long", limit=5).endswith("Please shorten it.")


async def test_english_users_get_english_usage_lines(bot: Bot) -> None:
    staff = bot.chat("staff", language="en")
    await staff.say("/lang en")
    (usage,) = await staff.say("/claim")
    assert usage.text == "That is not quite right. Usage: /claim <number>"
    (helped,) = await staff.say("/help")
    assert "/claim <number> — Claim a ticket" in helped.text
