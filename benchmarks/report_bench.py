"""`/report` with 50,000 open tickets in the same compound and category; start-up and memory.

Run: `.venv/bin/python -m benchmarks.report_bench` (`--tickets N`, `--reports N`).

A data folder holds N open tickets, all in 丰仓小区 / 路灯照明, reported one every two minutes
up to the start (written as a snapshot: set-up, not measured); most came from residents'
private chats, one in a hundred from the compound's group chat; the follow-ups of those older
than a day already fired (they are in the job log). In a fresh process the bot starts on it as `yishiting run` does (`build_core`, the
app, the scheduler's jobs rebuilt: two follow-ups per open ticket), then a resident in that
group sends `/report …` again and again through `App.deliver` (the "me too" search, the new
ticket, its card, one durable commit each). Printed: start-up, peak RSS, and the time of each
`/report` (median and 95th percentile), beside the same run on an empty folder.

Targets (issue 14): p50 ≤ 10 ms, start-up ≤ 3 s, RSS ≤ 250 MB. Times are printed, never
asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.desk.tickets import Reporter, Ticket
from bot.store.files import pack, write_generation
from bot.store.journal import SCHEMA_VERSION

REPO = Path(__file__).resolve().parent.parent
GROUP = "fake:g:丰仓小区群"
AT = "2026-12-01T09:00:00+08:00"


def ticket(n: int, count: int) -> Ticket:
    """The n-th of `count` open tickets, reported one every two minutes up to the start."""
    origin = GROUP if n % 100 == 0 else f"fake:r{n}"
    chat = origin.partition(":")[2]
    at = datetime.fromisoformat(AT) - timedelta(minutes=2 * (count - n))
    t = Ticket(
        number=1001 + n,
        kind="report",
        category="路灯照明",
        compound="丰仓小区",
        text=f"{n % 97}号楼后面的路灯黑了好几天了，晚上出门看不见路",
        origin=origin,
        reporters=[Reporter(f"fake:r{n}", f"居民{n}", "fake", chat, "zh-CN")],
        created=at.isoformat(),
    )
    t.apply("open", at=at, who=f"fake:r{n}", name=f"居民{n}", via="fake", text=t.text)
    t.cards = [["other", "g:staffroom", str(10_000 + n)]]
    return t


def make_folder(folder: Path, count: int) -> None:
    """The tickets, and in the job log the follow-ups that fired before the start (those of
    tickets older than a day: a running bot would have sent their re-posts and escalations)."""
    docs = {str(1001 + n): pack(ticket(n, count).to_doc()) for n in range(count)}
    jobs: dict[str, bytes] = {}
    start = datetime.fromisoformat(AT)
    for n in range(count):
        created = start - timedelta(minutes=2 * (count - n))
        if start - created < timedelta(days=1):
            continue
        for kind in ("unclaimed", "escalate"):
            doc = {
                "key": f"followup:{1001 + n}:{kind}:0",
                "record": f"ticket:{1001 + n}",
                "due": created.isoformat(),
                "outcome": "sent",
                "at": created.isoformat(),
            }
            jobs[str(len(jobs) + 1)] = pack(doc)
    folder.mkdir(parents=True, exist_ok=True)
    write_generation(folder, 1, 0, SCHEMA_VERSION, {"tickets": docs, "jobs": jobs})


CHILD = r"""
import asyncio, json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from bot.app import App
from bot.config import RolesConfig, Settings, StaffRoom
from bot.wiring import build_core
sys.path.insert(0, sys.argv[3])
from tests.fakes import FakeChannel, FakeClock
from bot.models import Address, ChatKind, Incoming, Person

async def main() -> None:
    settings = Settings(
        data_dir=Path(sys.argv[1]),
        roles=RolesConfig(admins=("fake:admin",), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat="other:g:staffroom"),),
        compounds=("丰仓小区",),
        groups={"fake:g:丰仓小区群": "丰仓小区"},
        work={"quiet_hours": ""},
        match={"sentence_model": int(sys.argv[4])},
    )
    imported = time.perf_counter()
    core = build_core(settings, clock=FakeClock())
    built = time.perf_counter()
    channels = [FakeChannel("fake"), FakeChannel("other")]
    app = App(core, channels, settings)
    jobs = app.scheduler.rebuild()
    started = time.perf_counter()
    for c in channels:
        await c.start(app.deliver)
    times = []
    for n in range(int(sys.argv[2])):
        msg = Incoming(
            chat=Address("fake", "g:丰仓小区群"),
            sender=Person("fake", f"bench{n}", f"居民甲{n}"),
            chat_kind=ChatKind.GROUP,
            text=f"/report {n}号院东门口的路灯坏了，晚上一片漆黑",
            message_id=f"bench-{n}",
            chat_title="丰仓小区群",
        )
        t = time.perf_counter()
        await app.deliver(msg)
        times.append((time.perf_counter() - t) * 1000)
    app.scheduler.shutdown()
    core.close()
    print(json.dumps({
        "imports": imported - t0,
        "build_core": built - imported,
        "start": started - imported,
        "jobs": jobs,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "times": times,
    }))

asyncio.run(main())
"""


def measure(folder: Path, reports: int, model: bool = True) -> dict[str, Any]:
    """One run in a fresh process, on a fresh copy of `folder` (a run adds its reports)."""
    run = folder.with_name(f"{folder.name}-run")
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(folder, run)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(run), str(reports), str(REPO), str(int(model))],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--reports", type=int, default=101)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        make_folder(root / "big", args.tickets)
        setup = time.perf_counter() - started
        (root / "empty").mkdir()
        big = f"{args.tickets:,} open, same compound+category"
        rows = [
            ("empty folder", measure(root / "empty", args.reports)),
            (big, measure(root / "big", args.reports)),
            ("empty folder, lexical-only", measure(root / "empty", args.reports, model=False)),
            (f"{big}, lexical-only", measure(root / "big", args.reports, model=False)),
        ]
    print(
        f"(set-up of the folder: {setup:.1f} s; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    print(f"{'':<54} {'/report p50 ms':>14} {'p95 ms':>8} {'start s':>8} {'RSS MB':>7} {'jobs':>7}")
    for name, r in rows:
        times = sorted(r["times"])
        p50 = statistics.median(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"{name:<54} {p50:>14.1f} {p95:>8.1f} {r['start']:>8.2f} {r['rss_mb']:>7.0f} "
            f"{r['jobs']:>7,}"
        )
    print(
        "start: build_core + the app + the scheduler's jobs rebuilt (imports not counted: "
        f"{rows[1][1]['imports']:.1f} s in that process); with the sentence model each /report's "
        "words are embedded first, in a worker thread (lexical-only: turned off)"
    )


if __name__ == "__main__":
    main()
