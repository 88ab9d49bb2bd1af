"""China's working-day calendar: the holidays package measured, schedules/holidays.yaml, coverage.

The stories: `schedules list --from 2027-02-01` with no digest, SLA clock or evening service
over the Spring Festival (and back on the 调休 working days an operator adds); an operator's
mistakes named by file, line, entry and field; the admins told once, 60 days before a year
that no calendar covers, through the real core with a moved clock; `yishiting doctor`.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.holiday_calendars import Disagreement, compare
from bot.config import Settings, WorkTimeConfig
from bot.errors import ConfigError
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.schedule.book import load_schedules
from bot.schedule.holidays import (
    WARN_DAYS,
    HolidayYear,
    WorkCalendar,
    doctor_line,
    package_name,
    package_years,
    warn_from,
)
from bot.schedule.joblog import JobLog
from bot.schedule.worktime import WorkTime
from tests.cli_helpers import yishiting
from tests.conftest import REPO
from tests.fakes import SHANGHAI, FakeClock
from tests.harness import start_bot
from tests.scheduled import ADMIN, GROUPS, STAFF_ROOM

SH = SHANGHAI
LAST = package_years()[-1]  # the last year whose official schedule the package has
NEXT = LAST + 1  # the first it only estimates


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ---- 1. the holidays package measured against chinesecalendar ---------------------------------


def test_holidays_agrees_with_chinesecalendar_on_every_day_but_one_of_2004_to_2026() -> None:
    """8,401 days, days off and 调休 working days alike (benchmarks/holiday_calendars.py).

    The one difference is chinesecalendar's: the State Council's notice for 2006 (国办发明电
    〔2005〕35号) moved the weekend of 31 December 2005 and 1 January 2006 to 2 and 3 January,
    "12月31日（星期六）上班". chinesecalendar has the days off but not that Saturday's work.
    """
    counted, found = compare(2004, 2026)
    assert counted == 8401
    # a later release of either may fix its side; a new disagreement needs a look
    assert set(found) <= {Disagreement(date(2005, 12, 31), True, False, "", "")}


def test_the_package_has_the_official_schedules_the_bot_relies_on() -> None:
    assert package_years().start <= 2004 and LAST >= 2026
    workday = WorkTime(WorkTimeConfig(), SH).is_workday
    # 2026 as published (国办发明电〔2025〕7号): the 调休 Saturdays and Sundays work
    for worked in (date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9)):
        assert workday(worked), worked
    for off in days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not workday(off), off


# ---- 2. schedules list over the 2027 Spring Festival ----------------------------------------


def _listing(*args: str) -> list[tuple[date, str]]:
    result = yishiting("schedules", "list", *args)
    assert result.returncode == 0, result.stderr
    found = []
    for line in result.stdout.splitlines():
        when, _, rest = line.partition("  ")
        found.append((datetime.strptime(when[:10], "%Y-%m-%d").date(), rest.split()[0]))
    return found


def _on(listing: list[tuple[date, str]], prefix: str) -> set[date]:
    return {day for day, key in listing if key.startswith(prefix)}


@pytest.fixture
async def february_tickets(
    make_settings: Callable[..., Settings], analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> Path:
    """A data folder with #1001 reported Thursday 2027-02-04 16:00, the last afternoon before
    the Spring Festival, and #1002 on Friday 2027-02-19 17:00 (nobody claims them)."""
    settings = make_settings(groups=GROUPS)
    clock = FakeClock(at(2027, 2, 4, 16))
    bot = await start_bot(settings, clock, analyzer, sentence_model)
    try:
        await bot.chat("zhang", group="丰仓小区群").say("/report 3号楼路灯不亮")
        clock.now = at(2027, 2, 19, 17)
        await bot.chat("li", group="丰仓小区群").say("/report 东门下水道堵了")
    finally:
        bot.close()
    return settings.data_dir


