"""The active-ticket index by compound and category: kept up to date, rebuilt without decoding."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.desk.repo import TicketRepo
from bot.desk.tickets import Reporter, Status, Ticket
from bot.store.folder import Store

AT = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def ticket(n: int, compound: str = "丰仓小区", category: str = "路灯照明") -> Ticket:
    t = Ticket(
        number=0,
        kind="report",
        category=category,
        compound=compound,
        text=f'{n}号楼 "status":"closed" 路灯',  # field names in the text fool no index
        origin="fake:g",
        reporters=[Reporter(f"fake:{n}", f"居民{n}", "fake", str(n), "zh-CN")],
        created=AT.isoformat(),
    )
    t.apply("open", at=AT, who=f"fake:{n}", name=f"居民{n}", via="fake", text=t.text)
    return t


def numbers(tickets: list[Ticket]) -> list[int]:
    return [t.number for t in tickets]


def test_the_index_follows_creation_status_changes_and_a_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        repo = store.repo(TicketRepo)
        for n in range(5):
            repo.create(ticket(n))
        repo.create(ticket(9, compound="粮库宿舍"))
        repo.create(ticket(8, category="环境卫生"))
        assert numbers(repo.active("丰仓小区", "路灯照明")) == [1001, 1002, 1003, 1004, 1005]
        done = repo.get(1002)
        assert done is not None
        done.apply("resolve", at=AT, who="fake:s", name="s", via="fake")
        repo.save(done)
        assert 1002 not in numbers(repo.active("丰仓小区", "路灯照明"))
        done.apply("reopen", at=AT, who="fake:s", name="s", via="fake")
        repo.save(done)
        assert numbers(repo.active("丰仓小区", "路灯照明")) == [1001, 1002, 1003, 1004, 1005]
        assert repo.active_count() == 7
    finally:
        store.close()
    reopened = Store(tmp_path, read_only=True).repo(TicketRepo)
    assert numbers(reopened.active("丰仓小区", "路灯照明")) == [1001, 1002, 1003, 1004, 1005]
    assert numbers(reopened.active("粮库宿舍", "路灯照明")) == [1006]
    assert reopened.active_count() == 7


def test_only_the_most_recent_candidates_are_offered(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        repo = store.repo(TicketRepo)
        repo.SIMILAR_CANDIDATES = 3
        for n in range(6):
            repo.create(ticket(n))
        assert numbers(repo.active("丰仓小区", "路灯照明")) == [1004, 1005, 1006]
        assert len(repo.active()) == 6  # without both keys: every active ticket
    finally:
        store.close()


def test_an_undone_batch_leaves_the_index_as_the_disk_has_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        repo = store.repo(TicketRepo)
        repo.create(ticket(0))
        try:
            with store.batch():
                repo.create(ticket(1))
                first = repo.get(1001)
                assert first is not None
                first.status = Status.CLOSED
                repo.save(first)
                raise RuntimeError("the handler failed")
        except RuntimeError:
            pass
        assert numbers(repo.active("丰仓小区", "路灯照明")) == [1001]
        assert repo.create(ticket(2)).number == 1002
    finally:
        store.close()


def test_tickets_by_reporter_come_from_an_index_that_survives_reopening(tmp_path: Path) -> None:
    """A resident's every private message asks for their tickets: no scan of all tickets."""
    store = Store(tmp_path / "data")
    repo = store.repo(TicketRepo)
    tricky = Reporter('fake:"q"{"key":"fake:1"}', "引号", "fake", "q", "zh-CN")
    first, second, third = (repo.create(ticket(n)) for n in (1, 2, 1))
    second.reporters.append(tricky)  # a "me too" from someone with an odd id
    repo.save(second)
    assert numbers(repo.reported_by("fake:1")) == [first.number, third.number]
    store.close()

    store = Store(tmp_path / "data")
    try:
        repo = store.repo(TicketRepo)
        assert numbers(repo.reported_by("fake:1")) == [first.number, third.number]
        assert numbers(repo.reported_by(tricky.key)) == [second.number]
        assert repo.reported_by("fake:nobody") == []
    finally:
        store.close()
