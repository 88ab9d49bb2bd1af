"""Writing to the terminal for the command line (library code never prints)."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    """One block of text on stdout, flushed at once (scripts read it as it comes)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
