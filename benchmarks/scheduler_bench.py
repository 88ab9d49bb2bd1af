"""Scheduler start-up with 10,000+ stored jobs and a paced 500-chat broadcast, each beside a baseline.

Run: `.venv/bin/python benchmarks/scheduler_bench.py` (a few minutes; `--quick` for a smoke run).

1. Start-up: a data folder holding open, claimed, resolved and closed tickets, evening-service
   bookings and scheduled ad-hoc broadcasts is opened by the bot (`build_core`) and its jobs
   rebuilt and handed to APScheduler (`Scheduler.start()`), each repeat in a fresh process.
   Baseline, also in fresh processes: open the same store and decode every ticket.
2. Broadcast: an ad-hoc broadcast to "all" of 500 group chats fired through the real path
   (scheduler → broadcast job → App.dispatch → outbox → Pacer → channel), with per-network rate
   limits of R msgs/s and without one (the bot's own per-message cost is then the only limit).
   Memory: tracemalloc peak while broadcasting to 500 and to 2,000 chats, per chat.

Times are printed, never asserted: the machine is shared and noisy, so every figure is a median
over repeats, and each baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import App
from bot.broadcast.plan import BroadcastRecords
from bot.config import DEFAULT_CATEGORIES, RolesConfig, Settings, StaffRoom
from bot.desk.repo import TicketRepo
from bot.desk.tickets import Reporter, Ticket
from bot.evening.booking import BOOKED, Booking, Bookings
from bot.faq.source import FaqSource
from bot.faq.text import TextAnalyzer
from bot.models import Outgoing
from bot.store.folder import Store
from bot.wiring import build_core, language_model
from channels.base import SentRef

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: tests.fakes
from tests.fakes import SHANGHAI, FakeChannel, FakeClock

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)  # a Tuesday: office hours, not quiet
SERVICE_DAYS = (0, 1, 2, 3)  # schedules/evening-service.yaml: mon-thu
SLOTS = ("1800", "1830", "1900")
CATEGORIES = [c.name for c in DEFAULT_CATEGORIES]


@dataclass(frozen=True)
class Mix:
    """What the start-up data folder holds."""

    open: int = 6_000  # 2 jobs each: unclaimed, escalate
    claimed: int = 1_000  # 1 job: stale
    resolved: int = 1_000  # 2 jobs: confirm, autoclose
    closed: int = 2_000  # no jobs, but in the store (history a real bot accumulates)
    bookings: int = 1_500  # 1 job: the resident's reminder
    broadcasts: int = 50  # 1 job each

    def scaled(self, factor: float) -> Mix:
        return Mix(*(max(1, round(v * factor)) for v in vars(self).values()))

    @property
    def tickets(self) -> int:
        return self.open + self.claimed + self.resolved + self.closed


# ---- settings and data ------------------------------------------------------------------------


def make_settings(
    folder: Path, groups: dict[str, str] | None = None, rates: dict[str, float] | None = None
) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": folder,
            "faq": REPO / "faq.yaml",
            "schedules_dir": REPO / "schedules",
            "roles": RolesConfig(admins=("other:admin",), staff=("fake:staff",)),
            "staff_rooms": (StaffRoom(chat="other:g:staffroom"),),
            "groups": groups or {f"fake:g:group{i}": f"compound{i % 16}" for i in range(16)},
            "send_rates": rates if rates is not None else {"telegram": 20.0, "matrix": 5.0},
        }
    )


def _ticket(n: int, opened: datetime) -> Ticket:
    who = f"telegram:{n}"
    text = f"{n % 40}号楼后面的路灯黑了好几天了，晚上出门看不见路"
    t = Ticket(
        number=0,
        kind="report",
        category=CATEGORIES[n % len(CATEGORIES)],
        compound=f"compound{n % 16}",
        text=text,
        reporters=[Reporter(who, f"居民{n}", "telegram", str(n), "zh-CN")],
        origin="telegram:-100123",
        created=opened.isoformat(timespec="seconds"),
    )
    t.apply("open", at=opened, who=who, name=f"居民{n}", via="telegram", text=text)
    return t


def _claim(t: Ticket, at: datetime, n: int) -> None:
    staff = f"telegram:staff{n % 8}"
    t.apply("claim", at=at, who=staff, name=f"小王{n % 8}", via="telegram")
    t.assignee, t.assignee_name = staff, f"小王{n % 8}"


def populate(folder: Path, mix: Mix) -> None:
    """Fill a data folder through the repositories, as the bot would have written it."""
    store = Store(folder)
    try:
        n = 0
        for i in range(mix.open):  # opened within the last hour: every follow-up still to come
            store.repo(TicketRepo).create(_ticket(n, NOW - timedelta(minutes=i % 60)))
            n += 1
        for i in range(mix.claimed):
            t = _ticket(n, NOW - timedelta(days=1, minutes=i % 300))
            _claim(t, NOW - timedelta(minutes=i % 300), n)
            store.repo(TicketRepo).create(t)
            n += 1
        for i in range(mix.resolved):  # resolved in the last 20 hours: "solved?" not yet asked
            t = _ticket(n, NOW - timedelta(days=2))
            _claim(t, NOW - timedelta(days=1, hours=20), n)
            t.apply("resolve", at=NOW - timedelta(hours=i % 20), who="telegram:staff", name="小王", via="telegram")  # fmt: skip
            store.repo(TicketRepo).create(t)
            n += 1
        for i in range(mix.closed):
            old = NOW - timedelta(days=10 + i % 200)
            t = _ticket(n, old)
            _claim(t, old + timedelta(hours=1), n)
            t.apply("resolve", at=old + timedelta(days=1), who="telegram:staff", name="小王", via="telegram")  # fmt: skip
            t.apply("close", at=old + timedelta(days=5), who="system", name="system", via="system")
            store.repo(TicketRepo).create(t)
            n += 1
        days = [
            d
            for d in (NOW.date() + timedelta(days=k) for k in range(8))
            if d.weekday() in SERVICE_DAYS
        ]
        for i in range(mix.bookings):
            booking = Booking(
                id=0,
                person=f"telegram:{50_000 + i}",
                name=f"居民{i}",
                channel="telegram",
                chat=str(50_000 + i),
                lang="zh-CN",
                date=days[i % len(days)].isoformat(),
                slot=SLOTS[i % len(SLOTS)],
                service="医保缴费",
                status=BOOKED,
                created=(NOW - timedelta(hours=i % 48)).isoformat(timespec="seconds"),
            )
            store.repo(Bookings).add(booking.to_doc())
        for i in range(mix.broadcasts):
            store.repo(BroadcastRecords).add(
                broadcast_doc(NOW + timedelta(hours=1 + i), f"第{i}次通知")
            )
    finally:
        store.close()


def broadcast_doc(at: datetime, text: str) -> dict[str, Any]:
    """An admin's confirmed ad-hoc broadcast, as `Broadcasts._cmd_new` + confirm store it."""
    return {
        "author": "other:admin",
        "author_name": "管理员",
        "targets": ["all"],
        "text": text,
        "lang": "zh-CN",
        "at": at.isoformat(),
        "cron": "",
        "urgent": False,
        "status": "scheduled",
        "created": NOW.isoformat(timespec="seconds"),
    }


