"""Bot work through the real core and APScheduler: follow-ups, quiet hours, restarts."""

from __future__ import annotations

from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.desk.tickets import Status
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Role
from bot.schedule.joblog import JobLog
from channels.base import ChannelError
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot
from tests.scheduled import ADMIN, STAFF_ROOM, button, staff_cards, when

# ---- ticket follow-ups -------------------------------------------------------------------


async def test_unclaimed_ticket_comes_back_then_goes_to_admins(sched: Bot) -> None:
    await sched.chat("zhang", group="丰仓小区群").say("/report 3号楼路灯不亮")
    assert len(sched.sent_to(STAFF_ROOM)) == 1
    await sched.at(when(1, 10, 59))  # SLA: 2 working hours
    assert len(sched.sent_to(STAFF_ROOM)) == 1
    await sched.at(when(1, 11, 1))
    again = sched.sent_to(STAFF_ROOM)[-1]
    assert "⏰ #1001" in again.text and "3号楼路灯不亮" in again.text
    assert again.buttons  # one tap to claim, as on the first card
    # 4 working hours: 09:00–12:00 and 14:00–15:00 (lunch does not count)
    await sched.at(when(1, 14, 59))
    assert sched.texts(ADMIN) == []
    await sched.at(when(1, 15, 1))
    (escalation,) = sched.texts(ADMIN)
    assert "⚠️ #1001" in escalation
    await sched.at(when(3, 9))  # nothing more, however long it waits
    assert len(staff_cards(sched, 1001)) == 2 and len(sched.texts(ADMIN)) == 1


async def test_sla_counts_working_hours_only(sched: Bot) -> None:
    await sched.at(when(4, 17))  # Friday 17:00: half an hour of office time left
    await sched.chat("zhang", group="丰仓小区群").say("/report 东门下水道堵了")
    await sched.at(when(7, 9, 59))  # the weekend does not count: Monday 08:30 + 1.5 h = 10:00
    assert len(staff_cards(sched, 1001)) == 1
    staff = sched.chat("zhu", group="staffroom", network="other")
    (listing,) = await staff.say("/tickets overdue")
    assert "#1001" not in listing.text
    await sched.at(when(7, 10, 1))
    assert len(staff_cards(sched, 1001)) == 2 and "⏰ #1001" in staff_cards(sched, 1001)[-1]
    (listing,) = await staff.say("/tickets overdue")
    assert "#1001" in listing.text


async def test_claimed_then_stale_then_not_fixed_reopens(sched: Bot) -> None:
    resident = sched.chat("zhang", group="丰仓小区群")
    await resident.say("/report 楼道灯坏了")
    staff = sched.chat("zhu", group="staffroom", network="other")
    await staff.say("/claim 1001")
    await sched.at(when(3, 8, 59))  # two working days after the claim: Thursday 09:00
    assert sched.texts("other:zhu") == []
    await sched.at(when(3, 9, 1))
    (reminder,) = sched.texts("other:zhu")
    assert "#1001" in reminder and "2 个工作日" in reminder
    assert len(staff_cards(sched, 1001)) == 1  # a claimed ticket is not re-posted
    await staff.say("/resolve 1001 换了灯泡")
    await sched.at(when(4, 9, 30))  # 24 h after resolving
    ask = sched.sent_to("fake:zhang")[-1]
    assert "问题解决了吗" in ask.text
    private = sched.chat("zhang")
    (reply,) = await private.say(action=button(ask, "没有"))  # the card goes to "other"
    assert "重新打开" in reply.text
    assert len(staff_cards(sched, 1001)) == 2 and "🔁" in staff_cards(sched, 1001)[-1]
    ticket = sched.app.core.store.repo(TicketRepo).get(1001)
    assert ticket is not None and ticket.status is Status.REOPENED
    # a reopened ticket gets fresh follow-ups
    assert any(k.startswith("followup:1001:unclaimed:") for k in _planned(sched))


async def test_solved_closes_and_silence_closes_too(sched: Bot) -> None:
    staff = sched.chat("zhu", group="staffroom", network="other")
    for text in ("1号楼门口积水", "东门路灯坏了"):
        await sched.chat("zhang", group="丰仓小区群").say(f"/report {text}")
    await staff.say("/resolve 1001")
    await staff.say("/resolve 1002")
    await sched.at(when(2, 9, 1))
    asks = [o for o in sched.sent_to("fake:zhang") if "问题解决了吗" in o.text]
    assert len(asks) == 2
    await sched.chat("zhang").say(action=button(asks[0], "解决了"))
    tickets = sched.app.core.store.repo(TicketRepo)
    assert tickets.get(1001).status is Status.CLOSED  # type: ignore[union-attr]
    await sched.at(when(5, 9, 2))  # three days of silence
    assert tickets.get(1002).status is Status.CLOSED  # type: ignore[union-attr]
    assert "auto" in tickets.get(1002).history[-1].text  # type: ignore[union-attr]


