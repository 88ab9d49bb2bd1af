"""tickets list/show/export and faq suggestions/accept, as subprocesses on a real data folder."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import yaml

from tests.cli_helpers import yishiting
from tests.conftest import REPO

STORY = """\
:in 丰仓小区群
/report 3号楼后头的路灯黑了好几天了
:dm
完成
双色球昨晚开的啥号？
:as staff 朱书记
:in 工作人员群
/claim 1001
/answer 1002 anti-fraud
"""


def _make_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    result = yishiting("chat", "--data", str(data), stdin=STORY)
    assert result.returncode == 0, result.stderr
    assert "你已认领 #1001" in result.stdout
    return data


def test_tickets_list_show_and_csv(tmp_path: Path) -> None:
    data = _make_data(tmp_path)
    listing = yishiting("tickets", "list", "--data", str(data))
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("#1001  claimed") and "丰仓小区" in lines[0]
    assert lines[1].startswith("#1002  resolved")
    only_open = yishiting("tickets", "list", "--status", "claimed", "--data", str(data))
    assert len(only_open.stdout.splitlines()) == 1
    bad = yishiting("tickets", "list", "--status", "lost", "--data", str(data))
    assert bad.returncode == 2 and "unknown status 'lost'" in bad.stderr

    show = yishiting("tickets", "show", "1001", "--data", str(data))
    assert "朱书记 (console) claim" in show.stdout
    missing = yishiting("tickets", "show", "999", "--data", str(data))
    assert missing.returncode == 2 and "no ticket #999" in missing.stderr

    out = tmp_path / "tickets.csv"
    export = yishiting("tickets", "export", "--csv", "--out", str(out), "--data", str(data))
    assert export.returncode == 0, export.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 Chinese correctly
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == ["1001", "1002"]
    assert rows[0]["text"] == "3号楼后头的路灯黑了好几天了" and "claim" in rows[0]["history"]


def test_faq_suggestion_accepted_into_faq_yaml_keeping_comments(tmp_path: Path) -> None:
    data = _make_data(tmp_path)
    listing = yishiting("faq", "suggestions", "--data", str(data))
    assert "anti-fraud" in listing.stdout and "双色球昨晚开的啥号？" in listing.stdout
    suggestion_id = listing.stdout.split()[0]

    faq = tmp_path / "faq.yaml"
    shutil.copy(REPO / "faq.yaml", faq)
    before = faq.read_text(encoding="utf-8")
    accept = yishiting("faq", "accept", suggestion_id, "--faq", str(faq), "--data", str(data))
    assert accept.returncode == 0, accept.stderr
    after = faq.read_text(encoding="utf-8")
    comments = [ln for ln in before.splitlines() if ln.lstrip().startswith("#")]
    assert comments == [ln for ln in after.splitlines() if ln.lstrip().startswith("#")]
    entries = yaml.safe_load(after)["entries"]
    assert [e["id"] for e in entries] == [e["id"] for e in yaml.safe_load(before)["entries"]]
    anti_fraud = next(e for e in entries if e["id"] == "anti-fraud")
    assert anti_fraud["questions"][-1] == "双色球昨晚开的啥号？"
    assert yishiting("faq", "suggestions", "--data", str(data)).stdout.strip() == (
        "(no suggestions)"
    )
    again = yishiting("faq", "accept", suggestion_id, "--faq", str(faq), "--data", str(data))
    assert again.returncode == 2 and "no pending suggestion" in again.stderr
