"""Every day's working / non-working verdict of the holidays package against chinesecalendar.

    python -m benchmarks.holiday_calendars [--first 2004] [--last 2026]

Compares, day by day, the calendar the bot uses (`bot.schedule.holidays.package_is_workday`:
python-holidays' China calendar with its 调休 working days, one lazily filled instance) with
chinesecalendar's `is_workday`, over the years chinesecalendar covers (2004–2026 in 1.11.0),
and prints each disagreement with both verdicts and the holiday names. chinesecalendar is a dev
dependency: the bot itself does not use it. tests/test_holidays.py runs the same comparison.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version

import chinese_calendar
import holidays

from bot.schedule.holidays import package_is_workday, package_years


@dataclass(frozen=True)
class Disagreement:
    day: date
    holidays_works: bool  # the holidays package's verdict (the bot's)
    chinesecalendar_works: bool
    holidays_name: str
    chinesecalendar_name: str

    def __str__(self) -> str:
        def verdict(works: bool) -> str:
            return "working day" if works else "day off"

        return (
            f"{self.day} {self.day:%a}: holidays says {verdict(self.holidays_works)}"
            f" ({self.holidays_name or '-'}), chinesecalendar says"
            f" {verdict(self.chinesecalendar_works)} ({self.chinesecalendar_name or '-'})"
        )


def compare(first: int, last: int) -> tuple[int, list[Disagreement]]:
    """(days compared, the days on which the two packages disagree) for years first..last."""
    names = holidays.country_holidays("CN", language="en_US")
    found: list[Disagreement] = []
    day, end, days = date(first, 1, 1), date(last, 12, 31), 0
    while day <= end:
        ours = package_is_workday(day)
        theirs = bool(chinese_calendar.is_workday(day))
        days += 1
        if ours != theirs:
            _, their_name = chinese_calendar.get_holiday_detail(day)
            found.append(Disagreement(day, ours, theirs, names.get(day) or "", their_name or ""))
        day += timedelta(days=1)
    return days, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=2004)
    parser.add_argument("--last", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    days, found = compare(args.first, args.last)
    seconds = time.perf_counter() - started
    official = package_years()
    print(
        f"holidays {version('holidays')} (official schedules {official.start}–"
        f"{official.stop - 1}) against chinesecalendar {version('chinesecalendar')},"
        f" {args.first}–{args.last}: {days} days in {seconds:.2f} s"
    )
    by_year = Counter(d.day.year for d in found)
    print(f"{len(found)} disagreement(s)" + (f", by year: {dict(by_year)}" if found else ""))
    for disagreement in found:
        print(f"  {disagreement}")


if __name__ == "__main__":
    main()
