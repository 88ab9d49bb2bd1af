"""Per-network send pacing: relays, reminders and broadcasts never exceed a network's rate."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


class Pacer:
    """Spaces sends on each network at least 1/rate seconds apart (no rate: no pause)."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = dict(rates)
        self._next: dict[str, float] = {}

    async def wait(self, network: str) -> None:
        rate = self.rates.get(network)
        if not rate or rate <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(self._next.get(network, now), now)
        self._next[network] = slot + 1.0 / rate
        if slot > now:
            await asyncio.sleep(slot - now)
