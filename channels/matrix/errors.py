"""Matrix API calls and their errors: a short rate limit waited out once, failures as ChannelError.

nio does not retry an M_LIMIT_EXCEEDED (the client is configured so): a short ``retry_after`` is
honoured once, a long one becomes a retryable `ChannelError`. Transport errors are retryable; of
the Matrix error codes, those in `PERMANENT` are not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import ClientError
from nio import ErrorResponse  # type: ignore[import-untyped]

from channels.base import ChannelError

log = logging.getLogger(__name__)

TRANSPORT_ERRORS = (ClientError, OSError, TimeoutError)
# Error codes that will not go away by trying again (M_LIMIT_EXCEEDED, M_UNKNOWN and HTTP errors
# without a Matrix error code are treated as retryable).
PERMANENT = {
    "M_FORBIDDEN",
    "M_NOT_FOUND",
    "M_UNKNOWN_TOKEN",
    "M_MISSING_TOKEN",
    "M_BAD_JSON",
    "M_NOT_JSON",
    "M_TOO_LARGE",
    "M_INVALID_PARAM",
    "M_MISSING_PARAM",
    "M_UNRECOGNIZED",
    "M_USER_DEACTIVATED",
    "M_GUEST_ACCESS_FORBIDDEN",
    "M_INVALID_USERNAME",
    "M_UNSUPPORTED_ROOM_VERSION",
    "M_USER_IN_USE",
    "M_ROOM_IN_USE",
    "M_INVALID_ROOM_STATE",
    "M_EXCLUSIVE",
    "M_BAD_STATE",
}

R = TypeVar("R")


def rate_limited(resp: Any) -> bool:
    """Whether an error response is a rate limit (M_LIMIT_EXCEEDED or HTTP 429)."""
    status = getattr(getattr(resp, "transport_response", None), "status", None)
    return bool(resp.status_code == "M_LIMIT_EXCEEDED" or status == 429)


def channel_error(what: str, resp: Any) -> ChannelError:
    """An nio error response as a ChannelError, retryable unless the code is permanent."""
    code = resp.status_code
    message = f"matrix: {what}: {code or 'error'}: {resp.message}"
    if rate_limited(resp):
        return ChannelError(message, retryable=True)
    return ChannelError(message, retryable=code not in PERMANENT)


class ApiCall:
    """Makes one API call (``await call("what", client.method, *args)``) with that policy."""

    def __init__(self, max_retry_after: float) -> None:
        self.max_retry_after = max_retry_after  # seconds of M_LIMIT_EXCEEDED waited out once

    async def __call__(
        self, what: str, method: Callable[..., Awaitable[R]], *args: Any, **kw: Any
    ) -> R:
        """One API call: a short M_LIMIT_EXCEEDED is waited out once; errors become ChannelError."""
        for attempt in (1, 2):
            try:
                resp = await method(*args, **kw)
            except TRANSPORT_ERRORS as exc:
                raise ChannelError(
                    f"matrix: {what}: {type(exc).__name__}: {exc}", retryable=True
                ) from exc
            if isinstance(resp, ErrorResponse):
                wait = (resp.retry_after_ms or 0) / 1000
                if rate_limited(resp) and attempt == 1 and wait <= self.max_retry_after:
                    log.info("matrix: rate limited, waiting %.1f s", wait)
                    await asyncio.sleep(wait)
                    continue
                raise channel_error(what, resp)
            return resp
        raise AssertionError("unreachable")


__all__ = ["PERMANENT", "TRANSPORT_ERRORS", "ApiCall", "channel_error", "rate_limited"]
