"""Settings: an optional YAML file validated by pydantic, secrets from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError
from bot.i18n import LANGUAGES
from bot.operator_files import parse_yaml, read_text

CONFIG_ENV = "YISHITING_CONFIG"
DEFAULT_CONFIG = Path("yishiting.yaml")
REPO_FAQ = Path(__file__).resolve().parent.parent / "faq.yaml"
REPO_SCHEDULES = Path(__file__).resolve().parent.parent / "schedules"


@dataclass(frozen=True)
class MatchSettings:
    """Decision thresholds on the coverage score (0..1); README documents them under `faq.match`.

    answer_threshold  = 0.34  answer when the best entry scores at least this …
    answer_margin     = 0.35  … and beats the runner-up by this margin:
                              (best - second) / best + evidence_weight × evidence
    confident_threshold = 0.60  a best score of at least this needs only …
    confident_margin  = 0.20  … this margin to answer (a near-verbatim question)
    evidence_weight   = 0.15  weight of the evidence margin: the weighted share of the query
                              the best entry explains and the runner-up does not, minus the
                              reverse (the difference of their query sides)
    suggest_threshold = 0.29  otherwise offer suggestions when the best scores at least this
    suggest_ratio     = 0.60  suggestions after the first must score >= ratio * best
    max_suggestions   = 3     at most this many suggestions, best first

    Tuned on a held-apart community FAQ (220 cases) and checked on the bundled FAQ: a wrong
    answer costs more than a suggestion, so the margin is wide.  Messages that ask something
    different about a topic an entry covers (医保交重了能退吗 against "how to pay") score
    like chatty paraphrases but sit closer to their runner-up; a lower threshold with a
    wider margin answers more paraphrases and fewer of those, while a message that matches
    an entry's own question (0.6 and up) is answered with the usual margin.  The ask
    penalty lowers every imperfect score, hence thresholds about 0.1 below those before it;
    answer_threshold 0.34 was checked by cross-validation over halves of the dev set.
    """

    answer_threshold: float = 0.34
    answer_margin: float = 0.35
    confident_threshold: float = 0.60
    confident_margin: float = 0.20
    evidence_weight: float = 0.15
    suggest_threshold: float = 0.29
    suggest_ratio: float = 0.60
    max_suggestions: int = 3
    # The sentence model's second opinion (bot/faq/meaning.py), fitted by 2-fold
    # cross-validation over 20 seeds on the dev set (`yishiting faq eval --cv`):
    sentence_model: int = 1  # 0 turns it off: lexical-only
    rerank_weight: float = 8.0  # entries ranked by score + this × (similarity - best similarity)
    agree_threshold: float = 0.38  # a best entry the model also ranks first is answered from
    agree_lexical_margin: float = 0.10  # … this score and lexical margin …
    agree_model_margin: float = 0.005  # … when its similarity leads the model's runner-up by this
    recall_threshold: float = 0.25  # suggest (not stay silent) from this score when they agree
    # The answer verifier (bot/faq/verifier.py; its coefficients and threshold are fitted by
    # `faq eval --cv` and shipped in bot/faq/data/verifier.json): 0 answers by the thresholds
    # above alone.
    answer_verifier: int = 1


_PERIOD = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_period(value: str) -> tuple[time, time]:
    """Split a strict "HH:MM-HH:MM" string into two times (no ordering check)."""
    match = _PERIOD.match(value)
    if match is None:
        raise ValueError(f"{value!r} must look like 'HH:MM-HH:MM' (24-hour, e.g. '08:30-12:00')")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    return time(h1, m1), time(h2, m2)


class WorkTimeConfig(BaseModel):
    """Office periods of a working day, the residents' quiet window and calendar overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    office_hours: tuple[str, ...] = ("08:30-12:00", "14:00-17:30")
    quiet_hours: str = "21:00-08:00"  # may wrap midnight; "" disables
    # Deprecated: schedules/holidays.yaml says the same with line-numbered errors and can mark
    # a year complete (bot/schedule/holidays.py). Still honoured, below the file's entries.
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    @field_validator("office_hours")
    @classmethod
    def _valid_office_hours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("office_hours needs at least one 'HH:MM-HH:MM' period")
        previous: tuple[str, time] | None = None
        for text in value:
            start, end = parse_period(text)
            if start >= end:
                raise ValueError(
                    f"office period {text!r} must start before it ends (no wrapping midnight)"
                )
            if previous is not None:
                prev_text, prev_end = previous
                if start < prev_end:
                    raise ValueError(
                        f"office period {text!r} overlaps or precedes {prev_text!r};"
                        " periods must be sorted and must not overlap"
                    )
            previous = (text, end)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _valid_quiet_hours(cls, value: str) -> str:
        if value == "":
            return value
        start, end = parse_period(value)
        if start == end:
            raise ValueError(
                f"quiet_hours {value!r} starts and ends at the same time; use '' to disable"
            )
        return value

    @model_validator(mode="after")
    def _no_conflicting_overrides(self) -> WorkTimeConfig:
        both = sorted(set(self.extra_holidays) & set(self.extra_workdays))
        if both:
            raise ValueError(f"{both[0].isoformat()} is in both extra_holidays and extra_workdays")
        return self


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
    # Other names residents use for a compound (丰仓: [豐倉小區, 老粮站]); matched anywhere
    # in what they type, Traditional or Simplified.
    compound_aliases: dict[str, tuple[str, ...]] = Field(default_factory=dict)

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
    weekly_summary_at: str = "08:45"  # Mondays: last week in one image to the admins' chat

    @field_validator("digest_at", "weekly_summary_at")
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


