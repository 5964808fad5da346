"""What the command line writes: stdout lines, stderr notes, the progress line, logs."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from typing import IO

from .._format import format_count

__all__ = ["Console", "Progress", "isatty", "logging_to", "one_line", "plural"]


class Console:
    """The streams of one run, plus what a Ctrl-C needs to print.

    Args:
        stdout: Where results go.
        stderr: Where notes, errors and the progress line go.
    """

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.resume_token: str | None = None
        self.listed = 0
        self.listing = False
        self.progress: Progress | None = None

    def emit(self, lines: Sequence[str]) -> None:
        """Write lines to stdout and flush (so a closed pipe is noticed at once)."""
        if self.progress is not None:
            self.progress.clear()
        if lines:
            self.stdout.write("\n".join(lines) + "\n")
        self.stdout.flush()

    def note(self, text: str) -> None:
        """Write one line to stderr."""
        if self.progress is not None:
            self.progress.clear()
        self.stderr.write(text + "\n")
        self.stderr.flush()


class Progress:
    """A self-erasing ``… 3,400 jobs, 34 pages`` line on a terminal's stderr."""

    _INTERVAL = 0.1

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._shown = False
        self._last = 0.0

    def update(self, jobs: int, pages: int, *, force: bool = False) -> None:
        """Show the counts, at most every 0.1 s unless ``force``.

        Args:
            jobs: Jobs listed so far.
            pages: Pages listed so far.
            force: Show them even if the line was drawn less than 0.1 s ago.
        """
        now = time.monotonic()
        if not force and now - self._last < self._INTERVAL:
            return
        self._last = now
        text = f"\r\x1b[K\u2026 {plural(jobs, 'job')}, {plural(pages, 'page')}"
        self._stream.write(text)
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line, if it is shown."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


def plural(n: int, noun: str) -> str:
    """``1 job``, ``3,400 jobs``.

    Args:
        n: The count.
        noun: The singular noun.

    Returns:
        The count with separators and the noun, plural unless ``n`` is 1.
    """
    return f"{format_count(n)} {noun}{'' if n == 1 else 's'}"


def isatty(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal (``False`` when it cannot tell).

    Args:
        stream: A text stream.

    Returns:
        ``stream.isatty()``, or ``False`` when that is missing or fails.
    """
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, turned into one space.

    Args:
        text: Any text.

    Returns:
        The text on one line.
    """
    return " ".join(text.split())


@contextlib.contextmanager
def logging_to(stream: IO[str], verbosity: int) -> Iterator[None]:
    """Log to ``stream`` for the duration of a run: -v INFO, -vv DEBUG, else nothing.

    Without ``-v`` the run stays quiet (retries are not worth a line each);
    failures are reported as one ``error:`` line by :func:`main`.
    """
    root = logging.getLogger()
    if verbosity <= 0:
        # A handler on the root logger keeps logging's last-resort stderr output away.
        silent = logging.NullHandler()
        root.addHandler(silent)
        try:
            yield
        finally:
            root.removeHandler(silent)
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
    # httpcore's connection-level chatter is only interesting when debugging.
    quiet = [] if verbosity >= 2 else [logging.getLogger("httpcore")]
    quiet_levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
        for logger, level in zip(quiet, quiet_levels, strict=True):
            logger.setLevel(level)
