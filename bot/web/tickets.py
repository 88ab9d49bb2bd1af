"""Tickets (`/tickets`, `/tickets/N`): the filtered list, a ticket's thread and steps, CSV.

A step on the web is the same command as in chat, taken through the chat core.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.desk.export import export_csv
from bot.desk.repo import TicketRepo
from bot.desk.search import TicketFilter, find_tickets
from bot.desk.tickets import ACTIVE, Status, Ticket
from bot.web.acting import run_command
from bot.web.console import Console
from bot.web.forms import FormError, text_field

PAGE = 100
EXPORT_LIMIT = 200_000
# The form's step -> (the chat command, whether it needs text)
STEPS = {
    "claim": ("claim", False),
    "reply": ("reply", True),
    "resolve": ("resolve", False),
    "note": ("note", True),
    "assign": ("assign", True),
    "reopen": ("reopen", False),
    "merge": ("merge", True),
}


def _filter(request: web.Request) -> TicketFilter:
    q = request.query
    return TicketFilter(
        status=q.get("status", "active")[:20],
        compound=q.get("compound", "")[:100],
        category=q.get("category", "")[:100],
        assignee=q.get("assignee", "")[:200],
        text=q.get("text", "")[:200],
    )


def routes(console: Console) -> list[web.RouteDef]:
    repo = console.core.store.repo(TicketRepo)

    def staff_names() -> list[tuple[str, str]]:
        people = console.core.conversation.people
        keys = sorted(set(console.settings.roles.staff) | set(console.settings.roles.admins))
        return [(k, people.name(k) or k) for k in keys]

    async def listing(request: web.Request) -> web.StreamResponse:
        viewer = console.viewer(request)
        wanted = _filter(request)
        count, exact, shown = await console.chat_first.off_loop(find_tickets, repo, wanted, PAGE)
        return await console.renderer.page(
            viewer.lang,
            "tickets.html",
            viewer,
            wanted=wanted,
            count=count,
            exact=exact,
            tickets=shown,
            statuses=[s.value for s in Status],
            compounds=list(console.core.scheduling.compounds.names),
            categories=[c.name for c in console.settings.categories],
            staff=staff_names(),
            query=request.query_string,
        )

    async def export(request: web.Request) -> web.StreamResponse:
        def csv_of_found() -> str:
            _, _, found = find_tickets(repo, wanted, EXPORT_LIMIT)
            return export_csv(sorted(found, key=lambda t: t.number), private_ids=False)

        wanted = _filter(request)
        body = await console.chat_first.off_loop(csv_of_found)
        stamp = console.core.conversation.clock().strftime("%Y%m%d-%H%M")
        return web.Response(
            text=body,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="tickets-{stamp}.csv"'},
        )

    async def ticket_page(
        request: web.Request, ticket: Ticket, said: str = "", status: int = 200
    ) -> web.Response:
        viewer = console.viewer(request)
        now = console.core.conversation.clock()
        deadline = console.core.scheduling.sla.deadline(ticket)
        return await console.renderer.page(
            viewer.lang,
            "ticket.html",
            viewer,
            status=status,
            ticket=ticket,
            active=ticket.status in ACTIVE,
            overdue=deadline is not None and deadline <= now,
            deadline=deadline,
            said=said,
            staff=staff_names(),
            when=_when,
        )

    def found(request: web.Request) -> Ticket:
        number = request.match_info["number"]
        ticket = repo.get(int(number)) if number.isdigit() and len(number) < 10 else None
        if ticket is None:
            raise web.HTTPNotFound(text="no such ticket")
        return ticket

    async def show(request: web.Request) -> web.StreamResponse:
        return await ticket_page(request, found(request))

    async def step(request: web.Request) -> web.StreamResponse:
        ticket = found(request)
        name = request.match_info["step"]
        if name not in STEPS:
            raise web.HTTPNotFound(text="no such step")
        command, needs_text = STEPS[name]
        form = await request.post()
        try:
            text = text_field(form, "text", console.settings.max_text_chars)
        except FormError as exc:
            viewer = console.viewer(request)
            said = console.core.conversation.t(viewer.lang, exc.key, limit=exc.limit)
            return await ticket_page(request, ticket, said, status=400)
        if needs_text and not text:
            viewer = console.viewer(request)
            said = console.core.conversation.t(viewer.lang, "web_text_needed")
            return await ticket_page(request, ticket, said, status=400)
        said = await run_command(
            console, console.viewer(request), f"/{command} {ticket.number} {text}".strip()
        )
        return await ticket_page(request, found(request), said)

    return [
        web.get("/tickets", listing),
        web.get("/tickets.csv", export),
        web.get(r"/tickets/{number}", show),
        web.post(r"/tickets/{number}/{step}", step),
    ]


def _when(at: str) -> str:
    """'12-05 14:03' from a stored ISO time."""
    return datetime.fromisoformat(at).strftime("%m-%d %H:%M")