class WebConfig(_Strict):
    """The staff and admins' web console (bot/web/): where it listens, how links name it."""

    listen: str = "127.0.0.1:8080"  # host:port; behind a reverse proxy keep it on 127.0.0.1
    base_url: str = ""  # the public address in login links (https://bot.example.org); default
    # http://<listen>
    session_hours: float = Field(default=12, gt=0)  # how long a login lasts

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} must look like 'host:port' (e.g. '127.0.0.1:8080')")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.listen}"


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
    # Likewise channels/matrix/settings.py (MatrixSettings); the password or access token come
    # only from $YISHITING_MATRIX_PASSWORD / $YISHITING_MATRIX_ACCESS_TOKEN.
    matrix: dict[str, Any] = Field(default_factory=dict)
    bot_names: tuple[str, ...] = ("议事厅", "小助手", "yishiting")
    match: dict[str, float] = Field(default_factory=dict)  # overrides of MatchSettings
    roles: RolesConfig = RolesConfig()
    admin_chats: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()
    # Other names residents use for a compound (丰仓: [豐倉小區, 老粮站]); matched anywhere
    # in what they type, Traditional or Simplified.
    compound_aliases: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    groups: dict[str, str] = Field(default_factory=dict)  # 'channel:chat_id' -> compound
    compound_tags: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # tag -> compounds
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    staff_rooms: tuple[StaffRoom, ...] = (StaffRoom(chat="console:group:工作人员群"),)
    web: WebConfig | None = None  # the web console: served by `yishiting run` when present

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


# Secrets that come from the environment only: in a settings file they are an error.
ENVIRONMENT_ONLY = {
    ("telegram", "token"): "YISHITING_TELEGRAM_TOKEN",
    ("matrix", "password"): "YISHITING_MATRIX_PASSWORD",
    ("matrix", "access_token"): "YISHITING_MATRIX_ACCESS_TOKEN",
}


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read the config file (explicit path, $YISHITING_CONFIG, ./yishiting.yaml, or none)."""
    source = path or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    data: dict[str, Any] = {}
    name = str(source or DEFAULT_CONFIG)
    if source is None and DEFAULT_CONFIG.is_file():
        source = DEFAULT_CONFIG
    if source is not None:
        data = _read_yaml(source)
        _refuse_secrets(data, name)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(name, first["msg"], field=key) from exc


def _refuse_secrets(data: dict[str, Any], name: str) -> None:
    for (section, key), env in ENVIRONMENT_ONLY.items():
        values = data.get(section)
        if isinstance(values, dict) and key in values:
            raise ConfigError(
                name,
                f"secrets come from the environment only: delete it here and set ${env}",
                field=f"{section}.{key}",
            )


def _read_yaml(path: Path) -> dict[str, Any]:
    data = parse_yaml(read_text(path), str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping of settings")
    return data
