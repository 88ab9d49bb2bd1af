"""The deployment's signing key (kept in the data folder, mode 0600) and HMAC-signed tokens."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "web.key"
_KEY_BYTES = 32


def load_key(data_dir: Path) -> bytes:
    """The key in `data_dir/web.key`, created once (readable by its owner only).

    Made without the data folder's lock: the command line signs links while the bot runs.
    Two processes creating it at once agree on the first one written.
    """
    path = data_dir / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_hex(_KEY_BYTES).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    return bytes.fromhex(text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Tokens `field.field….signature` whose fields nobody without the key can forge; each
    token has a purpose, so a session cookie is no login link and the other way round."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{body}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, *fields: str) -> str:
        body = ".".join(_b64(f.encode()) for f in fields)
        return f"{body}.{self._mac(purpose, body)}"

    def open(self, purpose: str, token: str, count: int) -> list[str] | None:
        """The `count` fields of a token signed for `purpose`, or None for anything else."""
        body, _, mac = token.rpartition(".")
        if len(token) > 2000 or not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        parts = body.split(".")
        if len(parts) != count:
            return None
        try:
            return [_unb64(p).decode() for p in parts]
        except (ValueError, UnicodeDecodeError):
            return None

    def digest(self, purpose: str, text: str) -> str:
        """A short keyed digest (a form's CSRF token for a session)."""
        return self._mac(purpose, text)[:32]