def register_recurring(folder: Path, analyzer: TextAnalyzer) -> int:
    """One un-timed rebuild, so recurring records are registered (as after the first start)."""
    settings = make_settings(folder)
    core = build_core(settings, clock=FakeClock(NOW), analyzer=analyzer)
    try:
        app = App(core, [FakeChannel("fake"), FakeChannel("other")], settings)
        return app.scheduler.rebuild()
    finally:
        core.close()


# ---- target 1: start-up, each run in a fresh process --------------------------------------------


def child_start(folder: Path, profile: bool) -> dict[str, Any]:
    """The bot's start-up phases, timed; with `profile`, where `Scheduler.start()` spends."""
    t0 = time.perf_counter()
    analyzer = TextAnalyzer()
    settings = make_settings(folder)
    faq = (settings.faq_path, settings.match_settings, lambda: analyzer)
    model = language_model(settings)
    FaqSource(*faq, status=model)  # jieba loads its dictionary on first use; caches warm up
    t1 = time.perf_counter()
    FaqSource(*faq, status=model)  # warm, as build_core loads it with the analyzer it is given
    t2 = time.perf_counter()
    core = build_core(settings, clock=FakeClock(NOW), analyzer=analyzer, model=model)
    t3 = time.perf_counter()
    app = App(core, [FakeChannel("fake"), FakeChannel("other")], settings)
    t4 = time.perf_counter()
    profiler = cProfile.Profile() if profile else None

    async def start() -> tuple[int, float]:
        begin = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        jobs = app.scheduler.start()
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - begin
        app.scheduler.shutdown()
        return jobs, elapsed

    try:
        jobs, start_s = asyncio.run(start())
    finally:
        core.close()
    result: dict[str, Any] = {
        "analyzer": t1 - t0,
        "faq": t2 - t1,
        "build_core": t3 - t2,
        "app": t4 - t3,
        "start": start_s,
        "jobs": jobs,
    }
    if profiler is not None:
        stats = pstats.Stats(profiler)
        raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
        raw = stats.stats  # type: ignore[attr-defined]
        rows = sorted(raw.items(), key=lambda kv: -kv[1][3])  # by cumulative time
        result["profile"] = [
            [f"{Path(file).name}:{line}:{name}", calls, own, cum]
            for (file, line, name), (_, calls, own, cum, _) in rows
            if file != "~"
        ][:22]
    return result


