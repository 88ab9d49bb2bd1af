"""Damaged and unwritable data folders through the command line: one line naming the file.

Each case is made from a real folder the bot wrote, then read with `tickets list` (and the
bot itself where it matters): exit code 2, one line on stderr that names the file (and the
line), no traceback, and never "(no tickets)".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.store.files import MANIFEST, journal_path, read_manifest, snapshot_path
from tests.cli_helpers import yishiting


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with two tickets, stopped cleanly, and one more commit in its journal."""
    data = tmp_path_factory.mktemp("written") / "data"
    made = yishiting(
        "chat",
        "--data",
        str(data),
        stdin=":in 丰仓小区群\n/report 3号楼路灯不亮\n:in 粮库宿舍群\n/report 5号楼门口漏水\n",
    )
    assert made.returncode == 0 and "#1002" in made.stdout, made.stderr
    again = yishiting("chat", "--data", str(data), stdin="/lang en\n")
    assert again.returncode == 0, again.stderr
    return data


def _generation(data: Path) -> int:
    manifest = read_manifest(data)
    assert manifest is not None
    return manifest.generation


def _append_journal(line: bytes) -> Callable[[Path], Path]:
    def damage(data: Path) -> Path:
        journal = journal_path(data, _generation(data))
        journal.write_bytes(journal.read_bytes() + line + b"\n" + b'{"n":99}\n')
        return journal

    return damage


def _truncate_snapshot(data: Path) -> Path:
    snapshot = snapshot_path(data, _generation(data))
    snapshot.write_bytes(snapshot.read_bytes()[:-30])
    return snapshot


def _delete_snapshot(data: Path) -> Path:
    snapshot = snapshot_path(data, _generation(data))
    snapshot.unlink()
    return snapshot


def _schema_v2(data: Path) -> Path:
    manifest = json.loads((data / MANIFEST).read_text())
    manifest["schema"] = "v2"
    (data / MANIFEST).write_text(json.dumps(manifest))
    return data / MANIFEST


def _journal_folder(data: Path) -> Path:
    journal = journal_path(data, _generation(data))
    journal.unlink()
    journal.mkdir()
    return journal


def _lose_manifest(data: Path) -> Path:
    (data / MANIFEST).unlink()
    return data / MANIFEST


def _foreign_journal(data: Path) -> Path:
    journal = journal_path(data, _generation(data))
    journal.write_bytes(b'{"yishiting-journal":1,"generation":4242}\n')
    return journal


DAMAGES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "journal line is a number": (_append_journal(b"5"), r":\d+: damaged journal line \(int"),
    "journal line is a list": (_append_journal(b"[1,2]"), r":\d+: damaged journal line \(list"),
    "truncated snapshot": (_truncate_snapshot, "truncated"),
    "deleted snapshot": (_delete_snapshot, "is missing"),
    'schema "v2"': (_schema_v2, "field 'schema': must be a whole number, not 'v2'"),
    "journal is a folder": (_journal_folder, "is a folder"),
    "manifest lost": (_lose_manifest, "is missing, yet the folder holds"),
    "journal of another generation": (_foreign_journal, ":1: belongs to generation 4242"),
}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_a_damaged_folder_is_one_line_naming_the_file(
    written: Path, tmp_path: Path, case: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(written, data)
    damage, problem = DAMAGES[case]
    named = damage(data)
    for args in (("tickets", "list"), ("chat",)):
        result = yishiting(*args, "--data", str(data), stdin="/help\n")
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"yishiting: {named}"), lines[0]
        assert re.search(problem, lines[0]), lines[0]
        assert "(no tickets)" not in result.stdout
    doctor = yishiting("doctor", "--data", str(data))
    assert doctor.returncode == 1 and f"data      FAILED  {named}" in doctor.stdout


# ---- a read-only data folder ------------------------------------------------------------------


@pytest.fixture
def read_only_folder(written: Path, tmp_path: Path) -> Iterator[Path]:
    """The folder on a read-only mount (as root, where mounting works) or read-only by mode."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0:
        data = mount / "data"
        shutil.copytree(written, data)
        data.chmod(0o555)
        yield data
        data.chmod(0o755)
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("root cannot be refused by file modes, and no tmpfs can be mounted here")
    try:
        shutil.copytree(written, mount / "data")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount / "data"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_data_folder_is_named_by_the_bot_and_by_doctor(read_only_folder: Path) -> None:
    bot = yishiting("chat", "--data", str(read_only_folder), stdin="/help\n")
    assert bot.returncode == 2 and "Traceback" not in bot.stderr, bot.stderr
    (line,) = bot.stderr.strip().splitlines()
    assert line.startswith(f"yishiting: {read_only_folder}") and "cannot write" in line, line
    doctor = yishiting("doctor", "--data", str(read_only_folder))
    assert doctor.returncode == 1, doctor.stdout
    assert f"data      FAILED  {read_only_folder}/: not writable" in doctor.stdout
    listing = yishiting("tickets", "list", "--data", str(read_only_folder))  # reading works
    assert listing.returncode == 0 and listing.stdout.startswith("#1001"), listing.stderr
