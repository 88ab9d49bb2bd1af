"""schedules/*.yaml: the shipped files load, every mistake names file/entry/field, targets."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.config import WorkTimeConfig
from bot.errors import ConfigError
from bot.models import Address
from bot.schedule.book import ScheduleBook, load_schedules
from bot.schedule.jobs import cron_occurrences
from bot.schedule.targets import TargetError, check_targets, resolve_targets
from bot.schedule.worktime import WorkTime
from tests.conftest import REPO

TZ = ZoneInfo("Asia/Shanghai")
GROUPS = {
    "telegram:-100": "丰仓小区",
    "matrix:!a:hs": "粮库宿舍",
    "telegram:-200": "丰仓小区",
    "telegram:-300": "棉纺厂宿舍",
}
TAGS = {"老旧小区": ["粮库宿舍", "棉纺厂宿舍"], "北片": ["丰仓小区"], "空片": ["新建小区"]}
NETWORKS = ("telegram", "matrix")

EVENING: dict[str, Any] = {
    "weekdays": ["mon", "tue", "wed", "thu"],
    "skip_non_working_days": True,
    "place": "便民服务大厅",
    "booking_days_ahead": 7,
    "slots": [
        {"id": "1800", "start": "18:00", "end": "18:30", "capacity": 3},
        {"id": "1830", "start": "18:30", "end": "19:00", "capacity": 3},
    ],
    "services": ["医保缴费", "其他"],
    "reminders": {"resident_before": "2h", "staff_roster_at": "16:30", "group_notice_at": "09:00"},
    "group_notice_targets": ["all"],
    "group_notice": {"zh-CN": "今晚{date}{weekday}在{place}：{slots}", "en": "Tonight {slots}"},
}
BROADCAST: dict[str, Any] = {
    "id": "garbage-sorting-weekly",
    "cron": "0 9 * * sat",
    "targets": ["all"],
    "text": {"zh-CN": "垃圾分类", "en": "Garbage sorting"},
    "quiet_hours_override": False,
}


def _write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _doc(evening: dict[str, Any] | None = None, *broadcasts: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"version": 1}
    if evening is not None:
        data["evening_service"] = evening
    if broadcasts:
        data["broadcasts"] = list(broadcasts)
    return data


def _load(folder: Path) -> ScheduleBook:
    return load_schedules(folder, TZ)


def _error(folder: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(folder)
    return info.value


def _names(err: ConfigError, file: Path, entry: str | None, field: str | None) -> None:
    """The error and its message name the file, the entry and the field."""
    text = str(err)
    assert err.file == str(file) and text.startswith(str(file)), text
    assert (err.entry, err.field) == (entry, field), text
    if entry is not None:
        assert f"entry {entry!r}" in text
    if field is not None:
        assert f"field {field!r}" in text


# --- the shipped folder ------------------------------------------------------------------------


def test_shipped_schedules_load_with_the_expected_shape() -> None:
    folder = REPO / "schedules"
    book = load_schedules(folder, TZ)
    assert book.files == tuple(
        str(folder / name) for name in ("broadcasts.yaml", "evening-service.yaml", "holidays.yaml")
    )
    assert book.holidays == ()  # the shipped holidays.yaml is an explained example only
    evening = book.evening
    assert evening is not None and evening.file == str(folder / "evening-service.yaml")
    assert evening.weekdays == frozenset({0, 1, 2, 3})
    assert evening.skip_non_working_days and evening.booking_days_ahead == 7
    assert "党群服务中心" in evening.place
    assert [s.id for s in evening.slots] == ["1800", "1830", "1900"]
    late = evening.slot("1900")
    assert late is not None and late.capacity == 2 and late.start == time(19)
    assert evening.slots[0].start == time(18) and evening.slots[-1].end == time(19, 30)
    assert "医保缴费" in evening.services
    assert evening.reminders.resident_before == timedelta(hours=2)
    assert evening.reminders.staff_roster_at == time(16, 30)
    assert evening.reminders.group_notice_at == time(9)
    assert evening.group_notice_targets == ("all",)
    assert set(evening.group_notice) == {"zh-CN", "en"}
    notice = evening.group_notice["zh-CN"].format(date="d", weekday="w", place="p", slots="s")
    assert "延时服务" in notice

    garbage = book.broadcast("garbage-sorting-weekly")
    assert garbage is not None and garbage.cron == "0 9 * * sat" and garbage.at is None
    assert garbage.targets == ("all",) and not garbage.quiet_hours_override
    assert "垃圾分类" in garbage.text_for("zh-CN") and "Garbage sorting" in garbage.text_for("en")
    first = cron_occurrences(garbage.cron, datetime(2026, 12, 1, tzinfo=TZ), 1)[0]
    assert first == datetime(2026, 12, 5, 9, tzinfo=TZ)  # a Saturday
    assert len(book.broadcasts) >= 3
    for broadcast in book.broadcasts:
        assert broadcast.cron is not None
        assert cron_occurrences(broadcast.cron, datetime(2026, 1, 1, tzinfo=TZ), 1)
        assert broadcast.text_for("en") != broadcast.text_for("zh-CN")
    check_targets(book, GROUPS, TAGS, NETWORKS)


def test_missing_folder_is_an_empty_book(tmp_path: Path) -> None:
    book = _load(tmp_path / "nowhere")
    assert book == ScheduleBook() and book.evening is None and book.broadcasts == ()


def test_a_file_instead_of_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "schedules"
    path.write_text("version: 1\n", encoding="utf-8")
    _names(_error(path), path, None, None)


def test_files_are_read_by_name_and_other_files_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _write(folder, "b.yaml", _doc(None, {**BROADCAST, "id": "second"}))
    _write(folder, "a.yml", _doc(EVENING, BROADCAST))
    (folder / "notes.txt").write_text("not yaml: [", encoding="utf-8")
    (folder / ".swap.yaml").write_text("not yaml: [", encoding="utf-8")
    book = _load(folder)
    assert book.files == (str(folder / "a.yml"), str(folder / "b.yaml"))
    assert [b.id for b in book.broadcasts] == ["garbage-sorting-weekly", "second"]
    assert book.broadcast("second") is not None and book.broadcast("third") is None
    assert book.evening is not None and book.evening.file == str(folder / "a.yml")


def test_unquoted_times_defaults_and_weekday_spellings(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "e.yaml").write_text(
        "version: 1\n"
        "evening_service:\n"
        "  weekdays: [1, Tuesday, FRI, 7]\n"
        "  place: 大厅\n"
        "  slots:\n"
        "    - {id: b, start: 19:00, end: 19:30, capacity: 1}\n"
        "    - {id: a, start: 18:30, end: 19:00, capacity: 2}\n"
        "  services: [其他]\n"
        "  reminders: {resident_before: 1h30m, staff_roster_at: 16:30, group_notice_at: null}\n",
        encoding="utf-8",
    )
    evening = _load(folder).evening
    assert evening is not None
    assert evening.weekdays == frozenset({0, 1, 4, 6})
    assert [s.id for s in evening.slots] == ["a", "b"]  # sorted by start
    later = evening.slot("b")
    assert later is not None and later.start == time(19) and later.capacity == 1
    assert evening.slot("zz") is None
    assert evening.skip_non_working_days and evening.booking_days_ahead == 7
    assert evening.reminders.resident_before == timedelta(hours=1, minutes=30)
    assert evening.reminders.staff_roster_at == time(16, 30)
    assert evening.reminders.group_notice_at is None
    assert evening.group_notice_targets == () and evening.group_notice == {}
    assert evening.group_notice_for("en") == ""


def test_runs_on_follows_weekdays_and_the_holiday_calendar(tmp_path: Path) -> None:
    _write(tmp_path / "s", "e.yaml", _doc(EVENING))
    evening = _load(tmp_path / "s").evening
    assert evening is not None
    workday = WorkTime(WorkTimeConfig(), TZ).is_workday
    assert evening.runs_on(date(2026, 12, 3), workday)  # an ordinary Thursday
    assert not evening.runs_on(date(2026, 12, 4), workday)  # Friday is not listed
    assert not evening.runs_on(date(2026, 10, 1), workday)  # National Day, a Thursday
    # beyond the official schedules the holidays package estimates: National Day 2040 is off,
    # an ordinary Monday is not
    assert not evening.runs_on(date(2040, 10, 1), workday)
    assert evening.runs_on(date(2040, 10, 15), workday)
    _write(tmp_path / "t", "e.yaml", _doc({**EVENING, "skip_non_working_days": False}))
    every_week = _load(tmp_path / "t").evening
    assert every_week is not None and every_week.runs_on(date(2026, 10, 1), workday)


def test_at_is_aware_in_the_given_timezone(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "b.yaml").write_text(
        "version: 1\n"
        "broadcasts:\n"
        "  - {id: plain, at: 2026-12-31 10:00, targets: [all], text: {zh-CN: 新年}}\n"
        "  - {id: seconds, at: 2026-12-31 10:00:00, targets: [all], text: {zh-CN: 新年}}\n"
        "  - {id: offset, at: '2026-12-31T02:00:00+00:00', targets: [all], text: {zh-CN: 新年}}\n"
        "  - id: urgent\n"
        "    at: 2026-12-31T10:00\n"
        "    targets: [丰仓小区, 'matrix:!room:server']\n"
        "    text: {zh-CN: 停水, en: Water cut}\n"
        "    quiet_hours_override: true\n",
        encoding="utf-8",
    )
    book = _load(folder)
    expected = datetime(2026, 12, 31, 10, tzinfo=TZ)
    for broadcast in book.broadcasts:
        assert broadcast.cron is None and broadcast.at == expected, broadcast.id
        assert broadcast.at is not None and broadcast.at.utcoffset() == timedelta(hours=8)
    urgent = book.broadcast("urgent")
    assert urgent is not None and urgent.quiet_hours_override
    assert urgent.targets == ("丰仓小区", "matrix:!room:server")
    assert urgent.text_for("en") == "Water cut"
    plain = book.broadcast("plain")
    assert plain is not None and plain.text_for("en") == "新年"  # falls back to zh-CN
    assert not plain.quiet_hours_override
    other_tz = load_schedules(folder, UTC).broadcast("plain")
    assert other_tz is not None and other_tz.at == datetime(2026, 12, 31, 10, tzinfo=UTC)


# --- file-level errors -------------------------------------------------------------------------


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    path = folder / "b.yaml"
    path.write_text("version: 1\nbroadcasts:\n  - id: a\n    targets: [unclosed\n", "utf-8")
    err = _error(folder)
    assert err.file == str(path) and err.line is not None and err.line >= 4
    assert str(err).startswith(f"{path}:{err.line}") and "bad YAML" in str(err)


def test_a_key_written_twice_names_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    path = folder / "b.yaml"
    path.write_text("version: 1\nbroadcasts: []\nbroadcasts: []\n", "utf-8")
    err = _error(folder)
    assert err.file == str(path) and err.line == 3 and "'broadcasts' is written twice" in str(err)


def test_non_utf8_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    path = folder / "b.yaml"
    path.write_bytes("version: 1\n# 垃圾分类\n".encode("gbk"))
    err = _error(folder)
    _names(err, path, None, None)
    assert "UTF-8" in str(err)


def test_utf8_with_bom_is_fine(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "b.yaml").write_bytes("\ufeffversion: 1\n".encode())
    assert _load(folder).files == (str(folder / "b.yaml"),)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"broadcasts": []}, "version"),
        ({"version": 2}, "version"),
        ({"version": True}, "version"),
        ({"version": 1, "broadcast": []}, "broadcast"),
        ({"version": 1, "broadcasts": {"id": "x"}}, "broadcasts"),
    ],
)
def test_top_level_mistakes(tmp_path: Path, data: dict[str, Any], field: str) -> None:
    path = _write(tmp_path / "s", "b.yaml", data)
    _names(_error(tmp_path / "s"), path, None, field)


def test_a_list_instead_of_a_mapping(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "b.yaml").write_text("- version: 1\n", "utf-8")
    _names(_error(folder), folder / "b.yaml", None, None)


# --- duplicates across files -------------------------------------------------------------------


def test_two_evening_service_sections(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _write(folder, "a.yaml", _doc(EVENING))
    second = _write(folder, "b.yaml", _doc(EVENING))
    err = _error(folder)
    _names(err, second, "evening_service", None)
    assert str(folder / "a.yaml") in str(err)


def test_duplicate_broadcast_id_across_files(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _write(folder, "a.yaml", _doc(None, BROADCAST))
    second = _write(folder, "b.yaml", _doc(None, BROADCAST))
    err = _error(folder)
    _names(err, second, "garbage-sorting-weekly", "id")
    assert "duplicate" in str(err) and str(folder / "a.yaml") in str(err)


def test_duplicate_broadcast_id_in_one_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "s", "a.yaml", _doc(None, BROADCAST, BROADCAST))
    _names(_error(tmp_path / "s"), path, "garbage-sorting-weekly", "id")


# --- evening-service errors --------------------------------------------------------------------


def _evening_with(change: Any) -> dict[str, Any]:
    evening = copy.deepcopy(EVENING)
    change(evening)
    return evening


def _set(key: str, value: Any) -> Any:
    return lambda e: e.__setitem__(key, value)


def _set_slot(index: int, key: str, value: Any) -> Any:
    return lambda e: e["slots"][index].__setitem__(key, value)


def _set_reminder(key: str, value: Any) -> Any:
    return lambda e: e["reminders"].__setitem__(key, value)


def _drop(key: str) -> Any:
    return lambda e: e.pop(key)


EVENING_MISTAKES = [
    # (change, entry, field, words in the message)
    (_set_slot(1, "id", "1800"), "1800", "id", "duplicate"),
    (_set_slot(1, "start", "18:15"), "1830", "start", "overlaps slot '1800'"),
    (_set_slot(0, "end", "18:00"), "1800", "end", "after start"),
    (_set_slot(0, "end", "17:00"), "1800", "end", "after start"),
    (_set_slot(0, "capacity", 0), "1800", "capacity", "at least 1"),
    (_set_slot(0, "capacity", "三"), "1800", "capacity", "whole number"),
    (_set_slot(0, "start", "25:00"), "1800", "start", "time of day"),
    (_set_slot(0, "id", 1800), "slot #1", "id", "quoted id"),
    (_set_slot(0, "room", "A"), "1800", "room", "unknown key"),
    (lambda e: e["slots"][0].pop("capacity"), "1800", "capacity", "missing"),
    (_set("slots", []), "evening_service", "slots", "non-empty"),
    (_set("weekdays", ["mon", "funday"]), "evening_service", "weekdays", "unknown weekday"),
    (_set("weekdays", [8]), "evening_service", "weekdays", "unknown weekday"),
    (_set("weekdays", [0]), "evening_service", "weekdays", "unknown weekday"),
    (_set("weekdays", ["mon", 1]), "evening_service", "weekdays", "twice"),
    (_set("weekdays", []), "evening_service", "weekdays", "non-empty"),
    (
        _set_reminder("resident_before", "2 hours"),
        "evening_service",
        "reminders.resident_before",
        "duration",
    ),
    (
        _set_reminder("resident_before", 90),
        "evening_service",
        "reminders.resident_before",
        "duration",
    ),
    (
        _set_reminder("resident_before", "0m"),
        "evening_service",
        "reminders.resident_before",
        "zero",
    ),
    (
        _set_reminder("staff_roster_at", "4pm"),
        "evening_service",
        "reminders.staff_roster_at",
        "time of day",
    ),
    (_set_reminder("reminder", "1h"), "evening_service", "reminders.reminder", "unknown key"),
    (_set("reminders", "2h"), "evening_service", "reminders", "mapping"),
    (
        _set("group_notice", {"zh-CN": "今晚 {time}"}),
        "evening_service",
        "group_notice.zh-CN",
        "{time}",
    ),
    (
        _set("group_notice", {"zh-CN": "{date}", "en": "{}"}),
        "evening_service",
        "group_notice.en",
        "placeholder",
    ),
    (
        _set("group_notice", {"zh-CN": "今晚 {date"}),
        "evening_service",
        "group_notice.zh-CN",
        "braces",
    ),
    (_set("group_notice", {"en": "Tonight"}), "evening_service", "group_notice", "zh-CN"),
    (
        _set("group_notice", {"zh-CN": "今晚", "fr": "Ce soir"}),
        "evening_service",
        "group_notice.fr",
        "unknown language",
    ),
    (_drop("group_notice"), "evening_service", "group_notice", "zh-CN"),
    (_set("group_notice_targets", []), "evening_service", "group_notice_targets", "non-empty"),
    (
        _set("group_notice_targets", ["telegram:"]),
        "evening_service",
        "group_notice_targets",
        "network:chat_id",
    ),
    (_set("place", " "), "evening_service", "place", "non-empty"),
    (_set("services", ["医保", "医保"]), "evening_service", "services", "twice"),
    (_set("booking_days_ahead", -1), "evening_service", "booking_days_ahead", "whole number"),
    (
        _set("skip_non_working_days", "yes please"),
        "evening_service",
        "skip_non_working_days",
        "true or false",
    ),
    (_set("opening_hours", "18:00"), "evening_service", "opening_hours", "unknown key"),
]


@pytest.mark.parametrize(
    ("change", "entry", "field", "words"),
    EVENING_MISTAKES,
    ids=[f"{m[1]}.{m[2]}" for m in EVENING_MISTAKES],
)
def test_evening_service_mistakes(
    tmp_path: Path, change: Any, entry: str, field: str, words: str
) -> None:
    path = _write(tmp_path / "s", "evening.yaml", _doc(_evening_with(change)))
    err = _error(tmp_path / "s")
    _names(err, path, entry, field)
    assert words in str(err)


def test_evening_service_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "s", "e.yaml", {"version": 1, "evening_service": ["mon"]})
    _names(_error(tmp_path / "s"), path, "evening_service", None)


def test_no_group_notice_needs_no_targets_or_text(tmp_path: Path) -> None:
    evening = copy.deepcopy(EVENING)
    evening["reminders"]["group_notice_at"] = None
    del evening["group_notice"], evening["group_notice_targets"]
    _write(tmp_path / "s", "e.yaml", _doc(evening))
    loaded = _load(tmp_path / "s").evening
    assert loaded is not None and loaded.reminders.group_notice_at is None


# --- broadcast errors --------------------------------------------------------------------------


def _broadcast_with(**changes: Any) -> dict[str, Any]:
    broadcast = copy.deepcopy(BROADCAST)
    for key, value in changes.items():
        if value is None:
            broadcast.pop(key, None)
        else:
            broadcast[key] = value
    return broadcast


BROADCAST_MISTAKES = [
    # (changes, field, words in the message)
    ({"cron": "0 25 * * *"}, "cron", "bad cron expression '0 25 * * *'"),
    ({"cron": "0 9 * *"}, "cron", "bad cron expression"),
    ({"cron": 9}, "cron", "crontab"),
    ({"at": "2026-12-31 10:00"}, "cron", "not both"),
    ({"cron": None}, "at", "exactly one of cron"),
    ({"cron": None, "at": "2026-12-31"}, "at", "date and time"),
    ({"cron": None, "at": "next friday 10:00"}, "at", "date and time"),
    ({"targets": []}, "targets", "non-empty"),
    ({"targets": None}, "targets", "non-empty"),
    ({"targets": ["all", ""]}, "targets", "non-empty text"),
    ({"targets": [":-100"]}, "targets", "network:chat_id"),
    ({"text": {"en": "Garbage"}}, "text", "zh-CN"),
    ({"text": None}, "text", "zh-CN"),
    ({"text": {"zh-CN": "分类", "EN": "x"}}, "text.EN", "unknown language"),
    ({"text": {"zh-CN": ""}}, "text.zh-CN", "non-empty"),
    ({"quiet_hours_override": "no"}, "quiet_hours_override", "true or false"),
    ({"urgent": True}, "urgent", "unknown key"),
]


@pytest.mark.parametrize(
    ("changes", "field", "words"), BROADCAST_MISTAKES, ids=[m[1] for m in BROADCAST_MISTAKES]
)
def test_broadcast_mistakes(
    tmp_path: Path, changes: dict[str, Any], field: str, words: str
) -> None:
    path = _write(tmp_path / "s", "broadcasts.yaml", _doc(None, _broadcast_with(**changes)))
    err = _error(tmp_path / "s")
    _names(err, path, "garbage-sorting-weekly", field)
    assert words in str(err)


@pytest.mark.parametrize("bad_id", ["Garbage_Sorting", "垃圾分类", "-x", 7])
def test_broadcast_id_must_be_kebab_case(tmp_path: Path, bad_id: Any) -> None:
    path = _write(tmp_path / "s", "b.yaml", _doc(None, BROADCAST, _broadcast_with(id=bad_id)))
    err = _error(tmp_path / "s")
    expected = bad_id if isinstance(bad_id, str) else "broadcast #2"
    _names(err, path, expected, "id")


def test_missing_broadcast_id_names_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path / "s", "b.yaml", _doc(None, _broadcast_with(id=None)))
    _names(_error(tmp_path / "s"), path, "broadcast #1", "id")


def test_a_broadcast_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "s", "b.yaml", {"version": 1, "broadcasts": ["garbage"]})
    _names(_error(tmp_path / "s"), path, "broadcast #1", None)


# --- targets -----------------------------------------------------------------------------------


def _resolve(*targets: str) -> list[str]:
    return [str(a) for a in resolve_targets(targets, GROUPS, TAGS, NETWORKS)]


def test_all_spans_both_networks() -> None:
    groups = {"telegram:-100": "丰仓小区", "matrix:!a:hs": "粮库宿舍"}
    assert resolve_targets(["all"], groups, {}, NETWORKS) == [
        Address("telegram", "-100"),
        Address("matrix", "!a:hs"),
    ]


def test_compounds_tags_and_explicit_chats() -> None:
    assert _resolve("丰仓小区") == ["telegram:-100", "telegram:-200"]
    assert _resolve("老旧小区") == ["matrix:!a:hs", "telegram:-300"]
    assert _resolve("telegram:-999") == ["telegram:-999"]
    assert _resolve("matrix:!room:server.org") == ["matrix:!room:server.org"]


def test_targets_keep_order_without_duplicates() -> None:
    assert _resolve("棉纺厂宿舍", "all", "telegram:-100", "matrix:!x:hs") == [
        "telegram:-300",
        "telegram:-100",
        "matrix:!a:hs",
        "telegram:-200",
        "matrix:!x:hs",
    ]


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("东风小区", "not 'all'"),
        ("空片", "none of the tag's compounds"),
        ("新建小区", "compound has no group chat"),
        ("wechat:abc", "unknown network 'wechat'"),
        ("telegram:", "chat id"),
    ],
)
def test_unknown_targets(target: str, words: str) -> None:
    with pytest.raises(TargetError) as info:
        _resolve("all", target)
    assert info.value.target == target and words in str(info.value)


def test_all_without_groups_is_an_error() -> None:
    with pytest.raises(TargetError) as info:
        resolve_targets(["all"], {}, {}, NETWORKS)
    assert info.value.target == "all"


def test_check_targets_names_the_broadcast(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _write(folder, "a.yaml", _doc(EVENING))
    path = _write(
        folder,
        "b.yaml",
        _doc(None, BROADCAST, _broadcast_with(id="x", targets=["all", "东风小区"])),
    )
    book = _load(folder)
    with pytest.raises(ConfigError) as info:
        check_targets(book, GROUPS, TAGS, NETWORKS)
    _names(info.value, path, "x", "targets")
    assert "东风小区" in str(info.value)


def test_check_targets_names_the_evening_service(tmp_path: Path) -> None:
    path = _write(tmp_path / "s", "a.yaml", _doc({**EVENING, "group_notice_targets": ["wechat:1"]}))
    book = _load(tmp_path / "s")
    with pytest.raises(ConfigError) as info:
        check_targets(book, GROUPS, TAGS, NETWORKS)
    _names(info.value, path, "evening_service", "group_notice_targets")
    check_targets(book, GROUPS, TAGS, (*NETWORKS, "wechat"))


def test_crontab_weekday_numbers_mean_what_crontab_says() -> None:
    thursday = datetime(2026, 11, 26, 9, tzinfo=TZ)

    def days(expr: str, count: int) -> list[str]:
        return [d.strftime("%a") for d in cron_occurrences(expr, thursday, count)]

    assert days("0 9 * * 6", 1) == ["Sat"]
    assert days("0 9 * * 0", 1) == days("0 9 * * 7", 1) == ["Sun"]
    assert days("0 9 * * 1-5", 3) == ["Fri", "Mon", "Tue"]
    assert days("0 9 * * sat", 1) == ["Sat"]
