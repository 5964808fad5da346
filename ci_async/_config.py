"""A session's configuration: where requests go (from arguments or the environment), and how.

An argument always wins; what is not passed is read from ``CI_ASYNC_BUCKET``,
``CI_ASYNC_REGION`` and ``CI_ASYNC_ENDPOINT`` (the names the emulator prints
and the command line reads). Everything is validated here, once, when the
session is made.

The endpoint rule: requests go to ``https://{bucket}.ci.{region}.myqcloud.com``
unless an endpoint is given. When the endpoint's host is an IP address (such
as the emulator's ``http://127.0.0.1:8321``), it is only *where to connect*:
requests still carry the service's own ``Host`` header (and TLS server name),
as the official SDK's ``IP=`` option does, so the bucket and region reach the
server and a typo in them shows (TLS, for ``https``, is still checked against
the address itself). An endpoint with a host name is used as it is.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs
import httpx

from . import _checks
from ._checks import require_str
from ._credentials import Credentials, CredentialsProvider
from ._parsing import MAX_PARSE_PROCESSES
from ._retry import RetryPolicy
from ._signing import CosSigner, Signer

__all__ = ["ENV_BUCKET", "ENV_ENDPOINT", "ENV_REGION", "Settings", "Target", "resolve_target"]

ENV_BUCKET = "CI_ASYNC_BUCKET"
ENV_REGION = "CI_ASYNC_REGION"
ENV_ENDPOINT = "CI_ASYNC_ENDPOINT"

#: ``BucketName-APPID``: lowercase letters, digits and inner hyphens, then the APPID.
_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}")
#: ``ap-beijing``, ``na-siliconvalley``, ``ap-beijing-fsi``, ``ap-shanghai-adc``...
_REGION = re.compile(r"[a-z]{2,12}(?:-[a-z0-9]{1,32}){1,3}")
_LOOPBACK_NAMES = frozenset({"localhost"})


@attrs.frozen
class Target:
    """The validated destination of a session's requests.

    Attributes:
        bucket: ``BucketName-APPID``.
        region: e.g. ``ap-beijing``.
        base_url: Scheme, host, port and path prefix, without a trailing ``/``.
        host_header: The ``Host`` header to send when it is not the URL's
            host (an IP endpoint), else ``None``.
        service_host: ``{bucket}.ci.{region}.myqcloud.com``.
    """

    bucket: str
    region: str
    base_url: str
    host_header: str | None
    service_host: str


def bucket_name(value: object, name: str = "bucket") -> str:
    """Check a ``BucketName-APPID`` bucket name.

    Raises:
        TypeError: Not a str.
        ValueError: Not lowercase letters, digits and hyphens, then ``-APPID``.
    """
    text = require_str(value, name)
    if not _BUCKET.fullmatch(text):
        msg = (
            f"{name} must be 'BucketName-APPID' (lowercase letters, digits and hyphens, "
            f"then '-' and the numeric APPID, e.g. 'examplebucket-1250000000'), got {text[:80]!r}"
        )
        raise ValueError(msg)
    return text


def region_name(value: object, name: str = "region") -> str:
    """Check a region name such as ``ap-beijing``.

    Raises:
        TypeError: Not a str.
        ValueError: Not lowercase words joined by ``-``.
    """
    text = require_str(value, name)
    if not _REGION.fullmatch(text):
        msg = (
            f"{name} must look like 'ap-beijing' (lowercase words joined by '-'), got {text[:80]!r}"
        )
        raise ValueError(msg)
    return text


def shown_url(url: str) -> str:
    """An endpoint for an error message: scheme, host, port and path only.

    A user name, password, query or fragment may hold a secret: each is
    replaced by a marker rather than shown.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unparseable URL, not shown>"
    host = parts.netloc.rpartition("@")[2]
    text = f"{parts.scheme}://{host}{parts.path}" if parts.scheme else f"{host}{parts.path}"
    if "@" in parts.netloc:
        text = text.replace("://", "://<userinfo hidden>@", 1)
    if parts.query or "?" in url:
        text += "?<query hidden>"
    if parts.fragment:
        text += "#<fragment hidden>"
    return repr(text[:200])


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def endpoint_url(value: object, *, allow_insecure_http: bool, name: str = "endpoint") -> httpx.URL:
    """Check a base URL override.

    Raises:
        TypeError: Not a str.
        ValueError: Not an absolute http(s) URL; has a user name or password,
            a query or a fragment; or is plain http to a host that is not
            loopback without ``allow_insecure_http``. The message never
            shows a user name, password, query or fragment.
    """
    problem, url = _endpoint_problem(
        require_str(value, name).strip(), allow_insecure_http=allow_insecure_http, name=name
    )
    if problem is not None:
        # The URL may hold a password or a token: out of this frame's locals before raising.
        del value
        raise ValueError(problem)
    assert url is not None
    return url


