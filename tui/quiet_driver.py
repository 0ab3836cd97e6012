"""Textual's Linux driver with an input thread that sleeps until there is input.

Textual's own input thread waits for the terminal at most 0.1 s at a time, so that it can see
the app ending and time out a lone Escape: ten wake-ups a second for as long as the app runs,
most of an idle app's CPU time (issue 18). This one waits without a limit while no escape
sequence is half-read (the parser's timeout, when there is one, bounds the wait as before)
and is woken by a pipe when the app ends or suspends: the event that tells it to stop writes
a byte to the pipe as it is set. What it does with the input is Textual's.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder
from threading import Event
from typing import Any

from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class _WakingEvent(Event):
    """An Event that also makes a pipe readable when set."""

    def __init__(self, wake: int) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # full (a byte already there) or closed
            os.write(self._wake, b"x")


class QuietLinuxDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(wake_write, False)
        self._wake_write = wake_write
        self.exit_event = _WakingEvent(wake_write)

    def close(self) -> None:
        super().close()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def run_input_thread(self) -> None:
        """Textual's ``run_input_thread``, waiting for input (or the parser's timeout, or the
        wake pipe) instead of 0.1 s at a time."""
        selector = selectors.SelectSelector()
        fileno = self.fileno
        wake = self._wake_read
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, mask in ready:
                if key.fd == wake:
                    with contextlib.suppress(OSError):
                        os.read(wake, 64)
                    continue
                if mask & selectors.EVENT_READ:
                    unicode_data = decode(os.read(fileno, 1024 * 4), final=final)
                    if not unicode_data:
                        break  # stdin piped, at its end
                    for event in parser.feed(unicode_data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        def timeout() -> float | None:
            due = parser._timeout_time
            return None if due is None else max(0.0, due - get_time())

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(fileno)
            selector.unregister(wake)
            process(selector.select(0.1), final=True)  # as Textual's: nothing more is read
        finally:
            selector.close()
            with contextlib.suppress(Exception):
                for _event in parser.feed(""):
                    pass
