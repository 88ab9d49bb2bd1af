"""Matrix round trip through the bot on a local Synapse, beside a plain client echo in the same run.

Needs a running Synapse: `bash .ci/synapse.sh start /tmp/synapse && source /tmp/synapse/env`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bot.app import App
from bot.config import Settings
from bot.faq.entries import load_faq
from bot.wiring import build_core
from channels.matrix.channel import MatrixChannel
from channels.matrix.settings import FileTokenStore, MatrixSettings
from tests.synapse import User, register, server, unique

REPO = Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def echo_round_trips(resident: User, echo: User, texts: list[str]) -> list[float]:
    """Resident -> echo client -> resident, with no bot: what the wire and Synapse cost."""
    room = await resident.create_room(name="echo", invite=(echo.user_id,))
    await echo.client.join(room)
    await resident.wait_members(room, echo.user_id)
    times = []
    for i, text in enumerate(texts):
        start = time.perf_counter()
        await resident.send(room, text)
        await echo.wait_message(resident.user_id, room, after=i)
        await echo.send(room, f"echo {i}")
        await resident.wait_message(echo.user_id, room, after=i)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def bot_round_trips(
    resident: User, bot_id: str, texts: list[str], core_ms: list[float]
) -> list[float]:
    room = await resident.create_room(invite=(bot_id,))
    await resident.wait_members(room, bot_id, timeout=30)
    times = []
    for i, text in enumerate(texts):
        start = time.perf_counter()
        await resident.send(room, text)
        await resident.wait_message(bot_id, room, after=i, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
    assert len(core_ms) >= len(texts)
    return times


async def main(count: int) -> None:
    srv = server()
    password = uuid.uuid4().hex
    bot_id = await register(srv, unique("yishiting"), password)
    questions = [q for e in load_faq(REPO / "faq.yaml").entries for q in e.questions]
    texts = [questions[i % len(questions)] for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", faq=REPO / "faq.yaml")
        core = build_core(settings)
        core_ms: list[float] = []
        handle = core.conversation.handle

        async def timed_handle(incoming: Any) -> Any:
            start = time.perf_counter()
            try:
                return await handle(incoming)
            finally:
                core_ms.append((time.perf_counter() - start) * 1000)

        core.conversation.handle = timed_handle  # type: ignore[method-assign,assignment]
        channel = MatrixChannel(
            MatrixSettings.model_validate(
                {"homeserver": srv.url, "user_id": bot_id, "password": password}
            ),
            FileTokenStore(Path(tmp) / "matrix.token"),
        )
        app = App(core, [channel], settings)
        resident, echo = await User.create(srv, "resident"), await User.create(srv, "echo")
        try:
            await channel.start(app.deliver)
            wire = await echo_round_trips(resident, echo, texts)
            bot = await bot_round_trips(resident, bot_id, texts, core_ms)
        finally:
            await channel.stop()
            await resident.close()
            await echo.close()
            core.close()
    print(f"{count} messages each, local Synapse; milliseconds")
    print(f"{'path':<44} {'p50':>8} {'p99':>8}")
    print(
        f"{'resident -> bot (FAQ answer) -> resident':<44} {pct(bot, 50):>8.1f} {pct(bot, 99):>8.1f}"
    )
    print(
        f"{'  of which in the core (handle)':<44} {pct(core_ms, 50):>8.1f} {pct(core_ms, 99):>8.1f}"
    )
    print(
        f"{'baseline: resident -> echo client -> resident':<44} {pct(wire, 50):>8.1f} {pct(wire, 99):>8.1f}"
    )
    print(f"\nbot median / echo median: {statistics.median(bot) / statistics.median(wire):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    asyncio.run(main(parser.parse_args().count))
