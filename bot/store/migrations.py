"""Schema migrations: the data folder is stepped forward one version at a time at start.

`LADDER[v]` changes a store of schema v into schema v+1 (documents only: the store writes
the result). Before the first step a backup of the folder is taken (under `upgrades/`);
all steps are applied in memory and then written as one new generation whose manifest
carries the new schema, so a crash mid-upgrade leaves the old generation as it was.

There is one schema so far (1): the ladder is empty, and tests add steps of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.errors import ConfigError
from bot.store.backup import UPGRADES, backup
from bot.store.journal import JournalDB

log = logging.getLogger(__name__)

Step = Callable[[JournalDB], None]

LADDER: dict[int, Step] = {}  # from-version -> the step to from-version + 1


def upgrade(folder: Path, db: JournalDB, current: int, target: int) -> Path:
    """Step the store from schema `current` to `target`; returns where the backup went."""
    steps = []
    for version in range(current, target):
        step = LADDER.get(version)
        if step is None:
            raise ConfigError(
                str(folder),
                f"no upgrade from schema {version} to {version + 1}; "
                "upgrade through an earlier Yishiting release first",
                field="schema",
            )
        steps.append((version, step))
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    saved = folder / UPGRADES / f"before-schema-{target}-{stamp}"
    backup(folder, saved)
    log.warning("upgrading %s from schema %d to %d (backup in %s)", folder, current, target, saved)

    def run_steps() -> None:
        for version, step in steps:
            log.info("schema %d -> %d", version, version + 1)
            step(db)

    try:
        db.journal.rewrite(run_steps, schema=target)
    except OSError as exc:
        raise ConfigError(
            str(folder), f"the upgrade could not be written ({exc}); the folder is unchanged"
        ) from None
    return saved