async def test_nobody_is_asked_at_night(sched: Bot) -> None:
    await sched.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")
    await sched.at(when(1, 21, 30))
    await sched.chat("zhu", group="staffroom", network="other").say("/resolve 1001")
    # Staff work late; the resident hears it in the morning (they were not just talking).
    assert not any("已处理完毕" in t for t in sched.texts("fake:zhang"))
    await sched.at(when(2, 8, 0))
    assert "已处理完毕" in sched.texts("fake:zhang")[-1]
    before = len(sched.sent_to("fake:zhang"))
    await sched.at(when(2, 21, 31))  # the question is due now, in quiet hours
    assert len(sched.sent_to("fake:zhang")) == before
    assert sched.app.core.store.repo(JobLog).done("followup:1001:confirm:1")  # it ran: held back
    await sched.at(when(3, 7, 59))
    assert len(sched.sent_to("fake:zhang")) == before
    await sched.at(when(3, 8, 0))
    assert "问题解决了吗" in sched.sent_to("fake:zhang")[-1].text


async def test_morning_digest_on_working_days(sched: Bot) -> None:
    await sched.chat("zhang", group="丰仓小区群").say("/report 路灯不亮")
    await sched.at(when(2, 8, 31))
    digest = sched.texts(STAFF_ROOM)[-1]
    assert "早报" in digest and "新问题 1 个 #1001" in digest and "超时 1 个 #1001" in digest
    await sched.at(when(5, 9))  # Saturday: no digest
    digests = [t for t in sched.texts(STAFF_ROOM) if "早报" in t]
    assert len(digests) == 3  # Wednesday, Thursday, Friday


# ---- restarts ----------------------------------------------------------------------------


async def test_jobs_pending_at_a_stop_run_once_after_the_start(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.chat("zhang", group="丰仓小区群").say("/report 3号楼路灯不亮")
    bot.close()
    clock.now = when(1, 16)  # the bot was down while both follow-ups fell due
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.app.scheduler.settle()
    try:
        # a fresh process: its channels have sent nothing before
        assert ["⏰ #1001" in t for t in bot.texts(STAFF_ROOM)] == [True]
        assert len(bot.texts(ADMIN)) == 1
    finally:
        bot.close()
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.app.scheduler.settle()
    try:
        assert bot.texts(STAFF_ROOM) == [] and bot.texts(ADMIN) == []  # not again
    finally:
        bot.close()


def _planned(bot: Bot) -> list[str]:
    return [job.key for job in bot.app.scheduler.planned()]


async def test_the_store_not_memory_decides_what_is_pending(sched: Bot) -> None:
    await sched.chat("zhang", group="丰仓小区群").say("/report 路灯不亮")
    planned = _planned(sched)
    assert "followup:1001:unclaimed:0" in planned and "followup:1001:escalate:0" in planned
    count = sched.app.scheduler.rebuild()
    assert _planned(sched) == planned and count == len(planned)
    await sched.chat("zhu", group="staffroom", role=Role.STAFF, network="other").say("/claim 1001")
    assert not any("unclaimed" in k for k in _planned(sched))


async def test_a_digest_missed_while_down_does_not_take_the_next_ones_place(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.chat("zhang", group="丰仓小区群").say("/report 路灯不亮")
    bot.close()
    clock.now = when(3, 7)  # down over Wednesday's digest
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    try:
        await bot.app.scheduler.settle()
        await bot.at(when(3, 8, 31))
        digests = [t for t in bot.texts(STAFF_ROOM) if "早报" in t]
        assert len(digests) == 2  # Wednesday's, late, and Thursday's own
    finally:
        bot.close()


async def test_a_restart_at_night_does_not_wake_residents_with_old_messages(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")
    await bot.at(when(1, 10))
    await bot.chat("zhu", group="staffroom", network="other").say("/resolve 1001")
    await bot.at(when(2, 9, 30))  # past the groups' evening-service notice
    bot.channel.failures.append(ChannelError("network down", retryable=True))
    await bot.at(when(2, 10))  # the question fails to go out …
    assert not any("问题解决了吗" in t for t in bot.texts("fake:zhang"))
    bot.close()
    clock.now = when(2, 23)  # … and the bot restarts at night
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    try:
        await bot.app.scheduler.settle()
        assert bot.texts("fake:zhang") == []
        await bot.at(when(3, 8, 1))
        assert any("问题解决了吗" in t for t in bot.texts("fake:zhang"))
    finally:
        bot.close()
