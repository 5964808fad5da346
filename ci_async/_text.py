r"""Making untrusted text safe to show: the one helper for messages, logs and the terminal.

Text that comes from the server (error messages and codes, request ids, job
names and states, tokens, header values quoted by a transport) may hold
control characters (a raw CR/LF forges a log line, ESC drives a terminal) and
may be of any length. Wherever such text is put into an exception message, a
log record or a line of output, it goes through :func:`shown` first: control
and other non-printable characters become visible escapes (``\\r``, ``\\n``,
``\\x1b``, ``\\u2028``) and the result is cut to a fixed length with a marker.

Attributes keep the raw value: only what is displayed is changed.
"""

from __future__ import annotations

import enum

__all__ = ["MAX_SHOWN", "shown"]

#: The longest a piece of server text is shown, in characters (before the cut marker).
MAX_SHOWN = 200

_MARK = "…"


def shown(text: object, limit: int | None = MAX_SHOWN) -> str:
    r"""Return ``text`` as safe, bounded, single-line display text.

    Every non-printable character (newline, carriage return, tab, ESC and the
    other control characters, and invisible ones such as bidirectional
    overrides) is written the way Python writes it in a string literal
    (``\n``, ``\r``, ``\x1b``, ``\u202e``), so the text can neither start a line
    nor reach a terminal as a control sequence. An enum member shows its value.

    Args:
        text: The untrusted value (converted with ``str()``).
        limit: The most characters of the result, the last one an ellipsis
            (``…``) when cut; an escape is never cut in half. ``None``: no limit.

    Returns:
        The escaped (and possibly cut) text.

    Example:
        >>> shown("x\r\nFORGED")
        'x\\r\\nFORGED'
        >>> shown("a" * 300, limit=5)
        'aaaa…'
    """
    value = str(text.value if isinstance(text, enum.Enum) else text)
    if value.isprintable() and (limit is None or len(value) <= limit):
        return value
    if limit is not None:
        # Each character gives at least one: the first ``limit + 1`` decide the result.
        value = value[: limit + 1]
    pieces = [char if char.isprintable() else repr(char)[1:-1] for char in value]
    if limit is None or sum(len(piece) for piece in pieces) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > limit - 1:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + _MARK
