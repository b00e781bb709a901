"""What the test services share: free loopback ports, waiting for a service to answer,
and the rule for a service that is missing (skip here, fail in CI)."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


class ServiceUnavailable(RuntimeError):
    """A service the tests start is not installed or did not come up."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


def wait_until(predicate: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise ServiceUnavailable(f"timed out waiting for {what}")


def start_or_skip(start: Callable[[], T], what: str) -> T:
    """``start()``; a missing service skips the test here and fails it in CI."""
    try:
        return start()
    except ServiceUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{what} skipped: {e}")
