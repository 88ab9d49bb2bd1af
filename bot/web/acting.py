"""A staff member's step on the web, taken as the same command in chat would be."""

from __future__ import annotations

from bot.models import Address, ChatKind, Incoming, Person
from bot.web.console import Console
from bot.web.render import Viewer

WEB = "web"  # the channel name a ticket's history shows for steps taken on the console


async def run_command(console: Console, viewer: Viewer, command: str) -> str:
    """Send `command` ('/claim 1001') as the viewer through the chat core; the bot's answer.

    The message comes from the viewer's own account (their role and name as in chat) in a
    private "chat" on the web: the core records the step as done via "web", relays to the
    residents and announces it to the staff rooms through the outbox, as for a chat command.
    """
    channel, _, user_id = viewer.key.partition(":")
    incoming = Incoming(
        chat=Address(WEB, viewer.key),
        sender=Person(channel, user_id, viewer.name),
        chat_kind=ChatKind.PRIVATE,
        text=command,
        claimed_role=viewer.role,  # honoured only on a trusted channel (the local console)
    )
    replies = await console.act(incoming)
    return "\n".join(out.text for out in replies)
