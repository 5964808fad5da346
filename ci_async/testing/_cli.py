"""``python -m ci_async emulator``: run the emulator on a port until SIGINT/SIGTERM.

What it prints: on stdout, once the port is bound, ``export`` lines that point
the client at it (the key pair only when it was generated), then the base URL
on a line of its own (scripts wait for it); on stderr, one summary line (and
a note when it listens on all interfaces). A usage error is one line on
stderr, ``error: <message> (see '<prog> --help')``, exit status 2; a port that
cannot be bound is one ``error:`` line, exit status 1, with nothing printed
before it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import math
import os
import re
import secrets
import signal
import socket
import string
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from .._errors import CredentialsError
from .._signing import Credentials
from ._emulator import Emulator
from ._options import TIME_BOUNDS
from ._seed import TIMELINES
from ._server import AsyncServer

__all__ = ["build_emulator", "main", "parse_args"]

# The client's configuration variables (the names ci_async's command line reads).
ENV_BUCKET = "CI_ASYNC_BUCKET"
ENV_REGION = "CI_ASYNC_REGION"
ENV_ENDPOINT = "CI_ASYNC_ENDPOINT"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

_PROG = "python -m ci_async emulator"
_ALPHANUMERIC = string.ascii_letters + string.digits
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]*-[0-9]+$")
_REGION_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Wildcard addresses, and the loopback address a client on this machine uses instead.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - names them, binds nothing
_LOOPBACK_RE = re.compile(r"^(?:127(?:\.\d{1,3}){3}|::1|localhost)$")


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see '{self.prog} --help')\n")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"must be a whole number, 0 or more, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _port(text: str) -> int:
    value = int(text) if text.isascii() and text.isdigit() else -1
    if not 0 <= value <= 65535:
        msg = f"must be from 0 to 65535 (0: any free port), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _number(text: str, *, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        wanted = "a number above 0" if positive else "a number of seconds, 0 or more"
        msg = f"must be {wanted}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _speed(text: str) -> float:
    return _number(text, positive=True)


def _seconds(text: str) -> float:
    return _number(text, positive=False)


def _host(text: str) -> str:
    if not text.strip():
        msg = "must be an address such as 127.0.0.1, 0.0.0.0 or ::"
        raise argparse.ArgumentTypeError(msg)
    return text


def _bucket(text: str) -> str:
    if not _BUCKET_RE.match(text):
        msg = f"must be BucketName-APPID (lower case, e.g. examplebucket-1250000000), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def _region(text: str) -> str:
    if not _REGION_RE.match(text):
        msg = f"must be a region such as ap-beijing, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def _parser(prog: str | None) -> _ArgumentParser:
    parser = _ArgumentParser(
        prog=prog or _PROG,
        description=(
            "Run a fake CI batch-job service on a local port, seeded with realistic jobs and "
            "the API documentation's sample jobs. Credentials: --secret-id/--secret-key, else "
            "the client's environment variables (TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY "
            "or COS_SECRET_ID/COS_SECRET_KEY), else a generated pair, printed. Once serving, "
            "prints on stdout the export lines that point the command line at it "
            f"({ENV_ENDPOINT}, {ENV_BUCKET}, {ENV_REGION}), then its base URL."
        ),
    )
    parser.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="address to bind; 0.0.0.0 or :: for all interfaces, in which case the "
        "printed URL is the loopback one (default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=_port, default=8321, help="port to bind, 0 for any (default: %(default)s)"
    )
    parser.add_argument(
        "--jobs", type=_count, default=1000, help="how many jobs to seed (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the jobs (default: %(default)s)"
    )
    parser.add_argument(
        "--no-samples",
        action="store_true",
        help="leave out the API documentation's sample jobs "
        "(b3deffea2f84911ec9cb15254008618d9, Success; be8f65004eb8511eaaed4f377124a303c, "
        "Running), which are there by default so that the documented ids work",
    )
    parser.add_argument(
        "--bucket",
        type=_bucket,
        default="examplebucket-1250000000",
        help="the one bucket served, BucketName-APPID (default: %(default)s)",
    )
    parser.add_argument(
        "--region",
        type=_region,
        default="ap-beijing",
        help="the one region served (default: %(default)s); a request whose Host is "
        "BUCKET.ci.REGION.myqcloud.com (or .cos./.pic.) naming another bucket or region "
        "gets 404 NoSuchBucket, as from the service",
    )
    parser.add_argument(
        "--timeline",
        choices=TIMELINES,
        default="quick",
        help="how long new (created) jobs queue and run: quick: 0.25-0.75 s queued, then "
        "0.5-1.25 s running, so a job ends within 2 s; realistic: 1-30 s queued (one in ten: up to "
        "30 min), then ~90 s running (median; up to 6 h) (default: %(default)s); seeded jobs "
        "always have realistic histories",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="FACTOR",
        help="divide the queue and run times of new jobs by FACTOR, e.g. --timeline realistic "
        "--speed 60 (default: %(default)s)",
    )
    parser.add_argument(
        "--time-bounds",
        choices=TIME_BOUNDS,
        default="inclusive",
        help="whether the list filters startCreationTime/endCreationTime include the jobs "
        "created exactly at them (default: %(default)s)",
    )
    parser.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay every answer by SECONDS, e.g. 0.02 (default: %(default)s)",
    )
    parser.add_argument("--secret-id", help="the SecretId to accept")
    parser.add_argument("--secret-key", help="the SecretKey to accept")
    parser.add_argument(
        "--no-verify", action="store_true", help="accept requests without checking signatures"
    )
    parser.add_argument(
        "--prerender",
        action="store_true",
        help="cache whole list pages (for benchmarks: the server is then rarely the bottleneck)",
    )
    return parser


def parse_args(argv: list[str] | None = None, prog: str | None = None) -> argparse.Namespace:
    """Parse and check the command's arguments.

    Args:
        argv: The arguments after ``emulator`` (default: ``sys.argv[1:]``).
        prog: The program name shown in help and errors.

    Returns:
        The options, with ``credentials`` (the pair to accept) and
        ``generated`` (whether that pair was generated) added.

    Raises:
        SystemExit: With status 2 after a one-line usage error, or 0 after ``--help``.
    """
    parser = _parser(prog)
    args = parser.parse_args(argv)
    try:
        args.credentials, args.generated = _credentials(args)
    except (CredentialsError, TypeError, ValueError) as exc:
        parser.error(str(exc))
    return args


def _credentials(args: argparse.Namespace) -> tuple[Credentials, bool]:
    """The pair to accept, and whether it was generated (and must be shown)."""
    if args.secret_id or args.secret_key:
        if not (args.secret_id and args.secret_key):
            msg = "give both --secret-id and --secret-key, or neither"
            raise CredentialsError(msg)
        return Credentials(args.secret_id, args.secret_key), False
    with contextlib.suppress(CredentialsError):
        return Credentials.from_env(), False
    secret_id = "AKID" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))
    secret_key = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))
    return Credentials(secret_id, secret_key), True


def build_emulator(args: argparse.Namespace) -> Emulator:
    """The emulator the command serves: settings from ``args``, seeded jobs and the samples.

    Args:
        args: What :func:`parse_args` returned.

    Returns:
        An emulator on the wall clock, seeded with ``--jobs`` generated jobs
        and (unless ``--no-samples``) the API documentation's sample jobs.
    """
    emulator = Emulator(
        credentials=args.credentials,
        verify_signatures=not args.no_verify,
        bucket=args.bucket,
        region=args.region,
        clock=time.time,
        seed=args.seed,
        prerender=args.prerender,
        record_requests=False,
        timeline=args.timeline,
        speed=args.speed,
        time_bounds=args.time_bounds,
        latency=args.latency,
    )
    emulator.generate(args.jobs, seed=args.seed)
    if not args.no_samples:
        emulator.add_samples()
    return emulator


def advertised_url(host: str, port: int) -> str:
    """The base URL a client on this machine uses for a server bound to ``host:port``.

    A wildcard address (``0.0.0.0``, ``::``) is no address to connect to: the
    loopback address of the same family stands for it.
    """
    address = _WILDCARDS.get(host, host)
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{port}"


def _announcement(emulator: Emulator, url: str, generated_pair: Credentials | None) -> list[str]:
    """The lines printed before the URL: ``export`` lines that point the client here.

    Pasted into a shell, they configure the command line (``python -m ci_async
    jobs ...``) for this emulator. The key pair is shown only when it was
    generated: a pair the user gave is never echoed.
    """
    lines = []
    if generated_pair is not None:
        lines += [
            "# generated credentials (accepted by this emulator only):",
            f"export TENCENTCLOUD_SECRET_ID={generated_pair.secret_id}",
            f"export TENCENTCLOUD_SECRET_KEY={generated_pair.secret_key}",
        ]
    lines += [
        f"export {ENV_ENDPOINT}={url}",
        f"export {ENV_BUCKET}={emulator.bucket}",
        f"export {ENV_REGION}={emulator.region}",
    ]
    return lines


def _summary(args: argparse.Namespace, port: int, url: str) -> list[str]:
    """The lines for stderr once serving: what is served, and how to reach it."""
    samples = "" if args.no_samples else " and the 2 API samples"
    checks = "signatures not checked" if args.no_verify else "signatures verified"
    speed = "" if args.speed == 1 else f" x{args.speed:g}"
    summary = (
        f"ci_async emulator: {args.jobs} jobs{samples} in bucket {args.bucket} "
        f"({args.region}), {checks}, {args.timeline}{speed} timeline for new jobs; "
        "stop with Ctrl-C"
    )
    lines = [summary]
    if args.host in _WILDCARDS:
        lines.append(
            f"ci_async emulator: listening on all interfaces ({args.host} port {port}); "
            f"clients on this machine use {url}"
        )
    elif not _LOOPBACK_RE.match(args.host):
        lines.append(
            f"ci_async emulator: note: ci_async clients accept plain http only to loopback "
            f"hosts; {url} needs allow_insecure_http"
        )
    return lines


async def _serve(
    emulator: Emulator, host: str, port: int, ready: Callable[[int], None]
) -> OSError | None:
    """Serve until SIGINT/SIGTERM, calling ``ready(port)`` once the port is bound.

    Returns:
        ``None`` after a stop, or the error that kept the port from being bound
        (then ``ready`` is not called).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. on Windows
            loop.add_signal_handler(signum, stop.set)
    server = AsyncServer(emulator.app, host, port)
    try:
        await server.start()
    except OSError as exc:
        await server.close()
        return exc
    try:
        ready(server.port)
        await stop.wait()
    finally:
        await server.close()
    return None


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if isinstance(exc, socket.gaierror) or not exc.errno or exc.errno < 0:
        reason = str(exc.strerror or exc) or type(exc).__name__
    else:
        reason = os.strerror(exc.errno).lower()
    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
        hint = "; choose another --port, or --port 0 for any free port"
    else:
        hint = ""
    shown = f"[{host}]" if ":" in host else host
    return f"error: cannot listen on {shown}:{port}: {reason}{hint}"


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the emulator command.

    Args:
        argv: The arguments after ``emulator`` (default: ``sys.argv[1:]``).
        prog: The program name shown in help and errors.

    Returns:
        The exit status: 0 after a clean stop, 1 when the port cannot be
        bound. Bad arguments exit with status 2 (``SystemExit``).
    """
    args = parse_args(argv, prog)
    try:
        emulator = build_emulator(args)
    except KeyboardInterrupt:
        return EXIT_OK
    generated_pair = args.credentials if args.generated and not args.no_verify else None

    def ready(port: int) -> None:
        url = advertised_url(args.host, port)
        for line in _summary(args, port, url):
            print(line, file=sys.stderr, flush=True)
        for line in _announcement(emulator, url, generated_pair):
            print(line)
        # The URL comes last, on its own line: scripts wait for it to know the server is up.
        print(url, flush=True)

    try:
        failure = asyncio.run(_serve(emulator, args.host, args.port, ready))
    except KeyboardInterrupt:
        return EXIT_OK
    if failure is not None:
        print(_bind_error(args.host, args.port, failure), file=sys.stderr, flush=True)
        return EXIT_ERROR
    return EXIT_OK
