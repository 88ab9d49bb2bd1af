"""What residents attach to tickets besides text: photos, voice, files and map locations.

They are kept as platform references in a ticket's `attachments` (see bot.models.media_kind):
photos, voice messages and files are passed on to the staff rooms as they are; a map location
becomes a link in the text, since no network can send "geo:…" as media.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.models import media_kind

MAP_LINK = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def sendable(refs: Iterable[str]) -> tuple[str, ...]:
    """The references a network can pass on as media (every one but map locations)."""
    return tuple(ref for ref in refs if media_kind(ref)[0] != "geo")


def map_links(refs: Iterable[str]) -> list[str]:
    """A map link for each location among `refs`, latest last."""
    links = []
    for ref in refs:
        kind, raw = media_kind(ref)
        if kind == "geo":
            lat, _, lon = raw.partition(",")
            links.append(MAP_LINK.format(lat=lat, lon=lon))
    return links


def counts(refs: Iterable[str]) -> dict[str, int]:
    """How many of each kind ('photo', 'voice', 'file', 'geo') are among `refs`."""
    found: dict[str, int] = {}
    for ref in refs:
        kind = media_kind(ref)[0]
        found[kind] = found.get(kind, 0) + 1
    return found
