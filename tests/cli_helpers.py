"""Run the `yishiting` command line as a subprocess, the way a user does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from tests.conftest import REPO


def yishiting(
    *args: str, stdin: str = "", cwd: Path = REPO, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("YISHITING_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


class LiveBot:
    """`yishiting chat` running; lines go in one at a time, stdout is read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        self.out = ""
        self.err = ""
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=("out",), daemon=True),
            threading.Thread(target=self._read, args=("err",), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, which: str) -> None:
        stream = self.proc.stdout if which == "out" else self.proc.stderr
        assert stream is not None
        for line in stream:
            with self._changed:
                setattr(self, which, getattr(self, which) + line)
                self._changed.notify_all()

    def say(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n".join(lines) + "\n")
        self.proc.stdin.flush()

    def settle(self) -> str:
        """Wait until every line sent so far was handled; returns stdout from here on."""
        marker = f"#sync-{uuid.uuid4().hex[:8]}"
        start = len(self.out)
        self.say(f":as resident {marker}", ":who")
        self.wait_for(marker)
        return self.out[start:]

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in self.out:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no {needle!r} in:\n{self.out}\n--- stderr:\n{self.err}")
                self._changed.wait(min(left, 0.5))

    def quit(self) -> int:
        self.say(":quit")
        code = self.proc.wait(timeout=60)
        for reader in self._readers:
            reader.join(timeout=10)
        return code
