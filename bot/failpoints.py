"""Faults for tests: crash points ($YISHITING_FAILPOINTS) and a full disk ($YISHITING_DISK_FULL).

$YISHITING_FAILPOINTS="after_send:3" kills the process at the 3rd hit; while the file named
by $YISHITING_DISK_FULL exists, the data folder behaves as a full disk.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping

log = logging.getLogger(__name__)

FAILPOINTS_ENV = "YISHITING_FAILPOINTS"
DISK_FULL_ENV = "YISHITING_DISK_FULL"


def disk_full() -> bool:
    """Fault tests: is the switch file named by $YISHITING_DISK_FULL there now?

    While it is, every journal append writes half its line and fails with ENOSPC, and
    snapshots fail, as on a full disk; removing the file frees the disk.
    """
    switch = os.environ.get(DISK_FULL_ENV)
    return bool(switch) and os.path.exists(switch)  # type: ignore[arg-type]


class Failpoints:
    """Named places where a test may have the process SIGKILL itself (none unless asked).

    `after_send` is hit when a platform has accepted a recorded message and before the
    outbox marks it sent: the one moment a crash can make a message go out twice.
    `faq_before_replace` and `faq_after_replace` bracket the one step that replaces faq.yaml
    with a saved edit (bot/faq/writer.py).
    """

    def __init__(self, targets: Mapping[str, int] | None = None) -> None:
        self.targets = dict(targets or {})
        self.hits: dict[str, int] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Failpoints:
        targets: dict[str, int] = {}
        for item in environ.get(FAILPOINTS_ENV, "").split(","):
            name, _, count = item.strip().partition(":")
            if name:
                targets[name] = int(count or 1)
        return cls(targets)

    def hit(self, name: str) -> None:
        if name not in self.targets:
            return
        self.hits[name] = self.hits.get(name, 0) + 1
        if self.hits[name] == self.targets[name]:
            log.critical("failpoint %s reached: killing the process", name)
            os.kill(os.getpid(), signal.SIGKILL)