def child_decode(folder: Path) -> dict[str, Any]:
    """Baseline: open the same store and decode every ticket, nothing else."""
    t0 = time.perf_counter()
    store = Store(folder)
    t1 = time.perf_counter()
    try:
        tickets = list(store.repo(TicketRepo).all())
        t2 = time.perf_counter()
    finally:
        store.close()
    return {"open": t1 - t0, "decode": t2 - t1, "tickets": len(tickets)}


def run_child(mode: str, folder: Path) -> tuple[dict[str, Any], float]:
    """One fresh interpreter; returns its report and its whole wall time (imports included)."""
    begin = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wall = time.perf_counter() - begin
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report, wall


def med(values: list[float]) -> float:
    return statistics.median(values)


def startup(root: Path, mix: Mix, repeats: int, analyzer: TextAnalyzer) -> None:
    folder = root / "startup"
    begin = time.perf_counter()
    populate(folder, mix)
    jobs = register_recurring(folder, analyzer)
    setup_s = time.perf_counter() - begin
    starts: list[dict[str, Any]] = []
    decodes: list[dict[str, Any]] = []
    walls: dict[str, list[float]] = {"start": [], "decode": []}
    for _ in range(repeats):  # interleaved, so both sides see the same noise
        report, wall = run_child("start", folder)
        starts.append(report)
        walls["start"].append(wall)
        report, wall = run_child("decode", folder)
        decodes.append(report)
        walls["decode"].append(wall)
    profiled, _ = run_child("profile", folder)

    def row(label: str, values: list[float], note: str = "") -> None:
        print(f"{label:<52} {med(values):>9.3f} {max(values):>9.3f}  {note}")

    planned = {r["jobs"] for r in starts}
    print("\n== 1. Start-up with pending jobs rebuilt from the store (target: ≤ 3 s) ==")
    print(
        f"data folder: {mix.tickets:,} tickets ({mix.open:,} open, {mix.claimed:,} claimed, "
        f"{mix.resolved:,} resolved, {mix.closed:,} closed), {mix.bookings:,} bookings, "
        f"{mix.broadcasts} ad-hoc broadcasts; written through the repositories in "
        f"{setup_s:.1f} s (not measured)"
    )
    print(
        f"jobs planned by Scheduler.start(): {', '.join(f'{j:,}' for j in sorted(planned))} "
        f"(un-timed registering rebuild: {jobs:,})"
    )
    print(f"{repeats} fresh processes per side, interleaved; seconds\n")
    print(f"{'phase':<52} {'median':>9} {'max':>9}")
    row("bot: TextAnalyzer + first FAQ load (jieba cold)", [r["analyzer"] for r in starts])
    row("bot: FAQ load, warm (part of build_core)", [r["faq"] for r in starts])
    row("bot: build_core (FAQ + schedules + store open)", [r["build_core"] for r in starts])
    row("bot: App(...) (job sources, APScheduler object)", [r["app"] for r in starts])
    row("bot: Scheduler.start() (rebuild + APScheduler)", [r["start"] for r in starts])
    store_part = [r["build_core"] - r["faq"] for r in starts]
    ready = [r["build_core"] - r["faq"] + r["app"] + r["start"] for r in starts]
    row("bot: store open + App + start  (FAQ, jieba excluded)", ready)
    row("bot: whole process wall (python, imports, all above)", walls["start"])
    bot_wall = [w - 2 * r["faq"] for w, r in zip(walls["start"], starts, strict=True)]
    row("bot: that minus the 2 extra FAQ loads made to time it", bot_wall)
    row("baseline: Store open", [r["open"] for r in decodes])
    row(
        "baseline: decode all tickets (list(tickets.all()))",
        [r["decode"] for r in decodes],
        f"{decodes[0]['tickets']:,} tickets",
    )
    row("baseline: whole process wall", walls["decode"])
    start_m = med([r["start"] for r in starts])
    decode_m = med([r["decode"] for r in decodes])
    open_m = med([r["open"] for r in decodes])
    print(
        f"\nratio Scheduler.start() / plain decode of all tickets: {start_m / decode_m:.1f}x"
        f"\nratio build_core minus FAQ / plain Store open:        {med(store_part) / open_m:.2f}x"
        f"\nper planned job, Scheduler.start(): {start_m / max(planned) * 1e6:.0f} µs"
        f"\ntarget ≤ 3 s with ≥ 10,000 jobs ({max(planned):,} here): store open + App + start "
        f"{med(ready):.2f} s; the whole process to scheduler running {med(bot_wall):.2f} s"
    )
    total = float(profiled["start"])
    print(
        f"\nwhere Scheduler.start() goes (one extra process under cProfile, "
        f"{total:.2f} s profiled; cumulative, % of it):"
    )
    print(f"{'function':<64} {'calls':>8} {'own s':>7} {'cum s':>7} {'cum %':>6}")
    for name, calls, own, cum in profiled["profile"]:
        print(f"{name[:64]:<64} {calls:>8} {own:>7.3f} {cum:>7.3f} {100 * cum / total:>5.0f}%")