async def test_schedules_list_keeps_the_2027_spring_festival_free(
    february_tickets: Path,
) -> None:
    """The shipped schedules/ and the package alone. Its 2027 is estimated in 0.109 (除夕 and
    the festival's first days off, Saturday and Sunday moved to Tuesday and Wednesday); the
    checks hold for any 2027 schedule that keeps 02-05..02-10 free."""
    listing = _listing(
        "--from", "2027-02-01 00:00", "--count", "80", "--data", str(february_tickets)
    )
    wt = WorkTime(WorkTimeConfig(), SH)
    festival = set(days(date(2027, 2, 5), date(2027, 2, 10)))  # 除夕 (Friday) to Wednesday
    assert not any(wt.is_workday(d) for d in festival)
    february = set(days(date(2027, 2, 1), date(2027, 2, 28)))
    # staff digest: on every working day of February and on no other day
    assert _on(listing, "digest:") & february == {d for d in february if wt.is_workday(d)}
    assert not _on(listing, "digest:") & festival
    # evening service, Monday to Thursday on working days: not on Monday 02-08 to Wednesday
    evenings = _on(listing, "evening:") & february
    assert evenings == {d for d in february if d.weekday() < 4 and wt.is_workday(d)}
    assert date(2027, 2, 4) in evenings and not evenings & festival
    # SLA clock: #1001 (2 working hours from Thursday 16:00) comes back after the festival
    back = wt.add_working_hours(at(2027, 2, 4, 16), 2)
    assert back.date() > date(2027, 2, 10)
    assert (back.date(), "followup:1001:unclaimed:0") in listing
    assert not {d for d, key in listing if key.startswith("followup:1001")} & festival
    # #1002 (Friday 17:00): half an hour on Friday, the rest after the weekend
    monday = wt.add_working_hours(at(2027, 2, 19, 17), 2)
    assert monday.date() > date(2027, 2, 21)
    assert (monday.date(), "followup:1002:unclaimed:0") in listing


HYPOTHETICAL_2027 = """\
version: 1
holidays:
  - year: 2027
    complete: true
    note: a schedule made up for this test (the 2027 notice is not out)
    days_off:
      - 2027-01-01
      - 2027-02-05..2027-02-11
    workdays: [2027-02-20]   # a 调休 Saturday
"""


async def test_schedules_list_follows_the_operators_2027_schedule(
    february_tickets: Path, tmp_path: Path
) -> None:
    schedules = tmp_path / "schedules"
    shutil.copytree(REPO / "schedules", schedules)
    (schedules / "holidays.yaml").write_text(HYPOTHETICAL_2027, encoding="utf-8")
    config = tmp_path / "yishiting.yaml"
    config.write_text(json.dumps({"schedules_dir": str(schedules)}), encoding="utf-8")
    result = yishiting(
        "--config",
        str(config),
        "schedules",
        "list",
        "--from",
        "2027-02-01 00:00",
        "--count",
        "80",
        "--data",
        str(february_tickets),
    )
    assert result.returncode == 0, result.stderr
    assert "calendar:uncovered:2027" not in result.stdout  # the operator covered 2027
    lines = result.stdout.splitlines()
    listing = [
        (datetime.strptime(ln[:10], "%Y-%m-%d").date(), ln.partition("  ")[2].split()[0])
        for ln in lines
    ]
    off = set(days(date(2027, 2, 5), date(2027, 2, 11)))
    assert not _on(listing, "digest:") & off
    assert not _on(listing, "evening:") & off
    assert date(2027, 2, 15) in _on(listing, "evening:")  # Monday: back
    # the 调休 Saturday has the staff digest and counts for the SLA clock
    assert date(2027, 2, 20) in _on(listing, "digest:")
    assert any(
        ln.startswith("2027-02-20 10:00 Sat") and "followup:1002:unclaimed:0" in ln for ln in lines
    ), lines
    assert any(
        ln.startswith("2027-02-12 09:00 Fri") and "followup:1001:unclaimed:0" in ln for ln in lines
    ), lines
    assert date(2027, 2, 20) not in _on(listing, "evening:")  # Saturday is no service day


# ---- 3. the operators' file ------------------------------------------------------------------


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
version: 1
holidays:
  - year: 2027
    complete: true
    note: 国办发明电〔2026〕（示例）
    days_off:
      - 2027-01-01
      - "2027-02-05..2027-02-11"
      - 2027-05-01 ~ 2027-05-05
      - 2027-10-01至2027-10-07
    workdays: [2027-02-20, "2027-9-26", 2026-12-27]
  - year: 2026
    days_off: [2026-12-24]
