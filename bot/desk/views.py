"""How tickets read in chat: status names, short summaries and a ticket with its history."""

from __future__ import annotations

from bot.desk.tickets import Status, Ticket
from bot.i18n import Translator

PUBLIC_ACTIONS = frozenset(
    {"open", "claim", "reply", "resolve", "reopen", "reject", "merge", "answer", "close"}
)


def short(text: str, limit: int = 40) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TicketViews:
    """Renders tickets for staff (everything) and for residents (public events only)."""

    def __init__(self, translate: Translator) -> None:
        self.t = translate

    def status(self, lang: str, status: Status) -> str:
        return self.t(lang, f"status_{status.value}")

    def detail(self, lang: str, ticket: Ticket, internal: bool, viewer: str = "") -> str:
        """The ticket and its history; residents see only public events and their own name."""
        head = self.t(
            lang,
            "ticket_detail",
            number=ticket.number,
            status=self.status(lang, ticket.status),
            kind=self.t(lang, f"card_kind_{ticket.kind}"),
            category=ticket.category,
            compound=ticket.compound or self.t(lang, "unknown_compound"),
            text=ticket.text,
            reporters=self.t(lang, "list_separator").join(r.name for r in ticket.reporters)
            if internal
            else viewer,
            assignee=ticket.assignee_name or self.t(lang, "nobody"),
        )
        lines = [
            self.t(
                lang,
                "ticket_history_line",
                at=e.at[5:16].replace("T", " "),
                name=e.name if internal else "",
                action=self.t(lang, f"action_{e.action}"),
                text=f"：{short(e.text)}" if e.text else "",
            )
            for e in ticket.history
            if internal or e.action in PUBLIC_ACTIONS
        ]
        return "\n".join([head, *lines])
