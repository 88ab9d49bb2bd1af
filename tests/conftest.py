"""Shared fixtures: one text analyzer per session (jieba loads once), a bot per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_core
from bot.config import RolesConfig, Settings
from bot.models import Role
from bot.text import TextAnalyzer
from tests.fakes import Chat, FakeChannel, FakeClock

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
            "roles": RolesConfig(admins=("fake:admin",), staff=("fake:staff",),
                                 trusted_role_channels=()),
        }
        base.update(overrides)
        return Settings.model_validate(base)

    return make


class Bot:
    """The real core behind a fake channel; `chat(...)` opens a conversation with it."""

    def __init__(self, app: App, channel: FakeChannel) -> None:
        self.app = app
        self.channel = channel

    def chat(self, user: str, *, group: str | None = None, role: Role | None = None,
             language: str | None = None) -> Chat:
        return Chat(self.app, self.channel, user, group=group, role=role, language=language)


@pytest.fixture
async def bot(make_settings: Callable[..., Settings], analyzer: TextAnalyzer,
              clock: FakeClock) -> AsyncIterator[Bot]:
    settings = make_settings()
    core = build_core(settings, clock=clock, analyzer=analyzer)
    channel = FakeChannel()
    app = App(core, [channel], settings)
    await channel.start(app.deliver)
    yield Bot(app, channel)
    core.close()