def _endpoint_problem(
    text: str, *, allow_insecure_http: bool, name: str
) -> tuple[str, None] | tuple[None, httpx.URL]:
    """What is wrong with an endpoint (a message showing no secret), else its URL.

    Returned, not raised, so that this frame (whose locals hold the URL) is
    never on a traceback.
    """
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, UnicodeError):  # UnicodeEncodeError: a lone surrogate
        return f"{name} is not a valid URL: {shown_url(text)}", None
    if url.scheme not in {"http", "https"} or not url.host:
        return f"{name} must be an absolute http:// or https:// URL, got {shown_url(text)}", None
    if url.userinfo:
        return f"{name} must not contain a user name or password, got {shown_url(text)}", None
    if url.query or url.fragment or "?" in text or "#" in text:
        return f"{name} must not have a query or fragment, got {shown_url(text)}", None
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        return (
            f"{name} {shown_url(text)} uses plain http to a host that is not loopback; "
            "use https, or allow insecure http explicitly (allow_insecure_http=True)"
        ), None
    return None, url


def _setting(
    value: str | None, variable: str, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """The argument, else the environment variable; and the name to use in messages."""
    if value is not None:
        return value, "argument"
    found = environ.get(variable, "").strip()
    return (found or None), variable


def _label(argument: str, source: str) -> str:
    """How a value is named in messages: the argument, or the variable it came from."""
    return argument if source == "argument" else source


def resolve_target(
    bucket: str | None,
    region: str | None,
    endpoint: str | None,
    *,
    allow_insecure_http: bool,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """Validate the destination, filling what is not passed from the environment.

    Args:
        bucket: ``BucketName-APPID``, or ``None`` for ``CI_ASYNC_BUCKET``.
        region: e.g. ``ap-beijing``, or ``None`` for ``CI_ASYNC_REGION``.
        endpoint: A base URL, or ``None`` for ``CI_ASYNC_ENDPOINT`` (and,
            without it, the service's own host).
        allow_insecure_http: Accept plain http to a host that is not loopback.
        environ: The variables to read; ``os.environ`` when ``None``.

    Returns:
        The destination.

    Raises:
        ValueError: A value is missing (the message names the argument and
            the variable) or invalid (values read from the environment are
            reported with the variable's name).
        TypeError: An argument is not a str.
    """
    env = os.environ if environ is None else environ
    raw_bucket, bucket_source = _setting(bucket, ENV_BUCKET, env)
    raw_region, region_source = _setting(region, ENV_REGION, env)
    raw_endpoint, endpoint_source = _setting(endpoint, ENV_ENDPOINT, env)
    # The environment may hold secrets (keys, tokens): out of the locals of this
    # frame, which is on the traceback of any error raised below.
    del env, environ
    if raw_bucket is None:
        msg = f"no bucket: pass bucket= or set {ENV_BUCKET} (e.g. examplebucket-1250000000)"
        raise ValueError(msg)
    if raw_region is None:
        msg = f"no region: pass region= or set {ENV_REGION} (e.g. ap-beijing)"
        raise ValueError(msg)
    checked_bucket = bucket_name(raw_bucket, _label("bucket", bucket_source))
    checked_region = region_name(raw_region, _label("region", region_source))
    service_host = f"{checked_bucket}.ci.{checked_region}.myqcloud.com"
    if raw_endpoint is None:
        return Target(checked_bucket, checked_region, f"https://{service_host}", None, service_host)
    try:
        url = endpoint_url(
            raw_endpoint,
            allow_insecure_http=allow_insecure_http,
            name=_label("endpoint", endpoint_source),
        )
    except ValueError:
        del endpoint, raw_endpoint  # may hold a password or a token (see endpoint_url)
        raise
    host_header = service_host if _is_ip(url.host) else None
    return Target(checked_bucket, checked_region, str(url).rstrip("/"), host_header, service_host)


@attrs.frozen(kw_only=True)
class Settings:
    """A session's configuration, validated: what the send path needs to know.

    Attributes:
        target: Where requests go.
        signer: Signs every attempt.
        retry: The retry policy, or ``None`` for one attempt per call.
        timeout: httpx's per-phase timeouts.
        attempt_timeout: The most one attempt may take in all, or ``None``.
        max_response_bytes: The cap on a decoded body, or ``None``.
        max_in_flight: The most requests in flight at once.
        http_client: A client to use as it is (never closed here), or ``None``.
        transport: The transport each request is handed to directly, or
            ``None`` for httpx's own (:class:`httpx.AsyncHTTPTransport`),
            through the session's clients.
        parse_processes: The most worker processes list pages are parsed in
            at once; 0: on the event loop.
    """

    target: Target
    signer: Signer
    retry: RetryPolicy | None
    timeout: httpx.Timeout
    attempt_timeout: float | None
    max_response_bytes: int | None
    max_in_flight: int
    http_client: httpx.AsyncClient | None
    transport: httpx.AsyncBaseTransport | None
    parse_processes: int = 0

    @classmethod
    def build(
        cls,
        *,
        bucket: str | None,
        region: str | None,
        credentials: Credentials | CredentialsProvider | None,
        signer: Signer | None,
        endpoint: str | None,
        timeout: float | httpx.Timeout | None,
        attempt_timeout: float | None,
        retry: RetryPolicy | None,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        max_connections: int | None,
        allow_insecure_http: bool,
        max_response_bytes: int | None,
        parse_processes: int = 0,
    ) -> Settings:
        """Check ``Session``'s arguments (see there) and fill the gaps from the environment.

        Raises:
            ValueError: A bad or missing value; both ``signer`` and
                ``credentials``; both ``http_client`` and ``transport``.
            TypeError: An argument of the wrong type.
            CredentialsError: No signer, no credentials and none in the environment.
        """
        _checks.instance(allow_insecure_http, bool, "allow_insecure_http")
        try:
            target = resolve_target(
                bucket, region, endpoint, allow_insecure_http=allow_insecure_http
            )
        except ValueError:
            del endpoint  # may hold a password or a token (see endpoint_url)
            raise
        phases, per_attempt = _timeouts(timeout, attempt_timeout)
        _checks.instance(retry, RetryPolicy, "retry", optional=True)
        _checks.instance(http_client, httpx.AsyncClient, "http_client", optional=True)
        _checks.instance(transport, httpx.AsyncBaseTransport, "transport", optional=True)
        if http_client is not None and transport is not None:
            msg = "pass either http_client or transport, not both"
            raise ValueError(msg)
        if signer is not None and credentials is not None:
            msg = "pass either signer or credentials, not both (the signer holds the keys)"
            raise ValueError(msg)
        _checks.instance(signer, Signer, "signer", optional=True)
        return cls(
            target=target,
            signer=CosSigner(credentials) if signer is None else signer,
            retry=retry,
            timeout=phases,
            attempt_timeout=per_attempt,
            max_response_bytes=None
            if max_response_bytes is None
            else _checks.positive_int(max_response_bytes, "max_response_bytes", minimum=1),
            max_in_flight=_in_flight(max_connections),
            http_client=http_client,
            transport=transport,
            parse_processes=_checks.positive_int(
                parse_processes, "parse_processes", minimum=0, maximum=MAX_PARSE_PROCESSES
            ),
        )


#: Requests in flight unless told otherwise.
DEFAULT_IN_FLIGHT = 64


def _in_flight(max_connections: object) -> int:
    if max_connections is None:
        return DEFAULT_IN_FLIGHT
    return _checks.positive_int(max_connections, "max_connections", minimum=1)


def _timeouts(timeout: object, attempt_timeout: object) -> tuple[httpx.Timeout, float | None]:
    """Httpx's per-phase timeouts, and the bound on a whole attempt.

    Unless given, an attempt may take three times the largest finite phase
    (30 s for the default ``timeout=10``); with no finite phase, no bound.
    """
    if isinstance(timeout, httpx.Timeout):
        phases = timeout
    elif timeout is None:
        phases = httpx.Timeout(None)
    else:
        phases = httpx.Timeout(_checks.seconds(timeout, "timeout"))
    if attempt_timeout is not None:
        return phases, _checks.seconds(attempt_timeout, "attempt_timeout")
    finite = [value for value in phases.as_dict().values() if value is not None]
    return phases, (3 * max(finite) if finite else None)