# ---- target 2: a paced broadcast through a fake channel -----------------------------------------


class TimedChannel(FakeChannel):
    """A fake network that only stamps the time of each send (keeps no messages: the memory
    measured is the bot's own)."""

    def __init__(self, name: str = "fake") -> None:
        super().__init__(name)
        self.times: list[float] = []

    async def send(self, out: Outgoing) -> SentRef:
        self.times.append(time.perf_counter())
        return SentRef(self.name, out.to.chat_id, str(len(self.times)))


@dataclass
class Run:
    chats: int
    rate: float | None
    seconds: float = 0.0  # Scheduler.start() called → last chat sent
    span_rate: float = 0.0  # msgs/s between the first and the last send
    first_ms: float = 0.0  # start() called → first send
    peak_per_chat: float = 0.0  # tracemalloc peak above the pre-start level, bytes per chat
    kept_per_chat: float = 0.0  # still allocated after it finished, bytes per chat
    report: list[str] = field(default_factory=list)


async def broadcast_once(
    root: Path, analyzer: TextAnalyzer, chats: int, rate: float | None, memory: bool
) -> Run:
    folder = Path(tempfile.mkdtemp(dir=root))
    groups = {f"fake:g:group{i}": f"compound{i % 16}" for i in range(chats)}
    settings = make_settings(folder, groups, {"fake": rate} if rate else {})
    core = build_core(settings, clock=FakeClock(NOW), analyzer=analyzer)
    channel, other = TimedChannel("fake"), FakeChannel("other")
    app = App(core, [channel, other], settings)
    run = Run(chats, rate)
    try:
        core.store.repo(BroadcastRecords).add(broadcast_doc(NOW, "【停水通知】明天上午 9 点到 12 点停水，请提前储水。"))  # fmt: skip
        gc.collect()
        if memory:
            tracemalloc.start()
            tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0] if memory else 0
        begin = time.perf_counter()
        app.scheduler.start()
        deadline = begin + 10 + 2 * chats / (rate or 100)
        while len(channel.times) < chats:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(channel.times)} of {chats} sent")
            await asyncio.sleep(0.002)
        await app.scheduler.settle(timeout=60)  # the delivery report to the admin
        if memory:
            gc.collect()
            kept, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            run.peak_per_chat = (peak - before) / chats
            run.kept_per_chat = (kept - before) / chats
        times = channel.times
        run.seconds = times[-1] - begin
        run.first_ms = (times[0] - begin) * 1000
        run.span_rate = (len(times) - 1) / (times[-1] - times[0])
        run.report = [o.text.splitlines()[0] for o in other.sent]
        assert len(times) == chats, f"{len(times)} sends for {chats} chats"
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        app.scheduler.shutdown()
        core.close()
        shutil.rmtree(folder, ignore_errors=True)
    return run


