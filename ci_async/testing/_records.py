"""What the emulator remembers about each request it received."""

from __future__ import annotations

import attrs

__all__ = ["RecordedRequest", "operation_of"]

_SECRET_HEADERS = frozenset({"authorization", "x-ci-security-token", "x-cos-security-token"})
_PREFIX = "/inventorytriggerjob"


def operation_of(method: str, path: str) -> str | None:
    """Name the API operation a request is for: list, describe, create, cancel (or ``None``)."""
    if path == _PREFIX:
        return {"GET": "list", "POST": "create"}.get(method)
    if path.startswith(_PREFIX + "/"):
        return {"GET": "describe", "PUT": "cancel"}.get(method)
    return None


@attrs.frozen(repr=False)
class RecordedRequest:
    """One request as the emulator received it, for assertions in tests.

    The ``repr`` masks the ``Authorization`` value and security tokens; the
    attributes hold them in full so tests can inspect signatures.

    Attributes:
        method: The HTTP method, upper case.
        path: The decoded URL path.
        query: The query parameters as decoded ``(name, value)`` pairs, in order
            (a value-less parameter such as ``cancel`` has the value ``""``).
        headers: The headers as ``(name, value)`` pairs, names lower-cased.
        body: The request body.
        time: The emulator's clock when the request arrived (unix seconds).
        fault: The injected fault applied to this request, if any (e.g. ``"drop"``).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    time: float
    fault: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """The query parameters as a dict (the last value wins)."""
        return dict(self.query)

    @property
    def operation(self) -> str | None:
        """``"list"``, ``"describe"``, ``"create"``, ``"cancel"`` or ``None``."""
        return operation_of(self.method, self.path)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of a header (the first, if it was sent several times).

        Args:
            name: The header name, in any case.
            default: What to return when the header was not sent.

        Returns:
            The header's value, or ``default``.
        """
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return default

    def __repr__(self) -> str:
        headers = [(key, "***" if key in _SECRET_HEADERS else value) for key, value in self.headers]
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, query={self.query!r}, "
            f"headers={headers!r}, body={self.body[:200]!r}, time={self.time!r}, "
            f"fault={self.fault!r})"
        )
