"""Operators' files (settings, faq.yaml, schedules/): one YAML loader and one field validator."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from bot.errors import ConfigError
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES

_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DURATION = re.compile(r"(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?", re.IGNORECASE)
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_FILE_BYTES = 5_000_000  # an operator file larger than this is a mistake (or an attack)
MAX_VALUES = 100_000  # values in one file once every alias (*name) is expanded


def read_text(path: Path) -> str:
    """The file as text (UTF-8, a BOM tolerated), or a ConfigError saying why not."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                str(path), f"is {size:,} bytes; an operator file may have {MAX_FILE_BYTES:,}"
            )
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), f"not UTF-8 (byte {exc.start}); save the file as UTF-8"
        ) from exc


def parse_yaml(text: str, name: str, loader: type[yaml.SafeLoader] | None = None) -> Any:
    """YAML text of the file `name`; a syntax error is a ConfigError with its line.

    Every operator file goes through here: too large a text, or aliases that expand into
    too many values (an "alias bomb"), are refused before anything is built.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(name, f"has {len(text):,} characters; at most {MAX_FILE_BYTES:,}")
    try:
        return yaml.load(text, Loader=loader or StrictLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(name, f"bad YAML: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(name, f"bad YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(name, "bad YAML: nested too deeply") from None


def _scalar_text(value: Any) -> str:
    """A list item as text: a string, or a number written without quotes ('' for anything
    else, such as a nested list, which would otherwise be expanded into one long text)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def check_version(raw: Mapping[Any, Any], name: str, supported: int) -> None:
    """The file's `version:` must be exactly `supported` (a number, not `true`)."""
    version = raw.get("version")
    if version != supported or isinstance(version, bool):
        raise ConfigError(
            name, f"unsupported version {version!r} (expected {supported})", field="version"
        )


class StrictLoader(yaml.SafeLoader):
    """SafeLoader for every operator file: keeps 18:30 as text, refuses a key written twice.

    Plain YAML 1.1 reads an unquoted 18:30 as the base-60 number 1110, and silently keeps the
    last of two equal keys in one mapping (an FAQ entry's second `answer:` would win).
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and tag in {_INT_TAG, _FLOAT_TAG} and ":" in str(value):
            return _STR_TAG
        return tag

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"key {key!r} is written twice",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand into more than MAX_VALUES values, or that
    contains itself; O(distinct nodes), however large the expansion would be."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConstructorError(
                None, None, "an alias refers to a value that contains it", node.start_mark
            )
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_VALUES:
            raise ConstructorError(
                None,
                None,
                f"aliases expand into more than {MAX_VALUES:,} values (an alias bomb?)",
                node.start_mark,
            )
        sizes[key] = total
        return total

    size(root)


class Fields:
    """Reads typed values out of one mapping of an operator file; every failure names the
    file, the entry and the field."""

    def __init__(self, raw: Mapping[Any, Any], file: str, entry: str, prefix: str = "") -> None:
        self.raw = raw
        self.file = file
        self.entry = entry
        self.prefix = prefix

    @classmethod
    def of_entry(cls, raw: Any, file: str, fallback: str, allowed: Sequence[str]) -> Fields:
        """The fields of one list entry, named by its `id` when it has one (else `fallback`,
        e.g. '#3'); a non-mapping or an unknown key is refused, naming the entry."""
        if not isinstance(raw, dict):
            raise ConfigError(file, "must be a mapping", entry=fallback)
        entry_id = raw.get("id")
        label = entry_id if isinstance(entry_id, str) and entry_id else fallback
        fields = cls(raw, file, label)
        fields.check_keys(allowed)
        return fields

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, message, entry=self.entry, field=self.prefix + key)

    def check_keys(self, allowed: Sequence[str]) -> None:
        unknown = sorted(set(map(str, self.raw)) - set(allowed))
        if unknown:
            raise self.error(unknown[0], f"unknown key (allowed: {', '.join(allowed)})")

    def required(self, key: str) -> Any:
        if self.raw.get(key) is None:
            raise self.error(key, "is missing")
        return self.raw[key]

    def text(self, key: str) -> str:
        value = self.required(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be non-empty text")
        return value.strip()

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def integer(
        self, key: str, low: int, high: int | None = None, default: int | None = None
    ) -> int:
        value = self.raw.get(key)
        if value is None and default is not None:
            return default
        value = self.required(key)
        limit = f"from {low} to {high}" if high is not None else f"at least {low}"
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < low
            or (high is not None and value > high)
        ):
            raise self.error(key, f"must be a whole number {limit}, not {value!r}")
        return value

    def clock(self, key: str) -> time:
        value = self.required(key)
        match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise self.error(key, f'must be a time of day like "18:30", not {value!r}')
        return time(int(match[1]), int(match[2]))

    def optional_clock(self, key: str) -> time | None:
        return None if self.raw.get(key) is None else self.clock(key)

    def duration(self, key: str) -> timedelta:
        value = self.required(key)
        match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None or not (match[1] or match[2]):
            raise self.error(key, f'must be a duration like "90m", "2h" or "1h30m", not {value!r}')
        span = timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
        if span <= timedelta(0):
            raise self.error(key, "must be longer than zero")
        return span

    def text_list(self, key: str, required: bool = True, unique: bool = True) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not value:
            raise self.error(key, "must be a non-empty list of text")
        items = tuple(_scalar_text(v) for v in value)
        if not all(items):
            bad = value[items.index("")]
            raise self.error(key, f"holds {bad!r}; every item must be non-empty text")
        duplicate = next((v for i, v in enumerate(items) if v in items[:i]), None)
        if unique and duplicate is not None:
            raise self.error(key, f"lists {duplicate!r} twice")
        return items

    def targets(self, key: str, required: bool = True) -> tuple[str, ...]:
        items = self.text_list(key, required)
        for target in items:
            network, colon, chat = target.partition(":")
            if colon and not (network and chat):
                raise self.error(key, f"{target!r} must look like 'network:chat_id'")
        return items

    def languages(self, key: str, required: bool = True) -> dict[str, str]:
        value = self.raw.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict) or not value:
            raise self.error(
                key, f"must map languages ({', '.join(LANGUAGES)}) to text; zh-CN is required"
            )
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise self.error(
                    f"{key}.{lang}", f"unknown language (known: {', '.join(LANGUAGES)})"
                )
            if not isinstance(text, str) or not text.strip():
                raise self.error(f"{key}.{lang}", "must be non-empty text")
            texts[lang] = text.strip()
        if DEFAULT_LANGUAGE not in texts:
            raise self.error(key, f"the {DEFAULT_LANGUAGE} text is missing")
        return texts
