"""Shared fixtures: one text analyzer per session (jieba loads once), a bot per test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.app import App
from bot.config import RolesConfig, Settings, StaffRoom
from bot.faq.text import TextAnalyzer
from bot.models import Outgoing, Role
from bot.wiring import build_core
from tests.fakes import Chat, FakeChannel, FakeClock

if TYPE_CHECKING:
    from tests.scheduled import Scheduled

REPO = Path(__file__).resolve().parent.parent
SHARED_DEV = REPO.parent / "shared" / "faq-eval" / "dev"


@pytest.fixture(scope="session")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer()


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


class Bot:
    """The real core behind two fake networks: residents on "fake", the staff room on "other"."""

    def __init__(self, app: App, channel: FakeChannel, other: FakeChannel) -> None:
        self.app = app
        self.channel = channel
        self.other = other

    def chat(
        self,
        user: str,
        *,
        group: str | None = None,
        role: Role | None = None,
        language: str | None = None,
        network: str = "fake",
    ) -> Chat:
        channel = self.other if network == "other" else self.channel
        return Chat(self.app, channel, user, group=group, role=role, language=language)

    def sent_to(self, address: str) -> list[Outgoing]:
        return [o for c in (self.channel, self.other) for o in c.sent if str(o.to) == address]


@pytest.fixture
async def bot(
    make_settings: Callable[..., Settings], analyzer: TextAnalyzer, clock: FakeClock
) -> AsyncIterator[Bot]:
    settings = make_settings()
    core = build_core(settings, clock=clock, analyzer=analyzer)
    channel, other = FakeChannel("fake"), FakeChannel("other")
    app = App(core, [channel, other], settings)
    await channel.start(app.deliver)
    await other.start(app.deliver)
    yield Bot(app, channel, other)
    core.close()


@pytest.fixture
def sched_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    """The shipped evening service; no declarative broadcasts (tests make their own)."""
    from tests.scheduled import GROUPS

    schedules = tmp_path / "schedules"
    schedules.mkdir()
    shutil.copy(REPO / "schedules" / "evening-service.yaml", schedules)
    return make_settings(groups=GROUPS, schedules_dir=schedules)


@pytest.fixture
async def sched(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer
) -> AsyncIterator[Scheduled]:
    """The bot with its scheduler running, on Tuesday 2026-12-01 09:00 (a working day)."""
    from tests.scheduled import start, stop

    bot = await start(sched_settings, clock, analyzer)
    yield bot
    stop(bot)
