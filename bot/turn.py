"""One incoming message with what the core worked out about it: role, language, addressing."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Address, Button, ChatKind, Incoming, Outgoing, Role


@dataclass(frozen=True)
class Turn:
    msg: Incoming
    role: Role
    lang: str
    addressed: bool

    @property
    def private(self) -> bool:
        return self.msg.chat_kind is ChatKind.PRIVATE

    @property
    def must_reply(self) -> bool:
        return self.private or self.addressed

    @property
    def sender_key(self) -> str:
        return self.msg.sender.key

    @property
    def sender_name(self) -> str:
        return self.msg.sender.display_name or self.msg.sender.user_id

    @property
    def private_address(self) -> Address:
        """The sender's private chat: by convention its id is the user's id on that network."""
        return Address(self.msg.sender.channel, self.msg.sender.user_id)

    def reply(
        self, text: str, buttons: tuple[Button, ...] = (), files: tuple[str, ...] = ()
    ) -> Outgoing:
        """An answer in this chat, as a reply to what was said (to the message whose button
        was pressed, for a button). In a group it is quiet: the asker is looking at it, and
        the neighbours' phones need not ring."""
        reply_to = self.msg.message_id
        if self.msg.action is not None and self.msg.reply_to_message_id:
            reply_to = self.msg.reply_to_message_id
        return Outgoing(
            self.msg.chat, text, buttons, reply_to, files=files, notice=not self.private
        )

    def addressed_copy(self) -> Turn:
        return Turn(self.msg, self.role, self.lang, addressed=True)
