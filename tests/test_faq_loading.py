"""faq.yaml validation: every mistake names the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.faq.entries import load_faq, parse_faq
from tests.conftest import REPO

GOOD_ENTRY = """
  - id: office-hours
    category: 社区服务
    questions: ["几点上班", "What are the office hours?"]
    answer: 周一至周五 8:30-17:30
"""


def test_bundled_faq_is_valid_and_large_enough() -> None:
    faq = load_faq(REPO / "faq.yaml")
    assert len(faq.entries) >= 40
    assert len({e.category for e in faq.entries}) >= 8
    assert all(len(e.questions) >= 2 for e in faq.entries)
    assert any(any(q.isascii() for q in e.questions) for e in faq.entries)


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_faq(text, "faq.yaml")
    return info.value


def test_bad_yaml_names_the_line() -> None:
    err = _error("version: 1\nentries:\n  - id: a\n    questions: [unclosed\n")
    assert str(err).startswith("faq.yaml:") and err.line is not None and "bad YAML" in str(err)


def test_duplicate_id_names_entry_and_field() -> None:
    err = _error("version: 1\nentries:" + GOOD_ENTRY + GOOD_ENTRY)
    assert str(err) == "faq.yaml, entry 'office-hours', field 'id': duplicate id (also entry #1)"


def test_empty_questions() -> None:
    err = _error(
        GOOD_ENTRY.replace('["几点上班", "What are the office hours?"]', "[]").join(
            ["version: 1\nentries:", ""]
        )
    )
    assert (err.entry, err.field) == ("office-hours", "questions")


def test_unknown_key_is_named() -> None:
    err = _error("version: 1\nentries:" + GOOD_ENTRY + "    anwser: typo\n")
    assert (err.entry, err.field) == ("office-hours", "anwser")
    assert "allowed:" in str(err)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("version: 2\nentries: []", "version"),
        ("version: 1\nentries: []", "entries"),
        ("version: 1\nentries:" + GOOD_ENTRY.replace("office-hours", "Office Hours"), "id"),
        (
            "version: 1\nentries:"
            + GOOD_ENTRY.replace("answer: 周一至周五 8:30-17:30", "answer: ''"),
            "answer",
        ),
    ],
)
def test_invalid_fields(text: str, field: str) -> None:
    assert _error(text).field == field


def test_faq_yaml_is_read_as_strictly_as_schedules() -> None:
    """One loader and one validator for every operator file."""
    assert _error("version: true\nentries:" + GOOD_ENTRY).field == "version"
    twice = _error("version: 1\nentries:" + GOOD_ENTRY + "    answer: 第二个答案\n")
    assert "'answer' is written twice" in str(twice) and twice.line == 7
    nested = _error("version: 1\nentries:" + GOOD_ENTRY + "    keywords: [[a, b]]\n")
    assert (nested.entry, nested.field) == ("office-hours", "keywords")
    numbers = parse_faq("version: 1\nentries:" + GOOD_ENTRY + "    keywords: [12345]\n", "f")
    assert numbers.entries[0].keywords == ("12345",)


def test_missing_attachment_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text(
        "version: 1\nentries:" + GOOD_ENTRY + "    attachments: [map.png]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"'map\.png' does not exist"):
        load_faq(path)
    (tmp_path / "map.png").write_bytes(b"\x89PNG")
    assert load_faq(path).entries[0].attachments == ("map.png",)


def test_an_attachment_linking_out_of_the_faq_folder_is_refused(tmp_path: Path) -> None:
    """The bot uploads FAQ attachments: a symlink must not smuggle in another file."""
    folder = tmp_path / "faq"
    folder.mkdir()
    (folder / "map.png").symlink_to("/etc/hostname")
    path = folder / "faq.yaml"
    path.write_text(
        "version: 1\nentries:" + GOOD_ENTRY + "    attachments: [map.png]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="links outside the FAQ's folder"):
        load_faq(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_faq(tmp_path / "missing.yaml")


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_bytes(("version: 1\nentries:" + GOOD_ENTRY).encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_faq(path)
