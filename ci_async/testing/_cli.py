"""``python -m ci_async emulator``: run the emulator on a port until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import string
import sys
import time

from .._cli import ENV_BUCKET, ENV_ENDPOINT, ENV_REGION
from .._errors import CredentialsError
from .._signing import Credentials
from ._emulator import Emulator
from ._server import AsyncServer

__all__ = ["main"]

_ALPHANUMERIC = string.ascii_letters + string.digits


def _parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m ci_async emulator",
        description=(
            "Run a fake CI batch-job service on a local port, seeded with realistic jobs. "
            "Credentials: --secret-id/--secret-key, else the client's environment variables "
            "(TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY or COS_SECRET_ID/COS_SECRET_KEY), "
            "else a generated pair, printed. Prints on stdout the export lines that point "
            "the command line at it (CI_ASYNC_ENDPOINT, CI_ASYNC_BUCKET, CI_ASYNC_REGION), "
            "then its base URL."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8321, help="port to bind, 0 for any (default: %(default)s)"
    )
    parser.add_argument(
        "--jobs", type=int, default=1000, help="how many jobs to seed (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the jobs (default: %(default)s)"
    )
    parser.add_argument(
        "--bucket",
        default="examplebucket-1250000000",
        help="the bucket served, BucketName-APPID (default: %(default)s)",
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


async def _serve(
    emulator: Emulator, host: str, port: int, generated_pair: Credentials | None
) -> None:
    server = AsyncServer(emulator.app, host, port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. on Windows
            loop.add_signal_handler(signum, stop.set)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.port}"
    for line in _announcement(emulator, url, generated_pair):
        print(line)
    # The URL comes last, on its own line: scripts wait for it to know the server is up.
    print(url, flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the emulator command.

    Args:
        argv: The arguments after ``emulator`` (default: ``sys.argv[1:]``).
        prog: The program name shown in help and errors.

    Returns:
        The exit status: 0 after a clean stop, 2 for bad arguments, 1 when the
        port cannot be bound.
    """
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.jobs < 0:
        parser.error("--jobs must not be negative")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be from 0 to 65535")
    try:
        credentials, generated = _credentials(args)
    except (CredentialsError, TypeError, ValueError) as exc:
        parser.error(str(exc))
    emulator = Emulator(
        credentials=credentials,
        verify_signatures=not args.no_verify,
        bucket=args.bucket,
        clock=time.time,
        seed=args.seed,
        prerender=args.prerender,
        record_requests=False,
    )
    emulator.generate(args.jobs, seed=args.seed)
    generated_pair = credentials if generated and not args.no_verify else None
    checks = "signatures not checked" if args.no_verify else "signatures verified"
    print(
        f"ci_async emulator: {args.jobs} jobs in bucket {args.bucket}, {checks}; stop with Ctrl-C",
        file=sys.stderr,
        flush=True,
    )
    try:
        asyncio.run(_serve(emulator, args.host, args.port, generated_pair))
    except OSError as exc:
        print(
            f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        pass
    return 0
