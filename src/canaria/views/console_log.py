"""One writer for the terminal: while the live view runs, canaria's log lines go through its console.

A second writer to the same terminal (a logging handler holding the original stderr) leaves partial copies of
the live panel behind. So while a view is open, text log handlers that write to the terminal are replaced by
one that prints through the view's console (above the panel on a TTY). Event records are dropped there:
the view prints every event itself, once, in the operator's language. Log files and JSON logs are left alone.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TextIO

__all__ = ["ConsoleLogTakeover"]

_LOGGER = "canaria"


class _ConsoleHandler(logging.Handler):
    def __init__(self, write: Callable[[str], None], formatter: logging.Formatter | None, level: int) -> None:
        super().__init__(level)
        self._write = write
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "canaria_event", None) is not None:
            return  # the view shows events itself
        try:
            self._write(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


def _writes_to_terminal(handler: logging.Handler, stream: TextIO) -> bool:
    if isinstance(handler, logging.FileHandler) or not isinstance(handler, logging.StreamHandler):
        return False
    if type(handler.formatter).__name__ == "JsonFormatter":
        return False  # machine-readable logs keep their own stream
    target = handler.stream
    return target in (sys.stderr, sys.stdout, stream, sys.__stderr__, sys.__stdout__)


class ConsoleLogTakeover:
    """Swap terminal log handlers of the `canaria` logger for one writing through `write`; restore on exit."""

    def __init__(self, write: Callable[[str], None], stream: TextIO) -> None:
        self._write = write
        self._stream = stream
        self._removed: list[logging.Handler] = []
        self._added: logging.Handler | None = None

    def __enter__(self) -> ConsoleLogTakeover:
        logger = logging.getLogger(_LOGGER)
        self._removed = [h for h in logger.handlers if _writes_to_terminal(h, self._stream)]
        if self._removed:
            first = self._removed[0]
            for handler in self._removed:
                logger.removeHandler(handler)
            self._added = _ConsoleHandler(self._write, first.formatter, first.level)
            logger.addHandler(self._added)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger(_LOGGER)
        if self._added is not None:
            logger.removeHandler(self._added)
            self._added = None
        for handler in self._removed:
            logger.addHandler(handler)
        self._removed = []
