"""`yishiting tickets list|show|export`: read-only views of the tickets, safe while the bot runs."""

from __future__ import annotations

import argparse
import sys

from bot.cli.output import say
from bot.compounds import Compounds
from bot.config import Settings
from bot.desk.export import export_csv
from bot.desk.repo import TicketRepo
from bot.desk.tickets import Status
from bot.errors import ConfigError
from bot.store.folder import Store


def tickets_list(store: Store, status: str | None, compound: str | None) -> list[str]:
    if status is not None and status not in {s.value for s in Status}:
        raise ConfigError(
            "--status", f"unknown status {status!r} (one of: {', '.join(s.value for s in Status)})"
        )
    rows = [
        t
        for t in store.repo(TicketRepo).all()
        if (status is None or t.status.value == status)
        and (compound is None or t.compound == compound)
    ]
    return [
        f"#{t.number}  {t.status.value:<11} {t.category:<10} {t.compound or '-':<8} "
        f"{' '.join(t.text.split())[:50]}"
        for t in sorted(rows, key=lambda t: t.number)
    ]


def ticket_show(store: Store, number: int) -> list[str]:
    ticket = store.repo(TicketRepo).get(number)
    if ticket is None:
        raise ConfigError(str(store.folder), f"no ticket #{number}")
    lines = [
        f"#{ticket.number} {ticket.status.value} · {ticket.kind} · {ticket.category} · "
        f"{ticket.compound or '-'}",
        ticket.text,
        "reporters: " + ", ".join(f"{r.name} ({r.key})" for r in ticket.reporters),
        f"assignee: {ticket.assignee_name or '-'}",
        f"origin: {ticket.origin}",
    ]
    lines += [f"  {e.at} {e.name} ({e.via}) {e.action} {e.text}".rstrip() for e in ticket.history]
    return lines


def tickets_csv(store: Store) -> str:
    """Every ticket as CSV (bot/desk/export.py), by number."""
    return export_csv(sorted(store.repo(TicketRepo).all(), key=lambda t: t.number))


def run(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.data_dir, read_only=True)
    try:
        if args.tickets_command == "list":
            wanted = args.compound
            if wanted is not None:  # as residents' tickets store it: 康樂小區 → 康乐小区
                wanted = Compounds(settings.compounds, settings.compound_aliases).name_of(wanted)
            lines = tickets_list(store, args.status, wanted)
            say("\n".join(lines) if lines else "(no tickets)")
        elif args.tickets_command == "show":
            say("\n".join(ticket_show(store, args.number)))
        elif args.out is not None:
            args.out.write_text(tickets_csv(store), encoding="utf-8")
        else:
            sys.stdout.write(tickets_csv(store))
    finally:
        store.close()
    return 0
