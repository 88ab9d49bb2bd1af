"""Ticket store speed: the journaled storage beside TinyDB's stock storages, in the same run."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import JSONStorage

from bot.desk.repo import TicketRepo
from bot.desk.tickets import Reporter, Ticket
from bot.store.backup import backup
from bot.store.files import pack, write_generation
from bot.store.folder import Store
from bot.store.journal import SCHEMA_VERSION

AT = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def ticket(n: int) -> Ticket:
    t = Ticket(
        number=0,
        kind="report",
        category="路灯照明",
        compound=f"小区{n % 16}",
        text=f"{n}号楼后面的路灯黑了好几天了，晚上出门看不见路",
        origin="telegram:-100123",
        reporters=[Reporter(f"telegram:{n}", f"居民{n}", "telegram", str(n), "zh-CN")],
        created=AT.isoformat(),
    )
    t.apply("open", at=AT, who=f"telegram:{n}", name=f"居民{n}", via="telegram", text=t.text)
    return t


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ours_create(folder: Path, count: int) -> float:
    store = Store(folder)
    try:
        return timed(lambda: [store.repo(TicketRepo).create(ticket(n)) for n in range(count)])
    finally:
        store.close()


def bulk_folder(folder: Path, count: int) -> None:
    """A data folder with `count` tickets, written as a snapshot (fast set-up, not measured)."""
    docs = {}
    for n in range(count):
        t = ticket(n)
        t.number = 1001 + n
        docs[str(t.number)] = pack(t.to_doc())
    folder.mkdir(parents=True, exist_ok=True)
    write_generation(folder, 1, 0, SCHEMA_VERSION, {"tickets": docs})


def ours_update_ms(folder: Path, samples: int) -> float:
    store = Store(folder)
    try:
        times = []
        for i in range(samples):
            t = store.repo(TicketRepo).get(1001 + i * 7)
            assert t is not None
            t.apply("claim", at=AT, who="telegram:1", name="小王", via="telegram")
            times.append(timed(partial(store.repo(TicketRepo).save, t)) * 1000)
        return statistics.median(times)
    finally:
        store.close()


def open_seconds_and_rss_mb(folder: Path) -> tuple[float, float]:
    """In a fresh process: time to open the store, and its peak resident memory."""
    code = (
        "import resource,sys,time;from pathlib import Path;from bot.store.folder import Store;"
        "from bot.desk.repo import TicketRepo;"
        "t=time.perf_counter();s=Store(Path(sys.argv[1]),read_only=True);"
        "n=s.repo(TicketRepo).count();d=time.perf_counter()-t;"
        "print(d, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, n)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(3)
    ]
    return (
        statistics.median(float(r[0]) for r in runs),
        statistics.median(float(r[1]) for r in runs),
    )


def stock_create(path: Path, count: int, caching: bool) -> float:
    storage = CachingMiddleware(JSONStorage) if caching else JSONStorage  # type: ignore[no-untyped-call]
    db = TinyDB(path, storage=storage)
    table = db.table("tickets")
    try:
        return timed(lambda: [table.insert(ticket(n).to_doc()) for n in range(count)])
    finally:
        db.close()


def stock_update_ms(path: Path, count: int, samples: int) -> float:
    docs = {str(n + 1): ticket(n).to_doc() for n in range(count)}
    path.write_text(json.dumps({"tickets": docs}, ensure_ascii=False), encoding="utf-8")
    db = TinyDB(path, storage=JSONStorage)
    table = db.table("tickets")
    try:
        return statistics.median(
            timed(partial(table.update, {"status": "claimed"}, doc_ids=[i + 1])) * 1000
            for i in range(samples)
        )
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creations", type=int, default=10_000)
    parser.add_argument(
        "--stock-creations",
        type=int,
        default=1_000,
        help="stock JSONStorage is quadratic: measure fewer, scale to 10,000",
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--stock-tickets", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ours_c = ours_create(root / "ours-create", args.creations)
        stock_c = stock_create(root / "stock.json", args.stock_creations, caching=False)
        cache_c = stock_create(root / "cache.json", args.creations, caching=True)
        bulk_folder(root / "big", args.tickets)
        ours_u = ours_update_ms(root / "big", samples=201)
        open_s, rss = open_seconds_and_rss_mb(root / "big")
        backup_s = statistics.median(
            backup(root / "big", root / f"backup-{i}").seconds for i in range(3)
        )
        stock_u = stock_update_ms(root / "stock-big.json", args.stock_tickets, samples=5)

    print(f"{'measure':<46} {'journal (ours)':>15} {'stock JSON':>12} {'Caching':>10}")
    print(
        f"{f'{args.creations:,} durable creations, s':<46} {ours_c:>15.2f} "
        f"{stock_c * args.creations / args.stock_creations:>11.0f}* {cache_c:>9.2f}†"
    )
    print(f"{'one durable update, median ms':<46} {ours_u:>15.3f} {stock_u:>12.1f} {'':>10}")
    print(f"{'  (at tickets)':<46} {args.tickets:>15,} {args.stock_tickets:>12,}")
    print(f"{f'open {args.tickets:,} tickets, s (median of 3)':<46} {open_s:>15.2f}")
    print(f"{'peak RSS of that process, MB':<46} {rss:>15.0f}")
    print(f"{f'backup of {args.tickets:,} tickets, s (median of 3)':<46} {backup_s:>15.2f}")
    print(
        f"\n* measured {args.stock_creations:,} creations in {stock_c:.2f} s; a stock write "
        "rewrites the whole file, so the cost per insert grows with size (the linear scaling "
        "shown is a lower bound).\n† CachingMiddleware is fast but not durable: it loses up "
        "to 999 changes on a crash."
    )


if __name__ == "__main__":
    main()
