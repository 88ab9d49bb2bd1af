"""Working time: China's calendar, quiet hours and SLA arithmetic in working hours."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import WorkTimeConfig
from bot.schedule.worktime import MAX_SEARCH_DAYS, WorkTime

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, *, tz: tzinfo = SH) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


@pytest.fixture
def wt() -> WorkTime:
    return WorkTime(WorkTimeConfig(), SH)


# -- config validation -----------------------------------------------------------------------


def test_defaults() -> None:
    config = WorkTimeConfig()
    assert config.office_hours == ("08:30-12:00", "14:00-17:30")
    assert config.quiet_hours == "21:00-08:00"
    assert WorkTime(config, SH).office_day_hours() == 7.0
    assert WorkTime(WorkTimeConfig(office_hours=("09:00-12:15",)), SH).office_day_hours() == 3.25


def test_config_from_plain_data() -> None:
    config = WorkTimeConfig.model_validate(
        {
            "office_hours": ["09:00-12:00"],
            "extra_holidays": ["2026-06-01"],
            "extra_workdays": ["2026-06-06"],
        }
    )
    assert config.office_hours == ("09:00-12:00",)
    assert config.extra_holidays == (date(2026, 6, 1),)
    assert config.extra_workdays == (date(2026, 6, 6),)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"office_hours": ("8:30-12",)}, "8:30-12"),
        ({"office_hours": ("08:30-12",)}, "08:30-12"),
        ({"office_hours": ("25:00-26:00",)}, "25:00-26:00"),
        ({"office_hours": ("12:00-08:30",)}, "12:00-08:30"),
        ({"office_hours": ("09:00-09:00",)}, "09:00-09:00"),
        ({"office_hours": ("08:30-12:00", "11:00-13:00")}, "11:00-13:00"),
        ({"office_hours": ("14:00-17:30", "08:30-12:00")}, "08:30-12:00"),
        ({"office_hours": ()}, "at least one"),
        ({"quiet_hours": "9pm-8am"}, "9pm-8am"),
        ({"quiet_hours": "21:00-21:00"}, "21:00-21:00"),
        (
            {"extra_holidays": (date(2026, 6, 1),), "extra_workdays": (date(2026, 6, 1),)},
            "2026-06-01",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_config_is_rejected(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named) as info:
        WorkTimeConfig(**overrides)
    assert isinstance(info.value, ValueError)


def test_config_is_frozen() -> None:
    config = WorkTimeConfig()
    with pytest.raises(ValidationError):
        setattr(config, "quiet_hours", "")  # noqa: B010


def test_touching_periods_are_allowed() -> None:
    wt = WorkTime(WorkTimeConfig(office_hours=("08:00-12:00", "12:00-13:00")), SH)
    assert wt.office_day_hours() == 5.0
    assert wt.add_working_hours(at(2026, 6, 1, 11), 1.5) == at(2026, 6, 1, 12, 30)


# -- the calendar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 6, 1), True),  # an ordinary Monday
        (date(2026, 6, 6), False),  # an ordinary Saturday
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # last day of the National Day week
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, adjusted working day (调休)
        (date(2026, 10, 11), False),
        (date(2026, 9, 20), True),  # Sunday, adjusted working day for National Day
        (date(2026, 9, 25), False),  # Mid-autumn Festival (a Friday)
        (date(2026, 2, 14), True),  # Saturday, adjusted working day for Spring Festival
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 2, 23), False),  # Monday, still Spring Festival
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, adjusted working day
        (date(2026, 5, 1), False),  # Labour Day
    ],
)
def test_chinese_calendar(wt: WorkTime, day: date, working: bool) -> None:
    assert wt.is_workday(day) is working


def test_next_workday(wt: WorkTime) -> None:
    assert wt.next_workday(date(2026, 6, 1)) == date(2026, 6, 2)
    assert wt.next_workday(date(2026, 6, 5)) == date(2026, 6, 8)
    assert wt.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert wt.next_workday(date(2026, 10, 9)) == date(2026, 10, 10)
    assert wt.next_workday(date(2026, 2, 13)) == date(2026, 2, 14)
    assert wt.next_workday(date(2026, 2, 14)) == date(2026, 2, 24)


def test_is_workday_wants_a_date(wt: WorkTime) -> None:
    with pytest.raises(TypeError):
        wt.is_workday(at(2026, 6, 1, 9))


def test_beyond_the_official_schedules_the_package_estimates_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wt = WorkTime(WorkTimeConfig(), SH)
    with caplog.at_level(logging.WARNING, logger="bot.schedule.holidays"):
        # 2027 has no State Council schedule in the package yet: its statutory festivals are
        # off (moved off the weekend), but no weekend is worked.
        assert wt.is_workday(date(2027, 1, 1)) is False  # New Year's Day, a Friday
        assert wt.is_workday(date(2027, 1, 2)) is False  # Saturday
        assert wt.is_workday(date(2027, 1, 4)) is True  # Monday
        for day in range(5, 11):  # 除夕 (Friday 02-05) to Wednesday 02-10
            assert wt.is_workday(date(2027, 2, day)) is False, day
        assert wt.is_workday(date(2027, 2, 11)) is True
        assert wt.next_workday(date(2027, 2, 4)) == date(2027, 2, 11)
        assert wt.add_working_hours(at(2027, 2, 4, 17), 1) == at(2027, 2, 11, 9)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage() and "estimate" in warnings[0].getMessage()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.schedule.holidays"):
        assert wt.is_workday(date(2003, 1, 1)) is False  # official since 2001: no warning
        assert wt.is_workday(date(2027, 3, 1)) is True  # 2027 already warned
        assert wt.is_workday(date(2026, 10, 1)) is False
        assert wt.is_workday(date(1949, 10, 3)) is True  # before the package: Monday–Friday
    assert [r.getMessage()[:45] for r in caplog.records] == [
        "no official Chinese holiday schedule for 1949"
    ]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.schedule.holidays"):
        WorkTime(WorkTimeConfig(), SH).is_workday(date(2027, 1, 4))  # memo is per instance
    assert len(caplog.records) == 1


def test_operator_overrides_win() -> None:
    config = WorkTimeConfig(
        extra_holidays=(date(2026, 6, 1), date(2026, 10, 10), date(2027, 1, 1)),
        extra_workdays=(date(2026, 6, 6), date(2026, 10, 1), date(2027, 1, 2)),
    )
    wt = WorkTime(config, SH)
    assert wt.is_workday(date(2026, 6, 1)) is False  # ordinary Monday made a holiday
    assert wt.is_workday(date(2026, 10, 10)) is False  # package's 调休 Saturday overridden
    assert wt.is_workday(date(2026, 6, 6)) is True  # ordinary Saturday made a workday
    assert wt.is_workday(date(2026, 10, 1)) is True  # National Day overridden
    assert wt.is_workday(date(2027, 1, 1)) is False  # the package estimates it off too
    assert wt.is_workday(date(2027, 1, 2)) is True  # a Saturday made a working day
    assert wt.is_office_time(at(2026, 6, 6, 9)) is True
    assert wt.is_office_time(at(2026, 6, 1, 9)) is False
    assert wt.add_working_hours(at(2026, 5, 29, 17), 1) == at(2026, 6, 2, 9)


def test_overrides_silence_nothing_but_themselves(caplog: pytest.LogCaptureFixture) -> None:
    wt = WorkTime(WorkTimeConfig(extra_holidays=(date(2027, 1, 1),)), SH)
    with caplog.at_level(logging.WARNING, logger="bot.schedule.holidays"):
        assert wt.is_workday(date(2027, 1, 1)) is False
    assert caplog.records == []  # an override answers without consulting the package


# -- office time and quiet hours ------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "office"),
    [
        (at(2026, 6, 1, 8, 29), False),
        (at(2026, 6, 1, 8, 30), True),
        (at(2026, 6, 1, 11, 59), True),
        (at(2026, 6, 1, 12, 0), False),
        (at(2026, 6, 1, 13, 59), False),
        (at(2026, 6, 1, 14, 0), True),
        (at(2026, 6, 1, 17, 29), True),
        (at(2026, 6, 1, 17, 30), False),
        (at(2026, 6, 6, 10, 0), False),  # Saturday
        (at(2026, 10, 10, 10, 0), True),  # 调休 Saturday
        (at(2026, 10, 1, 10, 0), False),  # National Day
        (at(2026, 6, 1, 2, 0, tz=UTC), True),  # 10:00 in Shanghai
        (at(2026, 6, 1, 23, 0, tz=UTC), False),  # 07:00 next day in Shanghai
    ],
)
def test_is_office_time(wt: WorkTime, moment: datetime, office: bool) -> None:
    assert wt.is_office_time(moment) is office


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [
        (20, 59, False),
        (21, 0, True),
        (23, 59, True),
        (0, 0, True),
        (3, 0, True),
        (7, 59, True),
        (8, 0, False),
        (12, 0, False),
    ],
)
def test_quiet_window_wraps_midnight(wt: WorkTime, hour: int, minute: int, quiet: bool) -> None:
    assert wt.is_quiet(at(2026, 6, 6, hour, minute)) is quiet  # any day, Saturday too


def test_quiet_window_in_other_zones_is_judged_locally(wt: WorkTime) -> None:
    assert wt.is_quiet(at(2026, 6, 1, 13, 0, tz=UTC)) is True  # 21:00 Shanghai
    assert wt.is_quiet(at(2026, 6, 1, 12, 59, tz=UTC)) is False


def test_same_day_quiet_window_and_disabled() -> None:
    siesta = WorkTime(WorkTimeConfig(quiet_hours="12:00-14:00"), SH)
    assert siesta.is_quiet(at(2026, 6, 1, 11, 59)) is False
    assert siesta.is_quiet(at(2026, 6, 1, 12, 0)) is True
    assert siesta.is_quiet(at(2026, 6, 1, 22, 0)) is False
    assert siesta.after_quiet(at(2026, 6, 1, 13, 0)) == at(2026, 6, 1, 14, 0)

    never = WorkTime(WorkTimeConfig(quiet_hours=""), SH)
    assert never.is_quiet(at(2026, 6, 1, 3, 0)) is False
    assert never.after_quiet(at(2026, 6, 1, 3, 0)) == at(2026, 6, 1, 3, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 6, 1, 23, 10), at(2026, 6, 2, 8, 0)),
        (at(2026, 6, 1, 21, 0), at(2026, 6, 2, 8, 0)),
        (at(2026, 6, 2, 6, 0), at(2026, 6, 2, 8, 0)),
        (at(2026, 6, 2, 0, 0), at(2026, 6, 2, 8, 0)),
        (at(2026, 12, 31, 22, 0), at(2027, 1, 1, 8, 0)),
        (at(2026, 6, 1, 15, 10, tz=UTC), at(2026, 6, 2, 8, 0)),  # 23:10 Shanghai
        (at(2026, 6, 1, 8, 0), at(2026, 6, 1, 8, 0)),
        (at(2026, 6, 1, 20, 59), at(2026, 6, 1, 20, 59)),
    ],
)
def test_after_quiet(wt: WorkTime, moment: datetime, expected: datetime) -> None:
    result = wt.after_quiet(moment)
    assert result == expected
    assert result.tzinfo is SH
    assert not wt.is_quiet(result)


# -- working-hour arithmetic -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (at(2026, 6, 1, 9, 0), 1, at(2026, 6, 1, 10, 0)),
        (at(2026, 6, 1, 11, 0), 2, at(2026, 6, 1, 15, 0)),  # across lunch
        (at(2026, 6, 1, 8, 30), 3.5, at(2026, 6, 1, 12, 0)),  # ends exactly at lunch
        (at(2026, 6, 1, 12, 30), 0.5, at(2026, 6, 1, 14, 30)),  # starts in lunch
        (at(2026, 6, 2, 17, 0), 1, at(2026, 6, 3, 9, 0)),  # across the evening
        (at(2026, 6, 2, 23, 0), 1, at(2026, 6, 3, 9, 30)),  # starts at night
        (at(2026, 6, 3, 6, 0), 1, at(2026, 6, 3, 9, 30)),  # starts early morning
        (at(2026, 6, 5, 17, 0), 1, at(2026, 6, 8, 9, 0)),  # across a weekend
        (at(2026, 6, 6, 10, 0), 1, at(2026, 6, 8, 9, 30)),  # starts on a Saturday
        (at(2026, 9, 30, 17, 0), 1, at(2026, 10, 8, 9, 0)),  # across National Day week
        (at(2026, 9, 30, 16, 0), 7, at(2026, 10, 8, 16, 0)),
        (at(2026, 10, 3, 10, 0), 1, at(2026, 10, 8, 9, 30)),  # starts on a holiday
        (at(2026, 10, 9, 17, 0), 1, at(2026, 10, 10, 9, 0)),  # into the 调休 Saturday
        (at(2026, 2, 17, 10, 0), 1, at(2026, 2, 24, 9, 30)),  # Spring Festival
        (at(2026, 2, 13, 17, 0), 1, at(2026, 2, 14, 9, 0)),  # Saturday 2026-02-14 works
        (at(2026, 6, 1, 9, 0), 35, at(2026, 6, 8, 9, 0)),  # five office days
        (at(2026, 6, 1, 1, 0, tz=UTC), 1, at(2026, 6, 1, 10, 0)),  # 09:00 Shanghai
    ],
)
def test_add_working_hours(wt: WorkTime, start: datetime, hours: float, expected: datetime) -> None:
    result = wt.add_working_hours(start, hours)
    assert result == expected
    assert result.tzinfo is SH


def test_non_positive_hours_return_start(wt: WorkTime) -> None:
    night = at(2026, 6, 1, 23, 0)
    assert wt.add_working_hours(night, 0) == night
    assert wt.add_working_hours(night, -3) == night
    assert wt.add_working_days(night, 0) == night
    assert wt.add_working_hours(at(2026, 6, 1, 15, 0, tz=UTC), 0).tzinfo is SH


def test_non_finite_hours_are_rejected(wt: WorkTime) -> None:
    with pytest.raises(ValueError, match="finite"):
        wt.add_working_hours(at(2026, 6, 1, 9), float("inf"))
    with pytest.raises(ValueError, match="finite"):
        wt.add_working_hours(at(2026, 6, 1, 9), float("nan"))


def test_add_working_days(wt: WorkTime) -> None:
    assert wt.add_working_days(at(2026, 6, 1, 10, 0), 1) == at(2026, 6, 2, 10, 0)
    assert wt.add_working_days(at(2026, 6, 5, 10, 0), 1) == at(2026, 6, 8, 10, 0)
    assert wt.add_working_days(at(2026, 9, 30, 10, 0), 1) == at(2026, 10, 8, 10, 0)
    assert wt.add_working_days(at(2026, 6, 1, 8, 30), 0.5) == at(2026, 6, 1, 12, 0)
    assert wt.add_working_days(at(2026, 6, 1, 22, 0), 2) == at(2026, 6, 3, 17, 30)


def test_working_hours_between(wt: WorkTime) -> None:
    between = wt.working_hours_between
    assert between(at(2026, 6, 1, 9), at(2026, 6, 1, 10)) == 1.0
    assert between(at(2026, 6, 1, 11), at(2026, 6, 1, 15)) == 2.0
    assert between(at(2026, 6, 1, 0), at(2026, 6, 2, 0)) == 7.0
    assert between(at(2026, 6, 5, 9), at(2026, 6, 8, 9)) == 7.0  # weekend counts nothing
    assert between(at(2026, 9, 30, 0), at(2026, 10, 10, 23)) == 28.0  # 9-30, 10-08/09/10
    assert between(at(2026, 10, 1, 0), at(2026, 10, 8, 0)) == 0.0
    assert between(at(2026, 6, 1, 10), at(2026, 6, 1, 9)) == 0.0
    assert between(at(2026, 6, 1, 10), at(2026, 6, 1, 10)) == 0.0
    assert between(at(2026, 6, 1, 0, 30, tz=UTC), at(2026, 6, 1, 9)) == 0.5  # 08:30 Shanghai


STARTS = [
    at(2026, 6, 1, 9, 17),
    at(2026, 6, 1, 12, 0),
    at(2026, 6, 1, 13, 5),
    at(2026, 6, 2, 17, 29),
    at(2026, 6, 2, 23, 45),
    at(2026, 6, 6, 10, 0),
    at(2026, 9, 29, 15, 40),
    at(2026, 10, 4, 3, 0),
    at(2026, 10, 9, 16, 0),
    at(2026, 2, 12, 11, 11),
    at(2026, 12, 30, 14, 0),  # runs into the 2027 estimate
    at(2026, 6, 1, 0, 30, tz=UTC),
]
AMOUNTS = [0.01, 0.25, 1, 2.5, 3.5, 7, 10.75, 23.3, 40, 100, 333.333]


def test_between_inverts_add(wt: WorkTime) -> None:
    for start in STARTS:
        for hours in AMOUNTS:
            end = wt.add_working_hours(start, hours)
            assert end > start
            assert wt.is_office_time(end - timedelta(microseconds=1)), (start, hours)
            assert wt.working_hours_between(start, end) == pytest.approx(hours, abs=1e-6)
            by_days = wt.add_working_days(start, hours / 7)
            assert abs(by_days - end) <= timedelta(microseconds=1)


def test_add_inverts_between(wt: WorkTime) -> None:
    for start in STARTS:
        for offset_hours in (1, 5, 26, 75, 200):
            end = start + timedelta(hours=offset_hours, minutes=7)
            if not wt.is_office_time(end):
                continue
            hours = wt.working_hours_between(start, end)
            assert wt.add_working_hours(start, hours) == end


def test_search_is_bounded() -> None:
    first = date(2026, 6, 1)
    config = WorkTimeConfig(
        extra_holidays=tuple(first + timedelta(days=i) for i in range(MAX_SEARCH_DAYS + 5))
    )
    wt = WorkTime(config, SH)
    with pytest.raises(ValueError, match="no office time"):
        wt.add_working_hours(at(2026, 6, 1, 9), 1)
    with pytest.raises(ValueError, match="no working day"):
        wt.next_workday(first)


# -- time zones ------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected(wt: WorkTime) -> None:
    naive = datetime(2026, 6, 1, 9, 0)
    aware = at(2026, 6, 1, 9, 0)
    calls: list[Callable[[], object]] = [
        lambda: wt.is_office_time(naive),
        lambda: wt.is_quiet(naive),
        lambda: wt.after_quiet(naive),
        lambda: wt.add_working_hours(naive, 1),
        lambda: wt.add_working_hours(naive, 0),
        lambda: wt.add_working_days(naive, 1),
        lambda: wt.working_hours_between(naive, aware),
        lambda: wt.working_hours_between(aware, naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="naive"):
            call()


def test_dst_zone_uses_wall_clock_periods_and_real_durations() -> None:
    # Berlin springs forward on Sunday 2026-03-29, 02:00 -> 03:00.
    night_shift = WorkTime(
        WorkTimeConfig(
            office_hours=("01:00-04:00",), quiet_hours="", extra_workdays=(date(2026, 3, 29),)
        ),
        BERLIN,
    )
    day = (at(2026, 3, 29, 0, tz=BERLIN), at(2026, 3, 29, 5, tz=BERLIN))
    assert night_shift.working_hours_between(*day) == 2.0  # 01:00 CET to 04:00 CEST
    end = night_shift.add_working_hours(at(2026, 3, 29, 1, tz=BERLIN), 1.5)
    assert end == at(2026, 3, 29, 3, 30, tz=BERLIN)
    assert end.utcoffset() == timedelta(hours=2)

    wt = WorkTime(WorkTimeConfig(), BERLIN)
    morning = wt.after_quiet(at(2026, 3, 28, 23, 0, tz=BERLIN))
    assert (morning.hour, morning.minute, morning.utcoffset()) == (8, 0, timedelta(hours=2))
    assert morning.astimezone(UTC) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
