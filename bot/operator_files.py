"""Operators' files (settings, faq.yaml, schedules/): read as UTF-8 YAML, or a ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError


def read_text(path: Path) -> str:
    """The file as text (UTF-8, a BOM tolerated), or a ConfigError saying why not."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), f"not UTF-8 (byte {exc.start}); save the file as UTF-8"
        ) from exc


def parse_yaml(text: str, name: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """YAML text of the file `name`; a syntax error is a ConfigError with its line."""
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(name, f"bad YAML: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(name, f"bad YAML: {exc}") from exc
