"""The FAQ's history of edits made on the web console: who, when, which entry, via "web".

With an edit that uploaded an attachment, its path too.  A save is recorded as begun before
faq.yaml is replaced and finished after, so a bot killed between the two is neither silent
about an edit that is in the file nor claims one that is not: at the next start `settle`
compares faq.yaml with the file the save began from (the bot is the file's only writer).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from bot.store.repos import RecordRepo

SAVING, SAVED, UNSAVED = "saving", "saved", "unsaved"


def file_digest(path: Path) -> str:
    """faq.yaml's content, summarised: what a save under way began from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FaqEdits(RecordRepo):
    """One record per edit: begun, then saved (or not, when the file refused it)."""

    table: ClassVar[str] = "faq_edits"

    def begin(
        self,
        entry_id: str,
        who: str,
        name: str,
        at: datetime,
        via: str,
        *,
        file_before: str,
        uploaded: str = "",
    ) -> int:
        """An edit about to be written over the file whose digest is `file_before`;
        `uploaded`: the path of an attachment uploaded with it, as the entry has it."""
        doc = {
            "entry": entry_id,
            "who": who,
            "name": name,
            "at": at.isoformat(timespec="seconds"),
            "via": via,
            "state": SAVING,
            "file_before": file_before,
        }
        return self.add(doc | {"uploaded": uploaded} if uploaded else doc)

    def end(self, record_id: int, *, saved: bool) -> None:
        doc = self.get(record_id)
        if doc is not None:
            doc.pop("file_before", None)
            self.save(record_id, doc | {"state": SAVED if saved else UNSAVED})

    def settle(self, file_now: str) -> int:
        """After a restart: each save still under way was written when the file is no
        longer the one it began from.  The number of saves settled."""
        pending = self.where("state", SAVING)
        for record_id, doc in pending:
            self.end(record_id, saved=doc.get("file_before") != file_now)
        return len(pending)

    def of_entry(self, entry_id: str) -> list[dict[str, Any]]:
        """The entry's saved edits, oldest first."""
        return [
            doc
            for _, doc in self.where("entry", entry_id)
            if doc.get("state", SAVED) == SAVED  # records from before states were saved
        ]
