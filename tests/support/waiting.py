"""Waiting for what another process does (a worker, a relay, a broker): a condition polled until
it holds or the time is up. Two shapes, by what the caller wants on a timeout:

- `polled` answers whether it held, for `assert polled(...), <what to show then>` (the worker's
  log tail, read when the assertion fails, not before the wait);
- `wait_until` returns what the condition returned, and fails with `what` (a text, or a
  function giving it at the timeout) otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def polled(condition: Callable[[], object], seconds: float = 30, interval: float = 0.2) -> bool:
    """Whether `condition()` was true once within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def wait_until(condition: Callable[[], T], seconds: float = 45, what: str | Callable[[], str] = "",
               interval: float = 0.25) -> T:
    """The first true value of `condition()` within `seconds`; AssertionError naming `what`
    otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise AssertionError(f"not reached within {seconds} s: {what() if callable(what) else what}")
