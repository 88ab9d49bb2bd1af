"""An attachment uploaded in the FAQ entry editor: checked, then kept beside faq.yaml.

Accepted: a picture (PNG, JPEG, GIF, WebP) or a PDF, as its first bytes show (the browser's
content type and the file's name are not trusted), of at most `MAX_BYTES`. It is named by
what it holds (the start of its SHA-256, and the suffix of its kind), never by the name or
path the browser sent, and written into `images/` in faq.yaml's folder (where the README's
example keeps attachments) in one atomic step. Its path relative to faq.yaml then goes into
the entry's attachments as a typed one does. The same file uploaded twice is one file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from aiohttp.web import FileField

from bot.web.entry_checks import Problem

MAX_BYTES = 5 * 1024 * 1024
MAX_MB = MAX_BYTES // (1024 * 1024)
FOLDER = "images"
FIELD = "upload"

_SIGNATURES: tuple[tuple[Callable[[bytes], bool], str], ...] = (
    (lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"), "png"),
    (lambda head: head.startswith(b"\xff\xd8\xff"), "jpg"),
    (lambda head: head[:6] in (b"GIF87a", b"GIF89a"), "gif"),
    (lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", "webp"),
    (lambda head: head.startswith(b"%PDF-"), "pdf"),
)


@dataclass(frozen=True)
class Upload:
    """An accepted file: its bytes and the kind its first bytes show."""

    data: bytes
    suffix: str

    @property
    def path(self) -> str:
        """Where it is kept, relative to faq.yaml (as an entry's attachments are written)."""
        digest = hashlib.sha256(self.data).hexdigest()[:20]
        return f"{FOLDER}/{digest}.{self.suffix}"


def read_upload(value: object) -> Upload | Problem | None:
    """The posted file field: None when no file was chosen, else the accepted upload or
    what is wrong with it."""
    if not isinstance(value, FileField):
        return None  # no file chosen: the browser sends an empty, nameless part
    name = unquote(value.filename)  # clients may send "../x" as "..%2Fx"
    if _holds_a_path(name):
        return Problem("web_error_upload_name", {"name": name})
    data = value.file.read(MAX_BYTES + 1)
    if not data:
        return Problem("web_error_upload_empty", {"name": name})
    if len(data) > MAX_BYTES:
        return Problem("web_error_upload_too_big", {"mb": MAX_MB})
    suffix = next((s for matches, s in _SIGNATURES if matches(data[:16])), None)
    if suffix is None:
        return Problem("web_error_upload_type")
    return Upload(data, suffix)


def _holds_a_path(name: str) -> bool:
    """A name with a folder in it ('../x.png', 'C:\\x.png', 'a/b.png'): browsers send a bare
    name, so anything else is refused rather than guessed at."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return len(parts) != 1 or parts[0] in (".", "..") or ":" in name


def keep(upload: Upload, faq_folder: Path) -> bool:
    """Write the file beside faq.yaml (fsynced, then renamed into place); False when the
    same file was there already (so a failed save must not remove it)."""
    target = faq_folder / upload.path
    if target.is_file():
        return False
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(upload.data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return True


def forget(upload: Upload, faq_folder: Path) -> None:
    """Remove a file kept for a save that was then refused."""
    (faq_folder / upload.path).unlink(missing_ok=True)
