"""Media an adapter may handle: local files the core chose (size-capped) and Matrix mxc URIs."""

from __future__ import annotations

import os
import re
import stat

from channels.base import ChannelError

MAX_FILE_BYTES = 10 * 1024 * 1024  # Telegram's limit for a photo upload
_MXC = re.compile(r"mxc://[A-Za-z0-9.:\[\]-]+/[A-Za-z0-9_-]+")


def is_mxc(ref: str) -> bool:
    """A Matrix content URI (`mxc://server/media_id`): the only image URL taken from users."""
    return _MXC.fullmatch(ref) is not None


def read_local_file(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, else a final ChannelError.

    Devices, FIFOs and folders are refused before anything is read, so a path such as
    /dev/zero can neither hang the bot nor fill its memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ChannelError(f"cannot read {path}: {exc.strerror}", retryable=False) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ChannelError(f"{path} is not a regular file", retryable=False)
        if info.st_size > limit:
            raise ChannelError(
                f"{path} has {info.st_size} bytes, more than {limit}", retryable=False
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ChannelError(f"{path} grew past {limit} bytes while read", retryable=False)
    return data
