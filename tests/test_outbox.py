"""Relays go through the outbox: recorded before sending, retried, never sent twice."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Address, Outgoing
from channels.base import ChannelError, SentRef
from tests.fakes import FakeChannel, FakeClock
from tests.harness import Bot, start_bot


async def test_failed_relay_stays_pending_and_is_retried_once(bot: Bot, clock: FakeClock) -> None:
    bot.other.failures.append(ChannelError("flood control", retryable=True))
    (ack, _details) = await bot.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")
    assert "#1001" in ack.text
    assert bot.sent_to("other:g:staffroom") == []  # the card did not get through …
    assert bot.app.core.outbox.repo.with_status("pending")  # … but it is recorded
    assert bot.app.core.outbox.pending() == []  # … and waits for its retry time
    clock.advance(seconds=30)
    await bot.app.flush_outbox()
    await bot.app.flush_outbox()
    (card,) = bot.sent_to("other:g:staffroom")
    assert "#1001" in card.text
    assert bot.app.core.outbox.pending() == []
    ticket = bot.app.core.store.repo(TicketRepo).get(1001)
    assert ticket is not None and ticket.cards  # the card's message id was recorded


async def test_retries_back_off_exponentially(bot: Bot, clock: FakeClock) -> None:
    bot.other.failures += [ChannelError("429", retryable=True) for _ in range(3)]
    await bot.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")  # first failure
    waits: list[int] = []
    while not bot.sent_to("other:g:staffroom"):
        failures_left, waited = len(bot.other.failures), 0
        while len(bot.other.failures) == failures_left and not bot.sent_to("other:g:staffroom"):
            clock.advance(seconds=5)
            waited += 5
            await bot.app.flush_outbox()
        waits.append(waited)
    assert waits == [30, 60, 120]  # then it went through
    assert len(bot.sent_to("other:g:staffroom")) == 1


async def test_final_failure_is_kept_not_retried(bot: Bot) -> None:
    bot.other.failures.append(ChannelError("chat not found", retryable=False))
    await bot.chat("zhang", group="丰仓小区群").say("/report 单元门坏了")
    await bot.app.flush_outbox()
    assert bot.sent_to("other:g:staffroom") == []
    assert bot.app.core.outbox.pending() == []


async def test_pending_relays_survive_a_restart(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    settings = make_settings()
    # The staff network is down: no "other" channel.
    bot = await start_bot(settings, clock, analyzer, sentence_model, channels=[FakeChannel("fake")])
    await bot.chat("zhang", group="丰仓小区群").say("/report 东门积水很深")
    bot = await bot.restart(channels=[FakeChannel("fake"), FakeChannel("other")])
    await bot.app.flush_outbox(at_start=True)  # at start, retry pauses do not apply
    try:
        (card,) = bot.other.sent
        assert "东门积水很深" in card.text
    finally:
        bot.close()


async def test_same_key_is_recorded_once(bot: Bot) -> None:
    outbox = bot.app.core.outbox
    out = (await bot.chat("li").say("/help"))[0]
    assert outbox.enqueue("k1", out) is True
    assert outbox.enqueue("k1", out) is False
    assert [k for k, _ in outbox.pending()] == ["k1"]


async def test_a_slow_send_and_a_retry_round_do_not_both_go_out(bot: Bot) -> None:
    import asyncio

    release = asyncio.Event()
    original = bot.other.send

    async def slow_send(out: Outgoing) -> SentRef:
        await release.wait()
        return await original(out)

    bot.other.send = slow_send  # type: ignore[method-assign]
    report = asyncio.create_task(bot.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了"))
    await asyncio.sleep(0.05)
    retry_round = asyncio.create_task(bot.app.flush_outbox())
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(report, retry_round)
    assert len(bot.sent_to("other:g:staffroom")) == 1


async def test_a_message_delivered_again_is_not_handled_twice(bot: Bot) -> None:
    from bot.models import ChatKind, Incoming, Person

    again = Incoming(
        chat=Address("fake", "g:丰仓小区群"),
        sender=Person("fake", "zhang", "zhang"),
        chat_kind=ChatKind.GROUP,
        text="/report 东门积水",
        message_id="m-42",
        chat_title="丰仓小区群",
    )
    await bot.app.deliver(again)
    await bot.app.deliver(again)  # e.g. a replayed sync after a crash
    assert bot.app.core.store.repo(TicketRepo).count() == 1
    assert len(bot.sent_to("other:g:staffroom")) == 1


async def test_a_message_its_seen_mark_and_its_relays_are_one_commit(bot: Bot) -> None:
    """A crash can no longer keep the "seen" mark but lose the staff card: they are one line."""
    from bot.models import ChatKind, Incoming, Person
    from bot.store.files import journal_path

    journal = bot.app.core.store.db.journal
    path = journal_path(journal.folder, journal.generation)
    before = len(path.read_bytes().splitlines())
    bot.other.failures.append(ChannelError("network down", retryable=True))  # card not sent
    await bot.app.deliver(
        Incoming(
            chat=Address("fake", "g:丰仓小区群"),
            sender=Person("fake", "zhang", "zhang"),
            chat_kind=ChatKind.GROUP,
            text="/report 东门积水",
            message_id="m-43",
            chat_title="丰仓小区群",
        )
    )
    lines = [json.loads(line) for line in path.read_bytes().splitlines()[before:]]
    handled = lines[0]["set"]
    assert "1001" in handled["tickets"]
    docs = list(handled["outbox"].values())
    assert any(d["key"] == "msg|fake:g:丰仓小区群|m-43|None|seen" for d in docs), docs
    cards = [d for d in docs if d["out"] and d["out"]["to"]["chat_id"] == "g:staffroom"]
    assert len(cards) == 1 and cards[0]["status"] == "pending"
    assert cards[0]["key"].startswith("msg|fake:g:丰仓小区群|m-43|")
    # what follows are the sends' outcomes (the failed card's retry time), each a commit
    assert all("tickets" not in line.get("set", {}) for line in lines[1:]), lines[1:]
