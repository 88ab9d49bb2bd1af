"""A staff member's step on the web, taken as the same command in chat would be."""

from __future__ import annotations

from bot.models import Address, ChatKind, Incoming, Outgoing, Person
from bot.web.console import Console
from bot.web.render import Viewer

WEB = "web"  # the channel name a ticket's history shows for steps taken on the console


async def act_as(
    console: Console, viewer: Viewer, text: str = "", action: str | None = None
) -> list[Outgoing]:
    """Send `text` ('/claim 1001') or press the button `action` as the viewer, through the
    chat core; the bot's answers to the viewer, buttons and all.

    The message comes from the viewer's own account (their role and name as in chat) in a
    private "chat" on the web: the core records a step as done via "web", relays to the
    residents and announces it to the staff rooms through the outbox, as for a chat command.
    """
    channel, _, user_id = viewer.key.partition(":")
    incoming = Incoming(
        chat=Address(WEB, viewer.key),
        sender=Person(channel, user_id, viewer.name),
        chat_kind=ChatKind.PRIVATE,
        text=text,
        action=action,
        claimed_role=viewer.role,  # honoured only on a trusted channel (the local console)
    )
    return await console.act(incoming)


async def run_command(console: Console, viewer: Viewer, command: str) -> str:
    """`act_as` for a command whose answer is read, not pressed: its text."""
    return "\n".join(out.text for out in await act_as(console, viewer, command))
