"""Derived data kept as marshal files in the temp dir, keyed by the identity of its source."""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import tempfile
from typing import Any

log = logging.getLogger(__name__)


def cache_path(name: str, source: str, version: str) -> str:
    """A temp-dir path for data derived from file `source`, keyed by `version` and the
    file's size and mtime (so a changed source never meets a stale cache)."""
    try:
        stat = os.stat(source)
        stamp = f"{version}:{source}:{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        stamp = f"{version}:{source}:unknown"
    key = hashlib.md5(stamp.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"yishiting-{name}-{key}.cache")


def read_cache(path: str) -> Any:
    """The cached value, or None when the file is missing or unreadable."""
    try:
        with open(path, "rb") as fh:
            return marshal.load(fh)
    except (OSError, ValueError, TypeError, EOFError):
        return None


def write_cache(path: str, value: Any) -> None:
    """Write atomically; a cache that cannot be written is only logged."""
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".yishiting-")
        with os.fdopen(fd, "wb") as fh:
            marshal.dump(value, fh)
        os.replace(tmp, path)
    except (OSError, ValueError):
        log.debug("could not write the cache %s", path, exc_info=True)
