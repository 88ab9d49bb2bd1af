"""Settings: an optional YAML file validated by pydantic, secrets from the environment."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError
from bot.i18n import LANGUAGES
from bot.matcher import MatchSettings

CONFIG_ENV = "YISHITING_CONFIG"
DEFAULT_CONFIG = Path("yishiting.yaml")
REPO_FAQ = Path(__file__).resolve().parent.parent / "faq.yaml"


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


class Settings(_Strict):
    """Everything the bot reads at start; every field has a working default."""

    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("data")
    faq: Path | None = None
    faq_reload_seconds: float = Field(default=2.0, gt=0)
    max_text_chars: int = Field(default=1000, ge=10)
    bot_names: tuple[str, ...] = ("议事厅", "小助手", "yishiting")
    match: dict[str, float] = Field(default_factory=dict)  # overrides of MatchSettings
    roles: RolesConfig = RolesConfig()
    admin_chats: tuple[str, ...] = ()

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
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(str(path), f"bad YAML: {exc.problem}", line=line) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping of settings")
    return data
