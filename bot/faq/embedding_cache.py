"""Sentence embeddings kept on disk, keyed by model, prefix and text.

One file per model and prefix (`query` / `passage`) in the cache folder holds the texts'
keys (128-bit BLAKE2b of the text) and their vectors as float16, with a checksum over the
whole file.  A file that is short, damaged or for another model is detected on reading and
treated as empty (and so rebuilt); writes go to a temporary file that replaces the old one
atomically, under an exclusive lock, after merging what another process wrote meanwhile, so
the bot and `yishiting faq eval` can share the folder.

Every vector handed out has been through float16, fresh or cached, so a warm cache gives the
same figures as a cold one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

CACHE_ENV = "YISHITING_CACHE_DIR"
MAGIC = b"YSTEMB01"
KEY_BYTES = 16
DIGEST_BYTES = 16
# Rows kept per file: beyond this the rows the current build did not ask for are dropped,
# oldest first (a 10,000-entry FAQ needs about 60,000; float16 rows of 384 take 768 bytes).
MAX_ROWS = 250_000
# Texts per call to the model: small, because a live message waits for the model while a
# background build holds it (16 texts are a few tenths of a second).
BATCH = 16
SAVE_EVERY = 2048

Progress = Callable[[int, int], None]
Vectors = NDArray[np.float32]


def default_cache_dir() -> Path:
    """$YISHITING_CACHE_DIR, else $XDG_CACHE_HOME/yishiting, else ~/.cache/yishiting."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "yishiting"


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).digest()


class EmbeddingCache:
    """The vectors of one model for both prefixes; `vectors` embeds only what is missing."""

    def __init__(self, folder: Path, model: str, dim: int) -> None:
        self.folder = folder
        self.model = model
        self.dim = dim
        self._memory: dict[str, dict[bytes, NDArray[np.float16]]] = {}
        self._stamps: dict[str, tuple[int, int] | None] = {}

    def path(self, kind: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model)
        return self.folder / f"embeddings-{safe}-{kind}.bin"

    def forget(self) -> None:
        """Drop the rows held in memory (read again from the file when next needed)."""
        self._memory.clear()
        self._stamps.clear()

    def missing(self, texts: Sequence[str], kind: str) -> int:
        """How many distinct texts are not in the cache yet."""
        known = self._load(kind)
        return len({k for k in map(text_key, texts) if k not in known})

    def vectors(
        self,
        texts: Sequence[str],
        kind: str,
        embed: Callable[[list[str]], Vectors],
        progress: Progress | None = None,
    ) -> Vectors:
        """One float32 row per text, from the cache or embedded now (then saved)."""
        known = self._load(kind)
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in known and key not in missing:
                missing[key] = text
        items = list(missing.items())
        wanted = set(keys)
        # saved every SAVE_EVERY texts, so a build that is stopped keeps most of its work
        for start in range(0, len(items), SAVE_EVERY):
            part = items[start : start + SAVE_EVERY]
            report = None if progress is None else _Offset(progress, start, len(items))
            fresh = self._embed(part, embed, report)
            known.update(fresh)
            self._save(kind, fresh, wanted)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = known[key]
        return out

    def _embed(
        self,
        items: list[tuple[bytes, str]],
        embed: Callable[[list[str]], Vectors],
        progress: Progress | None,
    ) -> dict[bytes, NDArray[np.float16]]:
        fresh: dict[bytes, NDArray[np.float16]] = {}
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            vecs = np.asarray(embed([t for _, t in chunk]), dtype=np.float32)
            if vecs.shape != (len(chunk), self.dim) or not np.isfinite(vecs).all():
                raise ValueError(f"the model returned vectors of shape {vecs.shape}")
            for (key, _), vec in zip(chunk, vecs.astype(np.float16), strict=True):
                fresh[key] = vec
            if progress is not None:
                progress(min(start + BATCH, len(items)), len(items))
        return fresh

    # ---- the file ------------------------------------------------------------------------

    def _stamp(self, kind: str) -> tuple[int, int] | None:
        try:
            st = self.path(kind).stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load(self, kind: str) -> dict[bytes, NDArray[np.float16]]:
        """The rows in memory, re-read when the file changed since (another process)."""
        stamp = self._stamp(kind)
        if kind not in self._memory or stamp != self._stamps.get(kind):
            self._memory[kind] = read_rows(self.path(kind), self.model, kind, self.dim)
            self._stamps[kind] = stamp
        return self._memory[kind]

    def _save(self, kind: str, fresh: dict[bytes, NDArray[np.float16]], wanted: set[bytes]) -> None:
        path = self.path(kind)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with _locked(path.with_suffix(".lock")):
                rows = read_rows(path, self.model, kind, self.dim)  # what others added meanwhile
                rows.update(fresh)
                if len(rows) > MAX_ROWS:
                    keep = [k for k in rows if k in wanted]
                    drop = len(rows) - MAX_ROWS
                    old = [k for k in rows if k not in wanted][drop:]
                    rows = {k: rows[k] for k in [*old, *keep]}
                write_rows(path, self.model, kind, self.dim, rows)
            self._memory[kind] = rows
            self._stamps[kind] = self._stamp(kind)
        except OSError as exc:
            log.warning("could not save embeddings to %s: %s", path, exc)


