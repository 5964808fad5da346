"""What the command line writes: stdout lines, stderr notes, the progress line, logs."""

from __future__ import annotations

import contextlib
import logging
import shlex
import time
import unicodedata
from collections.abc import Iterator, Sequence
from typing import IO, Any

from .._format import escape, format_count
from .._text import shown

__all__ = [
    "MAX_ERROR_TEXT",
    "MAX_LOG_TEXT",
    "MAX_TOKEN_SHOWN",
    "Console",
    "EscapingFormatter",
    "Progress",
    "ansi_c_quote",
    "error_text",
    "isatty",
    "logging_to",
    "plural",
    "resume_option",
    "shown",
]

#: The longest ``error:`` line text made from an exception's ``str()``.
MAX_ERROR_TEXT = 1000
#: The longest message in a ``-v`` log line.
MAX_LOG_TEXT = 2000
#: The longest ``--next-token`` printed to resume a listing (service tokens are short).
MAX_TOKEN_SHOWN = 2000


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
        """Write one line to stderr.

        The pieces of service text in ``text`` are escaped and cut by the
        caller (:func:`shown`, :func:`error_text`); escaping the whole line
        again is a safety net that changes nothing in printable text.

        Args:
            text: The line, without a newline.
        """
        if self.progress is not None:
            self.progress.clear()
        self.stderr.write(escape(text) + "\n")
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


def error_text(exc: BaseException) -> str:
    """``str(exc)`` for an ``error:`` line: escaped and at most 1,000 characters.

    An exception's text mixes the library's words with the service's (codes,
    messages, request ids), each possibly hostile: escaping makes it one line
    of printable text whatever it holds, and the cut bounds it (the library
    already cuts messages and URLs at 200 characters each).

    Args:
        exc: The exception.

    Returns:
        The text to print after ``error:``.
    """
    return escape(str(exc), limit=MAX_ERROR_TEXT)


def resume_option(token: str) -> str:
    r"""``--next-token TOKEN`` as it can be pasted back into a shell.

    A printable token is quoted with :func:`shlex.quote` (most tokens need no
    quotes at all). A token holding control or invisible characters is written
    in bash/zsh ``$'...'`` quoting, which escapes them (``\n``, ``\x1b``,
    ``\u202e``) and which the shell turns back into the same token; a remark
    says so. A token too long for one line is not shown.

    Args:
        token: The service's ``NextToken``.

    Returns:
        The option and its value, and a remark when the token is unusual.
    """
    if len(token) > MAX_TOKEN_SHOWN:
        return f"--next-token (not shown: the token is {format_count(len(token))} characters long)"
    if token.isprintable():
        return f"--next-token {shlex.quote(token)}"
    if any(unicodedata.category(char) == "Cc" for char in token):
        remark = "the token holds control characters"
    else:
        remark = "the token holds invisible characters"
    return f"--next-token {ansi_c_quote(token)} ({remark}; shown in bash/zsh $'...' quoting)"


def ansi_c_quote(text: str) -> str:
    r"""``text`` in bash/zsh ANSI-C quoting, ``$'...'``, with every non-printable character escaped.

    The result is printable ASCII-safe shell text: ``\\``, ``\'``, ``\n``,
    ``\r``, ``\t``, ``\xHH`` for other ASCII control characters and
    ``\uHHHH``/``\UHHHHHHHH`` above (decoded in the locale's encoding, UTF-8
    nowadays).

    Args:
        text: Any text.

    Returns:
        The quoted text, e.g. ``$'a\nb'``.
    """
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in _ANSI_C_SIMPLE:
            out.append(_ANSI_C_SIMPLE[char])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "$'" + "".join(out) + "'"


_ANSI_C_SIMPLE = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class EscapingFormatter(logging.Formatter):
    """A log formatter that escapes what records carry, so a log line stays one printable line.

    Log messages interpolate service text (request ids, error messages): each
    message is escaped (see :func:`~ci_async._format.escape`) and cut at 2,000
    characters; a traceback keeps its lines, each escaped.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """The record's line, its message escaped and bounded.

        Args:
            record: The record, its ``message`` already interpolated.

        Returns:
            The formatted line.
        """
        message = record.message
        record.message = escape(message, limit=MAX_LOG_TEXT)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """A traceback, each of its lines escaped.

        Args:
            ei: The ``exc_info`` tuple.

        Returns:
            The traceback text.
        """
        text = super().formatException(ei)
        return "\n".join(escape(line, limit=MAX_LOG_TEXT) for line in text.split("\n"))


@contextlib.contextmanager
def logging_to(stream: IO[str], verbosity: int) -> Iterator[None]:
    """Log to ``stream`` for the duration of a run: -v INFO, -vv DEBUG, else nothing.

    ``-v`` sets the ``ci_async`` logger (and the root logger) to INFO, so
    retries show whether the library logs them at INFO or WARNING, and each
    request shows (``HTTP Request: GET ...``); ``-vv`` adds DEBUG details.
    Without ``-v`` nothing is written: a handler on the root logger keeps
    logging's last-resort output (WARNING and above) off stderr, and failures
    are reported as one ``error:`` line by :func:`~ci_async._cli.main`.

    Args:
        stream: Where log lines go (stderr).
        verbosity: How many ``-v`` were given.

    Yields:
        Nothing; the loggers are restored on exit.
    """
    root = logging.getLogger()
    if verbosity <= 0:
        silent = logging.NullHandler()
        root.addHandler(silent)
        try:
            yield
        finally:
            root.removeHandler(silent)
        return
    level = logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # httpcore's connection-level chatter is only interesting when debugging.
    levels = {"": level, "ci_async": level}
    if verbosity < 2:
        levels["httpcore"] = logging.WARNING
    saved = {name: logging.getLogger(name).level for name in levels}
    root.addHandler(handler)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, value in saved.items():
            logging.getLogger(name).setLevel(value)
