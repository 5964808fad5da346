"""The ``ci-async`` command line (also ``python -m ci_async``).

The package: :mod:`._parser` (options, help texts, argument types),
:mod:`._commands` (the ``jobs`` commands), :mod:`._output` (stdout, stderr
notes, the progress line, quoting, logging), :mod:`._hints` (what to do after
an error), :mod:`._common` (exit statuses, environment names); :func:`main`
here runs them.

Commands::

    ci-async jobs list     list jobs (every filter), page by page; --json for JSON lines
    ci-async jobs get      describe one or more jobs by id
    ci-async jobs wait     poll a job until it reaches a terminal state
    ci-async jobs create   create a Workflow job or a Job job
    ci-async jobs cancel   cancel a job
    ci-async emulator      run the fake CI server on a loopback port

Credentials come from the environment only (``TENCENTCLOUD_SECRET_ID``,
``TENCENTCLOUD_SECRET_KEY``, optional ``TENCENTCLOUD_SESSION_TOKEN``; see
:meth:`ci_async.Credentials.from_env`), never from flags. The bucket, region and
endpoint come from ``--bucket``/``--region``/``--endpoint`` or from
``CI_ASYNC_BUCKET``/``CI_ASYNC_REGION``/``CI_ASYNC_ENDPOINT``. A plain
``http://`` endpoint on a host that is not loopback needs ``--allow-insecure-http``.

Expected failures print one ``error: ...`` line on stderr, never a traceback,
ending with a hint when there is a likely remedy (:mod:`._hints`). Text from
the service is escaped and bounded wherever it is printed for people
(:func:`ci_async._format.escape`); ``--json`` lines are valid JSON.
Exit status: 0 success; 1 a service, network or credentials error, a job not
found (``get``), or a job that ended Failed or Cancel (``wait``); 2 bad usage or
an invalid argument; 124 ``wait`` timed out; 130 interrupted (Ctrl-C); 141 the
reader of stdout went away (``| head``), as for a process killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from .._errors import CIError
from ._commands import setting
from ._common import (
    ENV_BUCKET,
    ENV_ENDPOINT,
    ENV_REGION,
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
)
from ._hints import describe_error
from ._output import Console, error_text, logging_to, plural, resume_option
from ._parser import build_parser, parse_datetime

__all__ = ["ENV_BUCKET", "ENV_ENDPOINT", "ENV_REGION", "build_parser", "main", "parse_datetime"]


def _run_emulator(argv: Sequence[str], prog: str) -> int:
    try:
        from ..testing._cli import main as emulator_main
    except ImportError as exc:
        sys.stderr.write(
            f"error: the emulator is not available ({error_text(exc)}); "
            "install it with: pip install 'ci-async[testing]'\n"
        )
        return EXIT_ERROR
    return emulator_main(list(argv), prog=f"{prog} emulator")


def _silence_stdout() -> None:
    """Point stdout at devnull so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class _CancelledByUserError(Exception):
    """Ctrl-C arrived while the command ran; everything has been cleaned up."""


def _run(
    handler: Callable[[argparse.Namespace, Console], Awaitable[int]],
    args: argparse.Namespace,
    out: Console,
) -> int:
    """Run a command on a new event loop; Ctrl-C cancels it cleanly.

    SIGINT is turned into a cancellation of the command's task (as Python
    3.11+ does by default, and 3.10 does not: there a KeyboardInterrupt could
    surface inside any task, e.g. a page being prefetched). The command's
    ``async with`` blocks close the session and cancel requests in flight,
    then :class:`_CancelledByUserError` is raised.
    """
    interrupted = False

    async def runner() -> int:
        nonlocal interrupted
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            installed = False
        try:
            return await handler(args, out)
        except asyncio.CancelledError:
            if interrupted:
                return EXIT_INTERRUPTED
            raise
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    status = asyncio.run(runner())
    if interrupted:
        raise _CancelledByUserError
    return status


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the command line and return its exit status.

    Args:
        argv: The arguments, without the program name (default: ``sys.argv[1:]``).
        prog: The program name shown in help and errors.

    Returns:
        The exit status (see the module docstring).
    """
    parser = build_parser(prog)
    args, extras = parser.parse_known_args(argv)
    if args.command == "emulator":
        return _run_emulator(extras, parser.prog)
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if args.handler is None:
        target: argparse.ArgumentParser = getattr(args, "jobs_parser", parser)
        target.print_help(sys.stderr)
        return EXIT_USAGE
    out = Console(sys.stdout, sys.stderr)
    try:
        with logging_to(sys.stderr, getattr(args, "verbose", 0) or 0):
            return _run(args.handler, args, out)
    except (KeyboardInterrupt, _CancelledByUserError):
        if out.progress is not None:
            out.progress.clear()
        if out.listing:
            text = f"interrupted after {plural(out.listed, 'job')}"
            if out.resume_token:
                text += f"; resume with: {resume_option(out.resume_token)}"
            out.note(text)
        else:
            out.note("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as exc:
        out.note(f"error: {error_text(exc)}")
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        # Argument validation by the library, before any request: ids, filters,
        # bucket, region, endpoint, and the rules of a job to create.
        out.note(f"error: {error_text(exc)}")
        return EXIT_USAGE
    except CIError as exc:
        endpoint = setting(args, "endpoint", ENV_ENDPOINT)
        out.note(f"error: {describe_error(exc, endpoint=endpoint)}")
        return EXIT_ERROR
