"""The FAQ's history of edits made on the web console: who, when, which entry, via "web".

With an edit that uploaded an attachment, its path too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.store.repos import RecordRepo


class FaqEdits(RecordRepo):
    """One record per saved edit."""

    table: ClassVar[str] = "faq_edits"

    def record(
        self, entry_id: str, who: str, name: str, at: datetime, via: str, *, uploaded: str = ""
    ) -> None:
        """`uploaded`: the path of an attachment uploaded with the edit, as the entry has it."""
        doc = {
            "entry": entry_id,
            "who": who,
            "name": name,
            "at": at.isoformat(timespec="seconds"),
            "via": via,
        }
        self.add(doc | {"uploaded": uploaded} if uploaded else doc)

    def of_entry(self, entry_id: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self.where("entry", entry_id)]
