"""Shared fixtures: one text analyzer per session (jieba loads once), a bot per test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import RolesConfig, Settings, StaffRoom, WebConfig
from bot.faq.meaning import ModelStatus, load_model
from bot.faq.text import TextAnalyzer
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot

REPO = Path(__file__).resolve().parent.parent
SHARED_DEV = REPO.parent / "shared" / "faq-eval" / "dev"


@pytest.fixture(scope="session")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer()


@pytest.fixture(scope="session")
def sentence_model() -> ModelStatus:
    """The bundled sentence model, loaded once for the whole session (as the bot loads it
    once in bot/wiring.py); a test that needs it fails, never skips, when it cannot load."""
    status = load_model(True)
    if status.model is None:
        pytest.fail(f"the bundled sentence model is not available: {status.reason}")
    return status


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "faq": REPO / "faq.yaml",
            "roles": RolesConfig(
                admins=("fake:admin",), staff=("fake:staff", "other:zhu"), trusted_role_channels=()
            ),
            "staff_rooms": (StaffRoom(chat="other:g:staffroom"),),
            "compounds": ("丰仓小区", "粮库宿舍"),
        }
        base.update(overrides)
        return Settings.model_validate(base)

    return make


@pytest.fixture
async def bot(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> AsyncIterator[Bot]:
    """The real core behind two fake networks: residents on "fake", the staff room on "other"."""
    running = await start_bot(make_settings(), clock, analyzer, sentence_model)
    yield running
    running.close()


@pytest.fixture
def sched_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    """The shipped evening service; no declarative broadcasts (tests make their own); 2027's
    holidays acknowledged as they are, so the admins get no calendar notice in December 2026
    (tests/test_holidays.py tells that story)."""
    from tests.scheduled import GROUPS

    schedules = tmp_path / "schedules"
    schedules.mkdir()
    shutil.copy(REPO / "schedules" / "evening-service.yaml", schedules)
    (schedules / "holidays.yaml").write_text(
        "version: 1\nholidays:\n  - {year: 2027, complete: true}\n", encoding="utf-8"
    )
    return make_settings(groups=GROUPS, schedules_dir=schedules)


@pytest.fixture
async def sched(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> AsyncIterator[Bot]:
    """The bot with its scheduler running, on Tuesday 2026-12-01 09:00 (a working day)."""
    running = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    yield running
    running.close()


def web_settings(make_settings: Callable[..., Settings], tmp_path: Path, **more: Any) -> Settings:
    """The test settings with a web: section and a copy of faq.yaml the console may edit."""
    faq = tmp_path / "faq" / "faq.yaml"
    faq.parent.mkdir(exist_ok=True)
    shutil.copy(REPO / "faq.yaml", faq)
    return make_settings(web=WebConfig(base_url="http://console.test"), faq=faq, **more)


@pytest.fixture
async def wbot(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> AsyncIterator[Bot]:
    """The bot with its web console's settings (served by `tests.web_helpers.console_client`)."""
    running = await start_bot(
        web_settings(make_settings, tmp_path), clock, analyzer, sentence_model
    )
    yield running
    running.close()
