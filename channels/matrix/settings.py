"""The Matrix adapter's settings and secrets: MatrixSettings and the sync-token stores.

The password or access token come only from the environment (`settings_from_env`), never from a
settings file, and are kept out of log records by the one filter of `channels.redaction`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

NAME = "matrix"
PASSWORD_ENV = "YISHITING_MATRIX_PASSWORD"
ACCESS_TOKEN_ENV = "YISHITING_MATRIX_ACCESS_TOKEN"


class TokenStore(Protocol):
    """Where the sync position survives restarts (the bot backs it with its store)."""

    def load(self) -> str | None: ...

    def save(self, token: str) -> None: ...


class MemoryTokenStore:
    """A TokenStore for tests and one-off runs: forgotten when the process ends."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token

    def load(self) -> str | None:
        return self.token

    def save(self, token: str) -> None:
        self.token = token


class FileTokenStore:
    """A TokenStore in one small file, replaced atomically (a crash leaves old or new)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def save(self, token: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(token)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class MatrixSettings(BaseModel):
    """The adapter's own settings; the password or access token comes from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    homeserver: str  # https://matrix.example.org
    user_id: str  # @yishiting:example.org
    password: SecretStr | None = None  # from YISHITING_MATRIX_PASSWORD
    access_token: SecretStr | None = None  # from YISHITING_MATRIX_ACCESS_TOKEN
    device_id: str | None = None  # reuse one device across restarts (logged at the first login)
    device_name: str = "yishiting"
    display_name: str | None = None  # set on the bot's profile at start when different
    # Whose invitations are accepted: user ids or ":server" suffixes; None = the bot's own server.
    allowed_inviters: tuple[str, ...] | None = None
    sync_timeout_ms: int = Field(default=30_000, ge=0)  # /sync long-poll
    request_timeout: float = Field(default=30, gt=0)  # seconds for any other request
    max_retry_after: float = Field(default=5, ge=0)  # honour an M_LIMIT_EXCEEDED this short once
    reconnect_min: float = Field(default=1, gt=0)  # backoff after a failed /sync, doubling …
    reconnect_max: float = Field(default=60, gt=0)  # … up to this

    @model_validator(mode="after")
    def _check(self) -> MatrixSettings:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", self.homeserver):
            raise ValueError("homeserver must be an http(s) URL like https://matrix.example.org")
        if not re.fullmatch(r"@[^:\s]+:\S+", self.user_id):
            raise ValueError("user_id must look like @name:server")
        if (self.password is None) == (self.access_token is None):
            raise ValueError(
                f"set exactly one of {PASSWORD_ENV} or {ACCESS_TOKEN_ENV} in the environment"
            )
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must not be below reconnect_min")
        return self

    @property
    def server(self) -> str:
        return self.user_id.partition(":")[2]


def settings_from_env(values: dict[str, Any], environ: dict[str, str]) -> MatrixSettings:
    """MatrixSettings from the `matrix:` settings section plus the secret from the environment."""
    fields = dict(values)
    for key in ("password", "access_token"):
        if key in fields:
            raise ValueError(f"{key} comes from the environment only, never from a settings file")
    for key, env in (("password", PASSWORD_ENV), ("access_token", ACCESS_TOKEN_ENV)):
        if environ.get(env):
            fields[key] = environ[env]
    return MatrixSettings.model_validate(fields)


__all__ = [
    "ACCESS_TOKEN_ENV",
    "NAME",
    "PASSWORD_ENV",
    "FileTokenStore",
    "MatrixSettings",
    "MemoryTokenStore",
    "TokenStore",
    "settings_from_env",
]
