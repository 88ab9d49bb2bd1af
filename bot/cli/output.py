"""Writing to the terminal for the command line (library code never prints)."""

from __future__ import annotations

import re
import sys

# C0 and C1 control characters (ESC starts terminal escapes) but tab and newline, DEL, and
# the bidirectional overrides that make text read differently from what it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe for a terminal: control characters people typed (ESC[2J …) are dropped."""
    return _CONTROL.sub("", text)


def say(text: str) -> None:
    """One block of text on stdout, flushed at once (scripts read it as it comes).

    Residents' words reach the terminal here (ticket lists, the console chat): control
    characters are dropped so that no message can clear or rewrite the operator's screen.
    """
    sys.stdout.write(printable(text) + "\n")
    sys.stdout.flush()