@dataclass(frozen=True)
class _Offset:
    """Progress of one part of a build, reported as progress of the whole."""

    progress: Progress
    before: int
    total: int

    def __call__(self, done: int, _: int) -> None:
        self.progress(self.before + done, self.total)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` where the platform has one."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: atomic replace alone
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _header(model: str, kind: str, dim: int, count: int) -> bytes:
    meta = json.dumps({"model": model, "kind": kind, "dim": dim, "count": count}).encode()
    return MAGIC + struct.pack("<I", len(meta)) + meta


def write_rows(
    path: Path, model: str, kind: str, dim: int, rows: dict[bytes, NDArray[np.float16]]
) -> None:
    """Write all rows to a temporary file, flush it to disk and move it into place."""
    keys = b"".join(rows)
    matrix = (
        np.stack(list(rows.values())).astype("<f2") if rows else np.empty((0, dim), dtype="<f2")
    )
    body = _header(model, kind, dim, len(rows)) + keys + matrix.tobytes()
    digest = hashlib.blake2b(body, digest_size=DIGEST_BYTES).digest()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp's 0600 would shut out another user
            fh.write(body)
            fh.write(digest)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_rows(path: Path, model: str, kind: str, dim: int) -> dict[bytes, NDArray[np.float16]]:
    """The rows of a cache file; empty (with a warning) when it is damaged or foreign."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("embedding cache %s unreadable, rebuilding: %s", path, exc)
        return {}
    problem = _check(data, model, kind, dim)
    if problem:
        log.warning("embedding cache %s %s; rebuilding it", path, problem)
        return {}
    (size,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4 + size
    count = json.loads(data[len(MAGIC) + 4 : start])["count"]
    keys_end = start + count * KEY_BYTES
    matrix = np.frombuffer(data, dtype="<f2", count=count * dim, offset=keys_end).reshape(
        count, dim
    )
    return {
        data[start + i * KEY_BYTES : start + (i + 1) * KEY_BYTES]: matrix[i] for i in range(count)
    }


def _check(data: bytes, model: str, kind: str, dim: int) -> str:
    """Why the file cannot be used, or '' when it can."""
    if len(data) < len(MAGIC) + 4 + DIGEST_BYTES or not data.startswith(MAGIC):
        return "is not an embedding cache"
    body, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if hashlib.blake2b(body, digest_size=DIGEST_BYTES).digest() != digest:
        return "is damaged (checksum)"
    (size,) = struct.unpack_from("<I", data, len(MAGIC))
    try:
        meta = json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + size])
        count = int(meta["count"])
    except (ValueError, KeyError, TypeError):
        return "has a damaged header"
    if (meta.get("model"), meta.get("kind"), meta.get("dim")) != (model, kind, dim):
        return "belongs to another model"
    if len(body) != len(MAGIC) + 4 + size + count * (KEY_BYTES + 2 * dim):
        return "has the wrong length"
    return ""
