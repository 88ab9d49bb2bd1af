"""Settings: an optional YAML file validated by pydantic, secrets from the environment."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError
from bot.faq.matcher import MatchSettings
from bot.i18n import LANGUAGES
from bot.operator_files import parse_yaml, read_text
from bot.schedule.worktime import WorkTimeConfig

CONFIG_ENV = "YISHITING_CONFIG"
DEFAULT_CONFIG = Path("yishiting.yaml")
REPO_FAQ = Path(__file__).resolve().parent.parent / "faq.yaml"
REPO_SCHEDULES = Path(__file__).resolve().parent.parent / "schedules"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolesConfig(_Strict):
    """Who is staff or admin, as 'channel:user_id' keys (e.g. 'telegram:12345')."""

    admins: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    trusted_role_channels: tuple[str, ...] = ("console",)

    @field_validator("admins", "staff")
    @classmethod
    def _qualified(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            if ":" not in key:
                raise ValueError(f"{key!r} must look like 'channel:user_id'")
        return keys


class Category(_Strict):
    """A ticket category; keywords let the bot guess it from a report's text."""

    name: str
    keywords: tuple[str, ...] = ()


DEFAULT_CATEGORIES = (
    Category(name="路灯照明", keywords=("路灯", "灯", "照明", "黑", "不亮")),
    Category(
        name="排水/雨污分流",
        keywords=("下水", "排水", "雨污", "污水", "积水", "堵", "化粪池", "管道"),
    ),
    Category(name="物业", keywords=("物业", "保洁", "电梯", "门禁", "楼道")),
    Category(name="医保社保", keywords=("医保", "社保", "养老金", "报销", "缴费")),
    Category(name="邻里纠纷", keywords=("邻居", "吵", "纠纷", "噪音", "漏水")),
    Category(name="其他"),
)


class StaffRoom(_Strict):
    """A chat where ticket cards are posted; empty filters mean every category/compound."""

    chat: str
    categories: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()

    @field_validator("chat")
    @classmethod
    def _qualified(cls, chat: str) -> str:
        if ":" not in chat:
            raise ValueError(f"{chat!r} must look like 'channel:chat_id'")
        return chat


class FollowupConfig(_Strict):
    """When tickets come back to staff, to admins and to the residents who reported them."""

    sla_hours: float = Field(default=2, gt=0)  # working hours an open ticket may stay unclaimed
    sla_hours_by_category: dict[str, float] = Field(default_factory=dict)
    stale_working_days: float = Field(default=2, gt=0)  # claimed but untouched: remind assignee
    confirm_after_hours: float = Field(default=24, gt=0)  # resolved: ask "问题解决了吗？"
    autoclose_days: float = Field(default=3, gt=0)  # no answer to that question: close
    digest_at: str = "08:30"  # the staff's morning digest, on working days

    @field_validator("digest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError(f"{value!r} is not a time like '08:30'")
        return value

    @field_validator("sla_hours_by_category")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for category, hours in value.items():
            if hours <= 0:
                raise ValueError(f"{category!r}: the SLA must be more than 0 hours, not {hours}")
        return value

    def sla_for(self, category: str) -> float:
        return self.sla_hours_by_category.get(category, self.sla_hours)


class Settings(_Strict):
    """Everything the bot reads at start; every field has a working default."""

    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("data")
    faq: Path | None = None
    faq_reload_seconds: float = Field(default=2.0, gt=0)
    max_text_chars: int = Field(default=1000, ge=10)
    dialogue_timeout_minutes: float = Field(default=30, gt=0)
    outbox_retry_seconds: float = Field(default=30, gt=0)
    send_timeout_seconds: float = Field(default=60, gt=0)  # a send that hangs is retried later
    schedules_dir: Path | None = None  # default ./schedules, else the bundled one
    broadcast_grace_minutes: float = Field(default=30, gt=0)  # later than this: missed
    # Messages per second the bot sends on each network for relays, reminders and broadcasts.
    send_rates: dict[str, float] = Field(default_factory=lambda: {"telegram": 20.0, "matrix": 5.0})
    work: WorkTimeConfig = WorkTimeConfig()
    followups: FollowupConfig = FollowupConfig()
    # Adapter-owned settings, validated by the adapter (channels/telegram.py, TelegramSettings);
    # the token comes only from $YISHITING_TELEGRAM_TOKEN.
    telegram: dict[str, Any] = Field(default_factory=dict)
    # Likewise channels/matrix.py (MatrixSettings); the password or access token come only from
    # $YISHITING_MATRIX_PASSWORD / $YISHITING_MATRIX_ACCESS_TOKEN.
    matrix: dict[str, Any] = Field(default_factory=dict)
    bot_names: tuple[str, ...] = ("议事厅", "小助手", "yishiting")
    match: dict[str, float] = Field(default_factory=dict)  # overrides of MatchSettings
    roles: RolesConfig = RolesConfig()
    admin_chats: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()
    groups: dict[str, str] = Field(default_factory=dict)  # 'channel:chat_id' -> compound
    compound_tags: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # tag -> compounds
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    staff_rooms: tuple[StaffRoom, ...] = (StaffRoom(chat="console:group:工作人员群"),)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("match")
    @classmethod
    def _known_thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        known = {f.name for f in fields(MatchSettings)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown threshold {unknown[0]!r} (known: {', '.join(sorted(known))})"
            )
        return value

    @property
    def match_settings(self) -> MatchSettings:
        defaults = MatchSettings()
        return replace(
            defaults, **{k: type(getattr(defaults, k))(v) for k, v in self.match.items()}
        )

    @property
    def faq_path(self) -> Path:
        if self.faq is not None:
            return self.faq
        local = Path("faq.yaml")
        return local if local.is_file() else REPO_FAQ

    @property
    def schedules_path(self) -> Path:
        if self.schedules_dir is not None:
            return self.schedules_dir
        local = Path("schedules")
        return local if local.is_dir() else REPO_SCHEDULES


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read the config file (explicit path, $YISHITING_CONFIG, ./yishiting.yaml, or none)."""
    source = path or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    data: dict[str, Any] = {}
    name = str(source or DEFAULT_CONFIG)
    if source is None and DEFAULT_CONFIG.is_file():
        source = DEFAULT_CONFIG
    if source is not None:
        data = _read_yaml(source)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(name, first["msg"], field=key) from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    data = parse_yaml(read_text(path), str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping of settings")
    return data
