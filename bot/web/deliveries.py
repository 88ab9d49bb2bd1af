"""Broadcasts' delivery reports from the outbox records: each run, each target's outcome.

A target is "sent", "waiting" (held for the end of quiet hours), "retrying" (a failure that
is tried again), "failed" (given up) or "unreachable" (the bot cannot write there: blocked,
removed, the chat gone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import groupby

from bot.models import Address
from bot.store.outbox import Delivery

RUNS_SHOWN = 10
# `broadcast:{id}:{YYYY-MM-DDTHH:MM}|{chat}`: a broadcast's own messages (not its report)
_KEY = re.compile(r"broadcast:(?P<id>[^:|]+):(?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d)\|")
OUTCOMES = ("sent", "waiting", "retrying", "failed", "unreachable")


@dataclass(frozen=True)
class TargetOutcome:
    """One group of one run: its name, how it went, and the network's words on failure."""

    name: str
    outcome: str
    error: str = ""


@dataclass(frozen=True)
class Run:
    """One occurrence of a broadcast (`at` as the job key has it, local time)."""

    broadcast: str
    at: str
    targets: tuple[TargetOutcome, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for t in self.targets if t.outcome == outcome)


def outcome_of(delivery: Delivery, unreachable: Callable[[Address], str | None]) -> str:
    if delivery.status == "sent":
        return "sent"
    if delivery.status == "pending":
        return "retrying" if delivery.error else "waiting"
    if delivery.error.startswith("unreachable") or unreachable(delivery.to) is not None:
        return "unreachable"
    return "failed"


def recent_runs(
    deliveries: list[Delivery],
    titles: Mapping[str, str],
    unreachable: Callable[[Address], str | None],
    limit: int = RUNS_SHOWN,
) -> list[Run]:
    """The latest `limit` runs, newest first, from every `broadcast:` record of the outbox."""
    found = []
    for d in deliveries:
        key = _KEY.match(d.key)
        if key is not None:
            found.append((key["id"], key["at"], d))
    found.sort(key=lambda f: (f[1], f[0]), reverse=True)
    runs = []
    for (broadcast, at), group in groupby(found, key=lambda f: (f[0], f[1])):
        targets = tuple(
            TargetOutcome(titles.get(str(d.to)) or str(d.to), outcome_of(d, unreachable), d.error)
            for _, _, d in group
        )
        runs.append(Run(broadcast, at, targets))
        if len(runs) == limit:
            break
    return runs
