"""Outbound Matrix message content: text split to fit an event, numbered options, HTML, images.

Pure functions: nothing here talks to the homeserver.
"""

from __future__ import annotations

import html
from typing import Any

from bot.models import Button
from channels.splitting import split_lines

# One event may be 65,536 bytes of JSON; nio escapes non-ASCII (6 bytes a character) and the text
# goes out twice (body + formatted_body): 4,000 characters a message stays well inside.
MAX_TEXT = 4000


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line boundaries into chunks of at most `limit` characters."""
    return split_lines(text, limit)


def render_options(buttons: tuple[Button, ...]) -> str:
    """Buttons as numbered lines ("1. 👍 有用"): what Matrix shows instead of buttons."""
    return "\n".join(f"{i}. {b.label}" for i, b in enumerate(buttons, 1))


def html_body(text: str) -> str:
    """Plain text as the HTML of `formatted_body`: escaped, line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def text_content(
    text: str,
    reply_to: str | None,
    *,
    notice: bool = True,
    mention: str | None = None,
    thread: str | None = None,
) -> dict[str, Any]:
    """A message with its HTML, as a reply to `reply_to` when given.

    Matrix's default push rules never notify for m.notice (.m.rule.suppress_notices): what
    must reach a person is an m.text, and `m.mentions` names who must see it (`mention`, the
    person of a direct chat) or, empty, says it mentions nobody.
    """
    content: dict[str, Any] = {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html_body(text),
        "m.mentions": {"user_ids": [mention]} if mention else {},
    }
    if thread:  # in the thread; the in-reply-to is what clients without threads show
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": not reply_to,
            "m.in_reply_to": {"event_id": reply_to or thread},
        }
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def image_content(url: str, reply_to: str | None) -> dict[str, Any]:
    """An m.image of media already on the homeserver (mxc://), as a reply when given."""
    content: dict[str, Any] = {"msgtype": "m.image", "body": "image", "url": url}
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def media_content(kind: str, url: str, reply_to: str | None) -> dict[str, Any]:
    """A resident's photo, voice message or file (mxc://) passed on, as a reply when given."""
    if kind == "photo":
        return image_content(url, reply_to)
    content: dict[str, Any] = (
        {
            "msgtype": "m.audio",
            "body": "voice",
            "url": url,
            "org.matrix.msc1767.audio": {},
            "org.matrix.msc3245.voice": {},
        }
        if kind == "voice"
        else {"msgtype": "m.file", "body": "file", "url": url}
    )
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


__all__ = [
    "MAX_TEXT",
    "html_body",
    "image_content",
    "media_content",
    "render_options",
    "split_text",
    "text_content",
]
