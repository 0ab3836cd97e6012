"""The time the domain uses: server local time, naive, replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Now = Callable[[], datetime]


def local_now() -> datetime:
    return datetime.now().replace(microsecond=0)
