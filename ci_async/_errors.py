"""The exceptions ``ci_async`` raises.

Every exception derives from :class:`CIError`, so ``except ci_async.CIError``
catches anything the library raises on purpose. The hierarchy::

    CIError
    ├── ServiceError            the service answered with an error status
    │   ├── JobNotFoundError    ResourceNotFound (a 400) or 404 for one job
    │   ├── AuthError           401 / 403: AccessDenied, SignatureDoesNotMatch, ...
    │   ├── ThrottledError      429 or code SlowDown
    │   └── ServerError         other 5xx
    ├── TransportError          connect/read/write failures and timeouts, after retries
    ├── ResponseParseError      malformed or unexpected XML (carries a short snippet)
    ├── PaginationError         e.g. the service repeated a NextToken
    ├── CredentialsError        no usable credentials
    ├── WaitTimeoutError        wait_for_job() ran out of time
    └── SessionClosedError      the Session (or one of its iterators) is closed

Arguments that are wrong before any request is made raise the built-in
:class:`ValueError` / :class:`TypeError` instead.

No message, ``repr`` or attribute of these exceptions carries a secret key,
token, signature or ``Authorization`` header: URLs are stored without
userinfo and with signature-like query parameters masked.

Every piece of server text in a message (a code, a message, a request id, a
state, a token, a URL) is escaped and cut to 200 characters by
:func:`~ci_async._text.shown`: a message is one line of printable text,
whatever the server sent. The attributes keep the raw values.

All exceptions survive :mod:`pickle` (useful with process pools and task
queues) with their attributes intact.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._text import shown

if TYPE_CHECKING:
    from ._models import Job

__all__ = [
    "AuthError",
    "CIError",
    "CredentialsError",
    "JobNotFoundError",
    "PaginationError",
    "ResponseParseError",
    "ServerError",
    "ServiceError",
    "SessionClosedError",
    "ThrottledError",
    "TransportError",
    "WaitTimeoutError",
]

#: Longest piece of server text (code, message, request id, URL...) in ``str()`` of an error.
_MAX_MESSAGE = 200
#: Longest text of the library's own message argument in ``str()`` (it may quote server text).
_MAX_TEXT = 1000
#: Longest snippet of an unparseable body kept on an error.
_MAX_SNIPPET = 200
#: Query parameters whose values are masked in URLs kept on errors (lower case).
_SECRET_PARAMS = frozenset(
    {
        "authorization",
        "q-signature",
        "q-ak",
        "sign",
        "signature",
        "token",
        "securitytoken",
        "security-token",
        "x-ci-security-token",
        "x-cos-security-token",
        "secretkey",
        "secret_key",
        "secretid",
        "secret_id",
    }
)


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Recreate an exception from its constructor arguments (used by pickle)."""
    return cls(*args, **kwargs)


