"""faq.yaml edits reach the live bot without a restart; a bad edit keeps the old FAQ."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot.config import MatchSettings, RolesConfig, Settings
from bot.faq.meaning import ModelStatus
from bot.faq.source import FaqSource
from bot.faq.text import TextAnalyzer
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.harness import start_bot


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def test_edit_is_picked_up_and_bad_edit_is_refused(
    tmp_path: Path, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    faq_path = tmp_path / "faq.yaml"
    shutil.copy(REPO / "faq.yaml", faq_path)
    settings = Settings(
        data_dir=tmp_path / "data",
        faq=faq_path,
        roles=RolesConfig(admins=("fake:admin",), trusted_role_channels=()),
    )
    bot = await start_bot(settings, FakeClock(), analyzer, sentence_model)
    core, resident = bot.core, bot.chat("resident")
    try:
        before = core.faq.size
        assert core.faq.check_for_change() is None

        faq_path.write_text(
            faq_path.read_text(encoding="utf-8")
            + """
  - id: wheelchair-lending
    category: 社区服务
    questions: ["社区能借轮椅吗", "Can I borrow a wheelchair?"]
    answer: 可以，带身份证到一楼大厅登记，每周三下午可借轮椅，押金200元。
""",
            encoding="utf-8",
        )
        _touch_later(faq_path)
        result = core.faq.check_for_change()
        assert result is not None and result.ok and result.entries == before + 1
        (reply,) = await resident.say("社区能借轮椅吗")
        assert "借轮椅" in reply.text

        faq_path.write_text("version: 1\nentries:\n  - id: Bad Id\n", encoding="utf-8")
        _touch_later(faq_path)
        result = core.faq.check_for_change()
        assert result is not None and not result.ok and "field 'id'" in result.error
        notices = core.conversation.reload_notice(result)
        assert [str(n.to) for n in notices] == ["fake:admin"]
        assert "继续使用旧版本" in notices[0].text and "Bad Id" in notices[0].text
        (still,) = await resident.say("社区能借轮椅吗")
        assert "借轮椅" in still.text
    finally:
        bot.close()


def test_a_removed_keyword_stops_shaping_segmentation(
    tmp_path: Path, sentence_model: ModelStatus
) -> None:
    """Each build gets a fresh analyzer, so keywords of an earlier faq.yaml do not linger."""
    faq_path = tmp_path / "faq.yaml"
    entry = (
        "version: 1\n"
        "entries:\n"
        "  - id: helpers\n"
        "    category: 志愿服务\n"
        "    questions: [帮帮忙服务队怎么报名]\n"
        "    answer: 到中心一楼登记。\n"
    )
    faq_path.write_text(entry + "    keywords: [帮帮忙]\n", encoding="utf-8")
    source = FaqSource(faq_path, MatchSettings(), status=sentence_model)
    assert source.matcher.analyzer.tokens("帮帮忙") == ["帮帮忙"]  # a keyword stays whole

    faq_path.write_text(entry, encoding="utf-8")
    assert source.reload().ok
    assert source.matcher.analyzer.tokens("帮帮忙") == ["帮忙"]  # no longer a keyword
