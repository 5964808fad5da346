r"""Rendering of job records for people and for scripts.

Shared by the command line (``python -m ci_async``) and ``examples/demo.py``:

* :func:`job_to_json` -- one job as one line of JSON: :meth:`Job.to_dict
  <ci_async.Job.to_dict>` (stable keys in field order, datetimes as ISO 8601
  with their UTC offset, enums as their wire strings), JSON lines when printed
  one per line.
* :class:`JobTable` / :func:`format_table` -- an aligned, one-line-per-job table
  (job id, type, state, name, created, started, ended).
* :func:`format_job` -- every field of one job as ``key: value`` lines.

Text that comes from the service (ids, names, states, messages) is printed
through :func:`escape`: control and other invisible characters become visible
escapes (``\n``, ``\x1b``, ``\u202e``), so a job name can never break a row,
forge a line or drive the terminal, and every piece is cut to a bounded length.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from ._models import Job
from ._text import shown

__all__ = [
    "MAX_DETAIL_TEXT",
    "JobTable",
    "display_width",
    "escape",
    "format_count",
    "format_job",
    "format_table",
    "format_time",
    "job_to_json",
]

#: The longest value in the detail view (:func:`format_job`); ``--json`` has it all.
MAX_DETAIL_TEXT = 1000
#: The widest job id, type and state cells of a table (service ids are 33 characters).
_MAX_ID_CELL = 64
_MAX_WORD_CELL = 24

_MISSING = "-"
_ELLIPSIS = "\u2026"
_TABLE_HEADERS = ("JOB ID", "TYPE", "STATE", "NAME", "CREATED", "STARTED", "ENDED")
# A time cell: "2022-06-27 15:23:10+08:00" (no sub-second digits, the service has none).
_TIME_WIDTH = 25


def job_to_json(job: Job) -> str:
    r"""One job as a single line of JSON (no trailing newline).

    Args:
        job: The job to convert.

    Returns:
        The compact JSON text of :meth:`Job.to_dict <ci_async.Job.to_dict>`;
        printable non-ASCII text is kept as is, every non-printable character
        is a JSON escape (``\u001b``, ``\u009b``, ``\u202e``): the line is
        valid JSON that decodes to the same values, and safe on a terminal.
    """
    text = json.dumps(job.to_dict(), ensure_ascii=False, separators=(",", ":"))
    if text.isprintable():
        return text
    # json.dumps escapes C0 controls only; C1 controls (ESC's 8-bit twin \x9b)
    # and invisible characters would reach the terminal. They can only occur
    # inside strings, where their \u escape means the same character.
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def format_time(value: datetime | None) -> str:
    """A datetime for a table cell: ``2022-06-27 15:23:10+08:00``, or ``-`` when unset.

    Args:
        value: An aware datetime (the service's own offset is kept), or ``None``.

    Returns:
        The ISO 8601 text with a space between date and time.
    """
    if value is None:
        return _MISSING
    return value.isoformat(sep=" ")


def format_count(n: int) -> str:
    """An integer with thousands separators: ``3,400``.

    Args:
        n: The number.

    Returns:
        The grouped decimal text.
    """
    return f"{n:,}"


def escape(text: object, *, limit: int | None = None) -> str:
    """Printable, single-line text (see :func:`ci_async._text.shown`), uncut by default.

    Args:
        text: Any value; usually text the service sent.
        limit: Cut the escaped text to at most this many characters, the last
            one an ellipsis (``…``) when cut; ``None``: no limit.

    Returns:
        The escaped (and possibly cut) text.
    """
    return shown(text, limit)


def display_width(text: str) -> int:
    """The number of terminal columns ``text`` takes (CJK characters take two).

    Args:
        text: Printable text.

    Returns:
        The width in columns: wide and full-width characters count 2,
        combining marks 0, everything else 1.
    """
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns."""
    return text + " " * (width - display_width(text))


def _clip(text: str, width: int) -> str:
    """Cut text to ``width`` columns, the last one an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        w = _char_width(char)
        if used + w > width - 1:
            break
        kept.append(char)
        used += w
    return "".join(kept) + _ELLIPSIS


def _cells(job: Job) -> tuple[str, ...]:
    return (
        escape(job.job_id, limit=_MAX_ID_CELL),
        escape(job.type, limit=_MAX_WORD_CELL),
        escape(job.state, limit=_MAX_WORD_CELL),
        # Cut to the column width later; the cap here bounds the work on a huge name.
        _MISSING if job.name is None else escape(job.name, limit=MAX_DETAIL_TEXT),
        format_time(job.creation_time),
        format_time(job.start_time),
        format_time(job.end_time),
    )


class JobTable:
    """An aligned text table of jobs, one line per job, streamable page by page.

    Column widths are taken from the jobs given at construction (e.g. the first
    page of a listing) and kept for every later row, so a listing printed page
    by page stays aligned. The name column is as wide as the widest name in
    ``sample``, at least ``min_name`` and at most ``max_name`` characters;
    longer names are cut with an ellipsis. Rows never end in spaces.

    Args:
        sample: Jobs to size the columns by (may be empty).
        min_name: The narrowest the name column may be (leave room for later rows).
        max_name: The widest the name column may grow.
    """

    def __init__(
        self, sample: Iterable[Job] = (), *, min_name: int = 4, max_name: int = 32
    ) -> None:
        widths = [len(h) for h in _TABLE_HEADERS]
        widths[4] = widths[5] = widths[6] = _TIME_WIDTH
        for job in sample:
            for i, cell in enumerate(_cells(job)):
                widths[i] = max(widths[i], display_width(cell))
        widths[3] = max(min(max(widths[3], min_name), max_name), len(_TABLE_HEADERS[3]))
        self._widths = tuple(widths)

    def _line(self, cells: Sequence[str]) -> str:
        name_width = self._widths[3]
        cells = [*cells[:3], _clip(cells[3], name_width), *cells[4:]]
        return "  ".join(_pad(c, w) for c, w in zip(cells, self._widths, strict=True)).rstrip()

    def header(self) -> str:
        """The header line (column titles).

        Returns:
            The aligned column titles.
        """
        return self._line(_TABLE_HEADERS)

    def row(self, job: Job) -> str:
        """One job as an aligned line.

        Args:
            job: The job to render.

        Returns:
            The line, without a newline.
        """
        return self._line(_cells(job))

    def lines(self, jobs: Iterable[Job], *, header: bool = True) -> Iterator[str]:
        """The header (unless ``header=False``) and one line per job.

        Args:
            jobs: The jobs to render, in order.
            header: Whether to start with the header line.

        Yields:
            Lines without newlines.
        """
        if header:
            yield self.header()
        for job in jobs:
            yield self.row(job)


def format_table(jobs: Iterable[Job], *, max_name: int = 32) -> str:
    """A complete aligned table of jobs (header first), sized to fit them all.

    Args:
        jobs: The jobs to render, in order.
        max_name: The widest the name column may grow.

    Returns:
        The table, lines joined with newlines, no trailing newline.
    """
    jobs = list(jobs)
    return "\n".join(JobTable(jobs, max_name=max_name).lines(jobs))


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), item)
    elif isinstance(value, list):
        if value:
            yield prefix, escape(", ".join(str(v) for v in value), limit=MAX_DETAIL_TEXT)
    elif value is not None:
        yield prefix, escape(value, limit=MAX_DETAIL_TEXT)


def format_job(job: Job) -> str:
    """Every field of one job as aligned ``key: value`` lines.

    The top-level fields are always shown (``-`` when unset); the nested input
    and operation fields only when they carry a value (``operation.output.bucket``).
    Values are escaped and cut at :data:`MAX_DETAIL_TEXT` characters (see :func:`escape`).

    Args:
        job: The job to render.

    Returns:
        The lines joined with newlines, no trailing newline.
    """
    rows: list[tuple[str, str]] = []
    for key, value in job.to_dict().items():
        if value is None:
            rows.append((key, _MISSING))
        else:
            rows.extend(_flatten(key, value))
    width = max(len(k) for k, _ in rows) + 1
    return "\n".join(f"{k + ':':<{width}} {v}" for k, v in rows)