async def broadcasts(
    *,
    root: Path,
    analyzer: TextAnalyzer,
    chats: int,
    big: int,
    rates: list[float],
    repeats: int,
) -> None:
    print(f"\n== 2. Broadcast to {chats} group chats through a fake channel ==")
    print(
        "real path: scheduler → Broadcasts._fire → App.dispatch → outbox (2 fsynced journal "
        "lines per chat) → Pacer → channel;\nad-hoc broadcast to 'all', due now; "
        f"median of {repeats} runs, each in a fresh data folder\n"
    )
    print(
        f"{'send_rates[fake]':<18} {'chats':>6} {'wall s':>8} {'msgs/s':>9} {'span msgs/s':>12} "
        f"{'÷ R':>6} {'first ms':>9}"
    )
    configs: list[tuple[float | None, int]] = [(None, chats), (None, big)]
    configs += [(r, chats) for r in rates]
    unlimited: dict[int, float] = {}
    first: dict[int, float] = {}
    for rate, n in configs:
        runs = [await broadcast_once(root, analyzer, n, rate, False) for _ in range(repeats)]
        wall = med([r.seconds for r in runs])
        span = med([r.span_rate for r in runs])
        ratio = f"{span / rate:>6.3f}" if rate else f"{'-':>6}"
        label = f"{rate:g}" if rate else "none (baseline)"
        if rate is None:
            unlimited[n] = span
            first[n] = med([r.first_ms for r in runs])
        print(
            f"{label:<18} {n:>6} {wall:>8.2f} {n / wall:>9.0f} {span:>12.1f} {ratio} "
            f"{med([r.first_ms for r in runs]):>9.1f}"
        )
    print(
        f"\nbot's own cost per message without a limit: {1000 / unlimited[chats]:.2f} ms at "
        f"{chats} chats, {1000 / unlimited[big]:.2f} ms at {big} chats "
        "(so a limit above ~that rate cannot be reached)"
        f"\nfirst send after start(), {big} vs {chats} chats: {first[big] / first[chats]:.1f}x the "
        f"time for {big / chats:g}x the chats (linear would be {big / chats:g}x)"
    )
    print(f"report to the admin (last run): {runs[-1].report[0] if runs[-1].report else '-'}")
    print(f"\nmemory (tracemalloc, no rate limit; median of {repeats}; bytes per chat)")
    print(
        f"{'chats':>6} {'peak above start':>17} {'per chat':>9} {'kept after':>11} {'per chat':>9}"
    )
    for n in (chats, big):
        runs = [await broadcast_once(root, analyzer, n, None, True) for _ in range(repeats)]
        peak = med([r.peak_per_chat for r in runs])
        kept = med([r.kept_per_chat for r in runs])
        print(
            f"{n:>6} {peak * n / 1e6:>15.2f}MB {peak:>9.0f} {kept * n / 1e6:>9.2f}MB {kept:>9.0f}"
        )
    print(
        "'kept after' is mostly the outbox documents (packed JSON, kept by the store for "
        "keep_sent = 7 days) and the job log."
    )


# ---- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer repeats")
    parser.add_argument("--repeats", type=int, help="start-up processes per side (default 5)")
    parser.add_argument("--child", choices=("start", "decode", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        assert args.folder is not None
        if args.child == "decode":
            print(json.dumps(child_decode(args.folder)))
        else:
            print(json.dumps(child_start(args.folder, profile=args.child == "profile")))
        return
    mix = Mix().scaled(0.2) if args.quick else Mix()
    repeats = args.repeats or (3 if args.quick else 5)
    print(__doc__.split("\n")[0])
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"data folders in {tempfile.gettempdir()}; clock frozen at {NOW.isoformat()} (a Tuesday)"
        f"{'; --quick: smaller data, fewer repeats' if args.quick else ''}"
    )
    analyzer = TextAnalyzer()
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as tmp:
        root = Path(tmp)
        startup(root, mix, repeats, analyzer)
        asyncio.run(
            broadcasts(
                root=root,
                analyzer=analyzer,
                chats=100 if args.quick else 500,
                big=400 if args.quick else 2_000,
                rates=[200.0] if args.quick else [100.0, 200.0, 400.0],
                repeats=2 if args.quick else 3,
            )
        )


if __name__ == "__main__":
    main()
