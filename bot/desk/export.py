"""Tickets as CSV for a spreadsheet: UTF-8 with a BOM, no cell that runs as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from bot.desk.tickets import Ticket

CSV_COLUMNS = [
    "number",
    "kind",
    "status",
    "category",
    "compound",
    "text",
    "reporters",
    "assignee",
    "created",
    "updated",
    "origin",
    "history",
]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_csv(tickets: Iterable[Ticket], *, private_ids: bool = True) -> str:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; no cell can
    be taken for a formula. Without `private_ids` a ticket from a resident's private chat
    shows "private" as its origin (the web console never shows those ids)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for t in tickets:
        writer.writerow([inert(cell) for cell in _csv_row(t, private_ids)])
    return "\ufeff" + out.getvalue()


def inert(cell: str | int) -> str | int:
    """A cell a spreadsheet would run as a formula (=HYPERLINK(…), +1, @SUM) starts with a
    quote instead, which spreadsheets show as text."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _origin(t: Ticket, private_ids: bool) -> str:
    if private_ids or not any(f"{r.channel}:{r.chat}" == t.origin for r in t.reporters):
        return t.origin
    return "private"


def _csv_row(t: Ticket, private_ids: bool) -> list[str | int]:
    history = " | ".join(f"{e.at} {e.name} {e.action} {e.text}".strip() for e in t.history)
    return [
        t.number,
        t.kind,
        t.status.value,
        t.category,
        t.compound,
        t.text,
        "; ".join(r.name for r in t.reporters),
        t.assignee_name,
        t.created,
        t.updated,
        _origin(t, private_ids),
        history,
    ]
