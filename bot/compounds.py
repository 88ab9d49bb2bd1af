"""Compound names: the compound a group chat belongs to, read from its title."""

from __future__ import annotations

import re


def compound_from_title(title: str) -> str:
    """'丰仓小区群' → '丰仓小区': a compound's group is usually named after it."""
    return re.sub(r"(业主|居民)?群$", "", title.strip())
