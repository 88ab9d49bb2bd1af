"""Broadcast targets: 'all', compounds, tags and explicit chats resolved to group chats."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from bot.errors import ConfigError
from bot.models import Address
from bot.schedule.book import ALL, EVENING, ScheduleBook


class TargetError(ValueError):
    """A target that names no group chat; `.target` is the target as written."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(f"target {target!r}: {message}")
        self.target = target


def resolve_targets(
    targets: Sequence[str],
    groups: Mapping[str, str],
    tags: Mapping[str, Sequence[str]],
    networks: Collection[str],
) -> list[Address]:
    """The chats `targets` name, in order and without repeats.

    `groups` maps 'channel:chat_id' to a compound name. A target is "all" (every group), a
    compound (its groups), a tag (the groups of its compounds) or 'network:chat_id' on a known
    network (that chat, even if it is not a group the bot knows). Anything else, and a
    compound or tag without a group chat, raises TargetError.
    """
    found: dict[Address, None] = {}  # ordered, and a set: thousands of groups stay cheap
    for target in targets:
        for address in _resolve_one(target, groups, tags, networks):
            found.setdefault(address)
    return list(found)


def _resolve_one(
    target: str,
    groups: Mapping[str, str],
    tags: Mapping[str, Sequence[str]],
    networks: Collection[str],
) -> list[Address]:
    if target == ALL:
        if not groups:
            raise TargetError(target, "no group chats are configured (groups: in the config)")
        return [Address.parse(key) for key in groups]
    if target in groups.values():
        return [Address.parse(key) for key, compound in groups.items() if compound == target]
    if target in tags:
        members = set(tags[target])
        chats = [Address.parse(key) for key, compound in groups.items() if compound in members]
        if not chats:
            raise TargetError(target, "none of the tag's compounds has a group chat")
        return chats
    if any(target in compounds for compounds in tags.values()):
        raise TargetError(target, "the compound has no group chat (groups: in the config)")
    network, colon, chat_id = target.partition(":")
    if colon:
        if network not in networks:
            known = ", ".join(sorted(networks)) or "none"
            raise TargetError(target, f"unknown network {network!r} (known: {known})")
        if not chat_id:
            raise TargetError(target, "the chat id after ':' is missing")
        return [Address(network, chat_id)]
    raise TargetError(
        target,
        "not 'all', a compound with a group chat, a tag, or 'network:chat_id'",
    )


def check_targets(
    book: ScheduleBook,
    groups: Mapping[str, str],
    tags: Mapping[str, Sequence[str]],
    networks: Collection[str],
) -> None:
    """Raise ConfigError for the first target in `book` that names no chat."""
    checks: list[tuple[str, str, str, tuple[str, ...]]] = []
    if book.evening is not None:
        evening = book.evening
        checks.append((evening.file, EVENING, "group_notice_targets", evening.group_notice_targets))
    checks.extend((b.file, b.id, "targets", b.targets) for b in book.broadcasts)
    for file, entry, key, targets in checks:
        for target in targets:
            try:
                _resolve_one(target, groups, tags, networks)
            except TargetError as exc:
                raise ConfigError(file, str(exc), entry=entry, field=key) from exc