"""


def test_an_operator_file_adds_and_overrides_days(tmp_path: Path) -> None:
    path = _write(tmp_path / "s", "holidays.yaml", GOOD)
    book = load_schedules(tmp_path / "s", SH)
    assert book.files == (str(path),)
    first, second = book.holidays
    assert first.year == 2027 and first.complete and first.file == str(path)
    assert len(first.days_off) == 1 + 7 + 5 + 7
    assert first.workdays == {date(2027, 2, 20), date(2027, 9, 26), date(2026, 12, 27)}
    assert second == HolidayYear(2026, frozenset({date(2026, 12, 24)}), frozenset(), file=str(path))
    # the file wins over the settings' (deprecated) extra days, which win over the package
    config = WorkTimeConfig(
        extra_holidays=(date(2027, 2, 20), date(2026, 6, 1)), extra_workdays=(date(2026, 6, 6),)
    )
    wt = WorkTime(config, SH, book.holidays)
    assert wt.is_workday(date(2027, 2, 20)) is True  # file: 调休 Saturday; settings: off
    assert wt.is_workday(date(2027, 2, 11)) is False  # a Thursday the package has working
    assert wt.is_workday(date(2026, 12, 24)) is False  # a local closing day
    assert wt.is_workday(date(2026, 12, 27)) is True  # December, in 2027's schedule
    assert wt.is_workday(date(2026, 6, 1)) is False and wt.is_workday(date(2026, 6, 6)) is True
    assert wt.is_workday(date(2026, 10, 1)) is False  # the rest is the package's
    assert wt.calendar.covered_by(2027) == str(path)
    assert wt.calendar.covered_by(2026) == package_name()  # 2026 lists days, is not complete


ENTRY = "version: 1\nholidays:\n  - year: 2027\n"


@pytest.mark.parametrize(
    ("text", "line", "entry", "field", "message"),
    [
        ("version: 1\nholidays: {year: 2027}\n", None, None, "holidays", "must be a list"),
        ("version: 1\nholidays:\n  - 2027\n", 3, "holidays #1", None, "must be a mapping"),
        (ENTRY + "    day_off: [2027-02-05]\n", 4, "2027", "day_off", "unknown key"),
        (
            "version: 1\nholidays:\n  - year: twenty\n    days_off: [2027-02-05]\n",
            3,
            "holidays #1",
            "year",
            "must be a year",
        ),
        (
            ENTRY + "    days_off:\n      - 2027-02-05\n      - 2027-2-30\n",
            6,
            "2027",
            "days_off",
            "'2027-2-30' is not a date",
        ),
        (ENTRY + "    days_off: 2027-02-05\n", 4, "2027", "days_off", "must be a list"),
        (
            ENTRY + "    days_off:\n      - 2028-01-01\n",
            5,
            "2027",
            "days_off",
            "2028-01-01 is not in 2027",
        ),
        (
            ENTRY + "    workdays: [2026-11-29]\n",
            4,
            "2027",
            "workdays",
            "only December 2026",
        ),
        (
            ENTRY + "    days_off:\n      - 2027-02-10..2027-02-05\n",
            5,
            "2027",
            "days_off",
            "ends before it starts",
        ),
        (
            ENTRY + "    days_off:\n      - 2027-01-01..2027-03-01\n",
            5,
            "2027",
            "days_off",
            "longer than 31 days",
        ),
        (
            ENTRY + "    days_off:\n      - 2027-02-06\n      - 2027-02-05..2027-02-07\n",
            6,
            "2027",
            "days_off",
            "lists 2027-02-06 twice",
        ),
        (
            ENTRY + "    days_off: [2027-02-05]\n    workdays:\n      - 2027-02-20\n"
            "      - 2027-02-05\n",
            7,
            "2027",
            "workdays",
            "2027-02-05 is also in days_off",
        ),
        (ENTRY + "    note: nothing\n", 3, "2027", "year", "lists no days_off and no workdays"),
        (ENTRY + "    complete: 1\n", 4, "2027", "complete", "must be true or false"),
        (
            ENTRY + "    days_off:\n      - 2027-02-05 10:00\n",
            5,
            "2027",
            "days_off",
            "is not a date",
        ),
        (
            ENTRY + "    days_off: [2027-02-05]\n  - year: 2027\n    complete: true\n",
            5,
            "2027",
            "year",
            "a second entry for 2027",
        ),
        (ENTRY + "    days_off:\n      - 2027-02-30\n", 5, None, None, "not a real date"),
        ("version: 1\nholiday: []\n", None, None, "holiday", "allowed: version"),
    ],
)
def test_operator_mistakes_name_file_line_entry_and_field(  # noqa: PLR0917
    tmp_path: Path, text: str, line: int | None, entry: str | None, field: str | None, message: str
) -> None:
    path = _write(tmp_path / "s", "holidays.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_schedules(tmp_path / "s", SH)
    err = info.value
    shown = str(err)
    assert (err.file, err.line, err.entry, err.field) == (str(path), line, entry, field), shown
    assert message in shown
    assert shown.startswith(str(path) if line is None else f"{path}:{line}")


def test_two_files_may_not_both_hold_a_year_or_a_day(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _write(folder, "a.yaml", ENTRY + "    days_off: [2027-02-05]\n")
    second = _write(folder, "b.yaml", ENTRY + "    complete: true\n")
    with pytest.raises(ConfigError, match=r"a second entry for 2027 \(the first is in .*a\.yaml"):
        load_schedules(folder, SH)
    second.write_text(
        "version: 1\nholidays:\n  - {year: 2026, days_off: [2026-12-31]}\n", encoding="utf-8"
    )
    (folder / "a.yaml").write_text(ENTRY + "    days_off: [2026-12-31]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="2026-12-31 is also in the entry for 2027") as info:
        load_schedules(folder, SH)
    assert info.value.file == str(second)


def test_schedules_check_names_the_line(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules"
    _write(schedules, "holidays.yaml", ENTRY + "    workdays:\n      - 2028-01-02\n")
    config = _write(tmp_path, "yishiting.yaml", json.dumps({"schedules_dir": str(schedules)}))
    result = yishiting("--config", str(config), "schedules", "check")
    assert result.returncode == 2
    assert f"{schedules / 'holidays.yaml'}:5, entry '2027', field 'workdays'" in result.stderr
    assert "2028-01-02 is not in 2027" in result.stderr


def test_the_shipped_file_is_an_explained_example() -> None:
    text = (REPO / "schedules" / "holidays.yaml").read_text(encoding="utf-8")
    assert "complete: true" in text and "调休" in text and "pip install -U holidays" in text
    assert load_schedules(REPO / "schedules", SH).holidays == ()


# ---- 4. coverage: doctor and the admins' notice ----------------------------------------------


def test_a_year_is_covered_by_the_package_or_a_complete_entry() -> None:
    calendar = WorkCalendar()
    assert calendar.covered_by(LAST) == package_name() and not calendar.covers(NEXT)
    mine = HolidayYear(NEXT, frozenset(), frozenset({date(NEXT, 2, 20)}), complete=True, file="f")
    assert WorkCalendar([mine]).covered_by(NEXT) == "f"
    partial = HolidayYear(NEXT, frozenset({date(NEXT, 6, 1)}), frozenset(), file="f")
    assert not WorkCalendar([partial]).covers(NEXT)
    # from WARN_DAYS before it starts, and all through it
    warn = warn_from(NEXT)
    assert warn == date(NEXT, 1, 1) - timedelta(days=WARN_DAYS) == date(LAST, 11, 2)
    assert calendar.uncovered(warn - timedelta(days=1)) == []
    assert calendar.uncovered(warn) == [NEXT]
    assert calendar.uncovered(date(NEXT, 8, 1)) == [NEXT]
    assert calendar.uncovered(date(NEXT, 11, 2)) == [NEXT, NEXT + 1]


def test_doctor_says_when_no_calendar_covers_a_coming_year(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(schedules_dir=tmp_path / "none")
    calm = doctor_line(settings, date(LAST, 6, 1))
    assert calm.startswith("calendar  OK      ")
    assert f"{package_name()} has official schedules for 2001–{LAST}" in calm
    early = doctor_line(settings, warn_from(NEXT))
    assert early.startswith(f"calendar  WARN    {NEXT} starts in 60 days")
    assert "no 调休 working days" in early and "pip install -U holidays" in early
    assert f"add {NEXT} to schedules/holidays.yaml with complete: true" in early
    late = doctor_line(settings, date(NEXT, 3, 1))
    assert late.startswith(f"calendar  WARN    {NEXT} began")

    _write(
        tmp_path / "s",
        "holidays.yaml",
        f"version: 1\nholidays: [{{year: {NEXT}, complete: true}}]\n",
    )
    covered = make_settings(
        schedules_dir=tmp_path / "s", work=WorkTimeConfig(extra_holidays=(date(LAST, 6, 1),))
    )
    line = doctor_line(covered, date(NEXT, 3, 1))
    assert line.startswith("calendar  OK      ") and f"schedules/ for {NEXT}" in line
    assert "work.extra_holidays/extra_workdays are deprecated" in line


def test_doctor_prints_the_calendar_line(tmp_path: Path) -> None:
    today = datetime.now(SH).date()
    schedules = tmp_path / "schedules"
    years = ", ".join(f"{{year: {y}, complete: true}}" for y in (today.year, today.year + 1))
    _write(schedules, "holidays.yaml", f"version: 1\nholidays: [{years}]\n")
    config = _write(
        tmp_path,
        "yishiting.yaml",
        json.dumps({"schedules_dir": str(schedules), "data_dir": str(tmp_path / "data")}),
    )
    result = yishiting("--config", str(config), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("calendar")]
    assert line.startswith("calendar  OK      ") and f"schedules/ for {today.year}" in line


def _story_settings(
    make_settings: Callable[..., Settings], folder: Path, holidays: str = "", **overrides: Any
) -> Settings:
    """The shipped evening service, the given holidays.yaml (none: the package alone)."""
    folder.mkdir()
    shutil.copy(REPO / "schedules" / "evening-service.yaml", folder)
    if holidays:
        (folder / "holidays.yaml").write_text(holidays, encoding="utf-8")
    return make_settings(groups=GROUPS, schedules_dir=folder, **overrides)


def _notice_time(year: int) -> datetime:
    return datetime.combine(warn_from(year), time(9), tzinfo=SH)


async def test_the_admins_hear_once_60_days_before_an_uncovered_year(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    tmp_path: Path,
) -> None:
    settings = _story_settings(make_settings, tmp_path / "schedules")
    clock = FakeClock(at(LAST, 10, 26, 9))
    bot = await start_bot(settings, clock, analyzer, sentence_model, scheduler=True)
    try:
        planned = {job.key: job.at for job in bot.app.scheduler.planned()}
        assert planned[f"calendar:uncovered:{NEXT}"] == _notice_time(NEXT)  # 2 Nov, 09:00
        await bot.at(_notice_time(NEXT) - timedelta(minutes=1))
        assert bot.texts(ADMIN) == []
        await bot.at(_notice_time(NEXT) + timedelta(minutes=1))
        (notice,) = bot.texts(ADMIN)
        assert f"还没有 {NEXT} 年的官方放假安排" in notice
        assert f"{package_name()} 只到 {LAST} 年" in notice
        assert "没有调休上班日" in notice and "早报、超时提醒和延时服务" in notice
        assert "pip install -U holidays" in notice and "schedules/holidays.yaml" in notice
        assert not any("放假安排" in t for t in bot.texts(STAFF_ROOM))  # the admins' business
        store = bot.core.store
        assert store.repo(JobLog).done(f"calendar:uncovered:{NEXT}")
        (record,) = store.outbox.with_prefix(f"calendar:uncovered:{NEXT}")
        assert record["status"] == "sent"

        await bot.at(at(NEXT, 1, 4, 9))  # the year begins, still uncovered: no second notice
        assert len(bot.texts(ADMIN)) == 1
        bot = await bot.restart()  # nor after a restart
        await bot.app.scheduler.settle()
        await bot.at(at(NEXT, 2, 1, 9))
        assert bot.texts(ADMIN) == []
        # the year after is planned for its own 2 November
        planned = {job.key: job.at for job in bot.app.scheduler.planned()}
        assert planned[f"calendar:uncovered:{NEXT + 1}"] == _notice_time(NEXT + 1)
        assert f"calendar:uncovered:{NEXT}" not in planned
    finally:
        bot.close()


async def test_a_bot_started_inside_the_window_tells_at_once_in_its_language(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    tmp_path: Path,
) -> None:
    settings = _story_settings(make_settings, tmp_path / "schedules", language="en")
    bot = await start_bot(
        settings, FakeClock(at(NEXT, 3, 2, 15)), analyzer, sentence_model, scheduler=True
    )
    try:
        await bot.app.scheduler.settle()
        (notice,) = bot.texts(ADMIN)
        assert f"no official schedule for {NEXT} yet" in notice
        assert re.search(rf"{re.escape(package_name())} goes up to {LAST}", notice)
    finally:
        bot.close()


async def test_a_complete_year_in_schedules_means_no_notice(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    tmp_path: Path,
) -> None:
    holidays = (
        f"version: 1\nholidays:\n  - year: {NEXT}\n    complete: true\n"
        f"    workdays: [{NEXT}-02-20]\n"
    )
    settings = _story_settings(make_settings, tmp_path / "schedules", holidays)
    clock = FakeClock(at(LAST, 10, 26, 9))
    bot = await start_bot(settings, clock, analyzer, sentence_model, scheduler=True)
    try:
        planned = {job.key: job.at for job in bot.app.scheduler.planned()}
        assert f"calendar:uncovered:{NEXT}" not in planned
        assert planned[f"calendar:uncovered:{NEXT + 1}"] == _notice_time(NEXT + 1)
        await bot.at(at(LAST, 11, 30, 9))
        assert bot.texts(ADMIN) == []
    finally:
        bot.close()