def _shorten(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _repr_field(value: object) -> str:
    """``repr(value)``, a str cut to 200 characters first (server text may be huge)."""
    return repr(_shorten(value, _MAX_MESSAGE) if isinstance(value, str) else value)


def _message_repr(error: BaseException, **fields: object) -> str:
    """``Type('message', name=value, ...)``: each str cut to 200 characters, ``None`` left out."""
    parts = [_repr_field(error.args[0])] if error.args else []
    parts += [f"{name}={_repr_field(value)}" for name, value in fields.items() if value is not None]
    return f"{type(error).__name__}({', '.join(parts)})"


def _own_text(args: tuple[Any, ...]) -> str:
    """The message an error was made with, escaped and bounded (it may quote server text)."""
    return shown(args[0], _MAX_TEXT) if args else ""


def body_snippet(body: bytes | str | None, limit: int = _MAX_SNIPPET) -> str:
    """Return a short, single-line, printable excerpt of a response body.

    Args:
        body: The raw body (decoded as UTF-8 with replacement) or text.
        limit: The maximum length of the result.

    Returns:
        At most ``limit`` characters, whitespace runs collapsed to one space
        and other control characters replaced by ``?``.
    """
    if not body:
        return ""
    if isinstance(body, bytes):
        # Decode only a bounded prefix: bodies may be large.
        body = body[: limit * 4].decode("utf-8", "replace")
    text = " ".join(body[: limit * 4].split())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return _shorten(text, limit)


def redact_url(url: str | None) -> str | None:
    """Return ``url`` without userinfo or fragment and with secret query values masked.

    Args:
        url: Any URL (or ``None``).

    Returns:
        The cleaned URL, or ``None`` when ``url`` is ``None``. Never raises:
        a URL that cannot be parsed is reduced to the part before ``?``/``#``
        with anything up to an ``@`` removed.
    """
    if url is None:
        return None
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc.rpartition("@")[2]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(name.lower() in _SECRET_PARAMS for name, _ in pairs):
                query = urlencode(
                    [
                        (name, "***" if name.lower() in _SECRET_PARAMS else value)
                        for name, value in pairs
                    ],
                    safe="*",
                )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        head = str(url).split("?", 1)[0].split("#", 1)[0]
        scheme, sep, rest = head.partition("://")
        if sep:
            host, slash, path = rest.partition("/")
            return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
        return head.rpartition("@")[2]


class CIError(Exception):
    """Base class of every exception raised by ``ci_async``."""


class ServiceError(CIError):
    """The service answered with an error status.

    Construct with keyword arguments only. ``str()`` reads like
    ``AccessDenied (403): Access denied. [request_id=NjJi...] GET https://host/path``.

    Attributes:
        status_code: The HTTP status of the answer.
        code: The service's error code (``<Code>``), e.g. ``"AccessDenied"``,
            or ``None`` when the body was not an XML error document.
        message: The service's error text (``<Message>``), or a short snippet
            of a non-XML body, or ``None``.
        request_id: The request id (``<RequestId>`` or the ``x-ci-request-id``
            header): quote it when contacting support.
        trace_id: The service's ``<TraceId>``, when given.
        method: The HTTP method of the request, when known.
        url: The request URL without userinfo and with secret query values masked.
        retry_after: Seconds the service asked to wait (``Retry-After``), when given.
    """

    status_code: int
    code: str | None
    message: str | None
    request_id: str | None
    trace_id: str | None
    method: str | None
    url: str | None
    retry_after: float | None

    def __init__(
        self,
        *,
        status_code: int,
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.request_id = request_id
        self.trace_id = trace_id
        self.method = method
        self.url = redact_url(url)
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments that rebuild this error."""
        return {
            "status_code": self.status_code,
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "trace_id": self.trace_id,
            "method": self.method,
            "url": self.url,
            "retry_after": self.retry_after,
        }

    def _describe(self) -> str:
        status = self.status_code
        message = shown(self.message, _MAX_MESSAGE) if self.message else ""
        if self.code:
            text = f"{shown(self.code, _MAX_MESSAGE)} ({status})"
        elif not 200 <= status <= 299:
            text = f"HTTP error ({status})"
        else:
            # A 2xx answer that still reports a failure (a job in NonExistJobIds)
            # is not an HTTP error, and is not called one.
            text = f"{message} (HTTP {status})" if message else f"HTTP {status}"
            message = ""
        if message:
            text += f": {message}"
        if self.request_id:
            text += f" [request_id={shown(self.request_id, _MAX_MESSAGE)}]"
        if self.url:
            target = shown(self.url, _MAX_MESSAGE)
            method = f"{shown(self.method, 16)} " if self.method else ""
            text += f" {method}{target}"
        return text

    def __str__(self) -> str:
        return self._describe()

    def __repr__(self) -> str:
        # repr() escapes; long server text is cut too (the attributes keep it whole).
        fields = ", ".join(
            f"{name}={_repr_field(value)}"
            for name, value in self._kwargs().items()
            if value is not None
        )
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), (), self._kwargs()), dict(self.__dict__))


class JobNotFoundError(ServiceError):
    """The job does not exist (``ResourceNotFound``, a 404, or listed in ``NonExistJobIds``).

    Only a request for one job says so. ``ResourceNotFound`` or a 404 on a
    listing or a create, and a 404 ``NoSuchBucket`` on any request (a bucket or
    region mistyped), are a plain :class:`ServiceError`.

    Attributes:
        job_id: The id that was not found, when known.
    """

    job_id: str | None

    def __init__(self, *, job_id: str | None = None, **kwargs: Any) -> None:
        self.job_id = job_id
        super().__init__(**kwargs)

    def _kwargs(self) -> dict[str, Any]:
        return {"job_id": self.job_id, **super()._kwargs()}

    def _describe(self) -> str:
        text = super()._describe()
        if self.job_id is not None:
            text = f"job {_shorten(self.job_id, 80)!r} not found: {text}"
        return text


class AuthError(ServiceError):
    """The request was refused: bad or expired signature, unknown key, no permission (401/403)."""


class ThrottledError(ServiceError):
    """The service asked to slow down (429, or code ``SlowDown``).

    Attributes:
        retry_after: Seconds to wait before retrying (``Retry-After``), when given.
    """


class ServerError(ServiceError):
    """The service failed (5xx other than throttling)."""


class TransportError(CIError):
    """The request could not be completed: connect, read or write failure, or timeout.

    Raised after retries are exhausted; ``__cause__`` is the underlying
    ``httpx`` exception.

    Attributes:
        method: The HTTP method, when known.
        url: The request URL (cleaned as for :class:`ServiceError`), when known.
    """

    method: str | None
    url: str | None

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.method = method
        self.url = redact_url(url)
        super().__init__(message)

    def __str__(self) -> str:
        text = _own_text(self.args)
        if self.url:
            target = shown(self.url, _MAX_MESSAGE)
            text += f" ({shown(self.method, 16)} {target})" if self.method else f" ({target})"
        return text

    def __repr__(self) -> str:
        return _message_repr(self, method=self.method, url=self.url)

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"method": self.method, "url": self.url}
        return (_rebuild, (type(self), self.args[:1], kwargs), dict(self.__dict__))


class ResponseParseError(CIError):
    """A response could not be understood: malformed XML or an unexpected shape.

    Attributes:
        snippet: A short (at most 200 characters), single-line excerpt of the
            offending body or value; empty when there is nothing to show.
        status_code: The HTTP status of the response, when known.
        request_id: The request id, when known.
    """

    snippet: str
    status_code: int | None
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        snippet: bytes | str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.snippet = body_snippet(snippet)
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(message)

    def __str__(self) -> str:
        text = _own_text(self.args)
        if self.status_code is not None:
            text += f" (HTTP {self.status_code})"
        if self.request_id:
            text += f" [request_id={shown(self.request_id, _MAX_MESSAGE)}]"
        if self.snippet:
            text += f": {self.snippet!r}"
        return text

    def __repr__(self) -> str:
        return _message_repr(
            self,
            snippet=self.snippet or None,
            status_code=self.status_code,
            request_id=self.request_id,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "snippet": self.snippet,
            "status_code": self.status_code,
            "request_id": self.request_id,
        }
        return (_rebuild, (type(self), self.args[:1], kwargs), dict(self.__dict__))


class PaginationError(CIError):
    """Pagination cannot continue safely, e.g. the service repeated a ``NextToken``.

    Attributes:
        next_token: The offending token (shortened in the message, complete here).
    """

    next_token: str | None

    def __init__(self, message: str, *, next_token: str | None = None) -> None:
        self.next_token = next_token
        super().__init__(message)

    def __str__(self) -> str:
        text = _own_text(self.args)
        if self.next_token is not None:
            text += f" (next_token={_shorten(self.next_token, 24)!r})"
        return text

    def __repr__(self) -> str:
        return _message_repr(self, next_token=self.next_token)

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"next_token": self.next_token}
        return (_rebuild, (type(self), self.args[:1], kwargs), dict(self.__dict__))


class CredentialsError(CIError):
    """No usable credentials: missing environment variables, or a provider failed."""


class WaitTimeoutError(CIError):
    """A job did not reach a terminal state in time.

    Attributes:
        job_id: The job waited for.
        last_job: The job as last seen, or ``None`` when it was never fetched.
        timeout: The timeout that expired, in seconds, when known.
    """

    job_id: str
    last_job: Job | None
    timeout: float | None

    def __init__(
        self, job_id: str, last_job: Job | None = None, *, timeout: float | None = None
    ) -> None:
        self.job_id = job_id
        self.last_job = last_job
        self.timeout = timeout
        super().__init__(job_id, last_job)

    def __str__(self) -> str:
        text = f"job {_shorten(self.job_id, 80)!r} did not finish"
        if self.timeout is not None and math.isfinite(self.timeout):
            text += f" within {self.timeout:g}s"
        if self.last_job is not None:
            text += f" (last state: {shown(self.last_job.state, 64)})"
        return text

    def __repr__(self) -> str:
        state = None if self.last_job is None else _shorten(str(self.last_job.state), 64)
        return f"WaitTimeoutError(job_id={_shorten(self.job_id, 80)!r}, last_state={state!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"timeout": self.timeout}
        return (
            _rebuild,
            (type(self), (self.job_id, self.last_job), kwargs),
            dict(self.__dict__),
        )


class SessionClosedError(CIError):
    """The :class:`~ci_async.Session` (or an iterator tied to it) is closed."""

    def __init__(self, message: str = "the session is closed") -> None:
        super().__init__(message)
