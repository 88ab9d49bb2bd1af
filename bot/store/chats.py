"""What the store knows of chats as places: whether the bot can write there, where they moved.

A group moves when its network gives it a new id (a Telegram group that became a supergroup).

Reachability is learnt, never guessed: a chat is unreachable when the network said so (the
person blocked the bot, never started a private chat with it, the bot left or was removed
from the group) and reachable again when the person writes to the bot privately or the bot
is added back. A chat the bot knows nothing about is "unknown".
"""

from __future__ import annotations

from typing import Any

from bot.models import Address
from bot.store.journal import JournalDB, JournalTable

REACHABLE, UNREACHABLE = "reachable", "unreachable"


def chat_key(address: Address) -> str:
    """The key of a chat whatever thread or topic inside it."""
    return str(address.room)


class ChatStates:
    """Per chat ('channel:chat_id'): reachable or not and why; and moved chats, old → new."""

    def __init__(self, db: JournalDB) -> None:
        reach, moves = db.table("reach"), db.table("moves")
        assert isinstance(reach, JournalTable) and isinstance(moves, JournalTable)
        self._reach_table, self._moves_table = reach, moves
        self._reach: dict[str, tuple[int, dict[str, Any]]] = {}
        self._moves: dict[str, str] = {}
        self.reload({reach.name, moves.name})

    def reload(self, tables: set[str]) -> None:
        """Rebuild the indexes (at open, and after a failed write was undone)."""
        if self._reach_table.name in tables:
            self._reach = {
                str(doc["chat"]): (doc_id, doc)
                for doc_id, doc in self._reach_table.documents_containing((b"",))
            }
        if self._moves_table.name in tables:
            self._moves = {
                str(doc["chat"]): str(doc["to"])
                for _, doc in self._moves_table.documents_containing((b"",))
            }

    # ---- reachability --------------------------------------------------------------------

    def state(self, address: Address) -> str | None:
        """REACHABLE, UNREACHABLE, or None when nothing is known."""
        found = self._reach.get(chat_key(address))
        return str(found[1]["state"]) if found else None

    def unreachable_reason(self, address: Address) -> str | None:
        """Why the bot cannot write to `address` ("blocked", "never_started", "left"), or None."""
        found = self._reach.get(chat_key(address))
        if found is None or found[1]["state"] != UNREACHABLE:
            return None
        return str(found[1].get("reason") or UNREACHABLE)

    def mark(self, address: Address, state: str, reason: str, at: str) -> bool:
        """Record what the network said; writes (and returns True) only on a change."""
        key = chat_key(address)
        found = self._reach.get(key)
        if found is not None and found[1]["state"] == state and found[1]["reason"] == reason:
            return False
        fields = {"state": state, "reason": reason, "at": at}
        if found is None:
            doc = {"chat": key, **fields}
            self._reach[key] = (int(self._reach_table.insert(doc)), doc)
        else:
            doc_id, doc = found
            self._reach_table.update(fields, doc_ids=[doc_id])
            doc.update(fields)
        return True

    def unreachable(self) -> dict[str, str]:
        """Every chat known to be unreachable, with the reason."""
        return {
            key: str(doc.get("reason") or UNREACHABLE)
            for key, (_, doc) in self._reach.items()
            if doc["state"] == UNREACHABLE
        }

    # ---- moved chats ---------------------------------------------------------------------

    def moved(self, key: str) -> str | None:
        """Where the chat `key` ('telegram:-100500') went, following every move, or None."""
        seen: set[str] = set()
        current = key
        while current in self._moves and current not in seen:
            seen.add(current)
            current = self._moves[current]
        return None if current == key else current

    def current(self, address: Address) -> Address:
        """`address` as it is now: in the chat it moved to (same thread), if it moved."""
        to = self.moved(chat_key(address))
        if to is None:
            return address
        moved = Address.parse(to)
        return Address(moved.channel, moved.chat_id, address.thread)

    def former_keys(self, key: str) -> list[str]:
        """The keys the chat `key` had before it moved (a config may still name them)."""
        return [old for old in self._moves if self.moved(old) == key]

    def add_move(self, old: str, new: str) -> bool:
        """Record that chat `old` is now `new`; False when that was known (done once)."""
        if old == new or old in self._moves:
            return False
        self._moves_table.insert({"chat": old, "to": new})
        self._moves[old] = new
        return True
