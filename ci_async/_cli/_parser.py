"""The argument parser of ``ci-async``: commands, options, help texts and argument types."""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from typing import NoReturn

from .._format import escape
from .._models import JobState, JobType
from .._version import version
from ._commands import cmd_cancel, cmd_create, cmd_get, cmd_list, cmd_wait
from ._common import ENV_BUCKET, ENV_ENDPOINT, ENV_REGION, EXIT_USAGE

__all__ = ["build_parser", "parse_datetime"]

_EXAMPLE_ID = "b3deffea2f84911ec9cb15254008618d9"

_TOP_EPILOG = f"""\
command examples:
  jobs list     list jobs page by page, with every filter of the service
                  ci-async jobs list --state Running,Failed --order asc --limit 50
  jobs get      describe one or more jobs by id
                  ci-async jobs get {_EXAMPLE_ID}
  jobs wait     poll a job until it succeeds, fails or is cancelled
                  ci-async jobs wait {_EXAMPLE_ID} --timeout 600
  jobs create   create a Workflow job or a Job job
                  ci-async jobs create --name nightly --prefix photos/ --workflow-id w1
  jobs cancel   cancel a job
                  ci-async jobs cancel {_EXAMPLE_ID}
  emulator      run the fake CI server on a loopback port (tests, demos)
                  ci-async emulator --port 8321 --jobs 10000

examples:
  export TENCENTCLOUD_SECRET_ID=AKID... TENCENTCLOUD_SECRET_KEY=...
  export {ENV_BUCKET}=examplebucket-1250000000 {ENV_REGION}=ap-beijing
  ci-async jobs list --json | jq -r .job_id
  ci-async --endpoint http://127.0.0.1:8321 jobs list --type Job

environment:
  TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN
  for temporary credentials), or COS_SECRET_ID, COS_SECRET_KEY: the credentials;
  never given as options.
  {ENV_BUCKET}, {ENV_REGION}, {ENV_ENDPOINT}: defaults for --bucket, --region
  and --endpoint.

exit status:
  0 success; 1 service/network/credentials error, job not found, or the
  waited-for job ended Failed or Cancel; 2 bad usage or invalid argument;
  124 'jobs wait' timed out; 130 interrupted; 141 stdout closed early (| head).
"""

_JOBS_EPILOG = f"""\
examples:
  list     ci-async jobs list --type Job --state Failed --created-after 2024-05-01T00:00:00+08:00
  get      ci-async jobs get {_EXAMPLE_ID} {_EXAMPLE_ID[:-1]}e
  wait     ci-async jobs wait {_EXAMPLE_ID} --timeout 600 --poll-interval 5
  create   ci-async jobs create --name resize --object a.jpg --queue-id q1 --template-id t1
  cancel   ci-async jobs cancel {_EXAMPLE_ID}
"""

_LIST_EPILOG = """\
examples:
  ci-async jobs list
  ci-async jobs list --state Running,Failed --order asc --page-size 100
  ci-async jobs list --type Workflow --workflow-id w1 --created-after 2024-05-01T00:00:00Z
  ci-async jobs list --json --limit 1000 > jobs.jsonl
  ci-async jobs list --next-token ZDE3MTQ1MjgwMDAuMHxiM2Rl    # resume a listing

Interrupted with Ctrl-C, the listing prints the --next-token that resumes it
(on stderr, shell-quoted) and exits with status 130; so does --limit when
jobs remain. With --json each job is one JSON object
per line (stable keys, ISO 8601 datetimes). On a terminal a progress line on
stderr counts jobs and pages (--no-progress turns it off).
"""

_GET_EPILOG = f"""\
examples:
  ci-async jobs get {_EXAMPLE_ID}
  ci-async jobs get ID1 ID2 ID3 --json

Ids that do not exist are reported on stderr and the exit status is 1.
"""

_WAIT_EPILOG = f"""\
examples:
  ci-async jobs wait {_EXAMPLE_ID}
  ci-async jobs wait {_EXAMPLE_ID} --timeout 3600 --poll-interval 10 --json

State changes are printed on stderr, the final job on stdout. Exit status: 0
when the job ends in Success, 1 when it ends Failed or Cancel, 124 when
--timeout passes first. Here --timeout is the whole wait; the per-request
timeout is --request-timeout (or the global --timeout before 'jobs').
"""

_CREATE_EPILOG = """\
examples:
  # a Workflow job: run workflows over the objects under a prefix
  ci-async jobs create --name nightly --prefix photos/ --workflow-id w1 --workflow-id w2
  # a Job job: apply a template on a queue, write to an output bucket
  ci-async jobs create --name resize --manifest inventory/manifest.json \\
      --queue-id p2242ab62c7c94486915508540933a2c6 --template-id t1 --tag Transcode \\
      --output-region ap-chongqing --output-bucket out-1250000000 \\
      --output-object 'out/${InventoryTriggerJobId}'
  # only objects created in a time window
  ci-async jobs create --name window --prefix logs/ --workflow-id w1 \\
      --start 2024-05-01T00:00:00+08:00 --end 2024-05-02T00:00:00+08:00

Exactly one of --prefix, --manifest, --url-file, --object says what to process.
With --workflow-id the job is a Workflow job, otherwise a Job job.
"""

_CANCEL_EPILOG = f"""\
examples:
  ci-async jobs cancel {_EXAMPLE_ID}
  ci-async jobs cancel {_EXAMPLE_ID} --json

Prints the job as it is after the cancellation.
"""

_EMULATOR_HELP = """\
run the fake CI server on a loopback port, e.g.
  ci-async emulator --port 8321 --jobs 10000
(see 'ci-async emulator --help' for its options)
"""

_JSON_HELP = "print JSON lines (one object per job, stable keys, ISO 8601 datetimes)"


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``error: MESSAGE (see 'PROG --help')`` on stderr and exit with status 2.

        Args:
            message: What is wrong (escaped: it may quote what was typed).
        """
        self.exit(EXIT_USAGE, f"error: {escape(message)} (see '{self.prog} --help')\n")


# --- argument types ----------------------------------------------------------

#: The forms accepted: ISO 8601 extended format with a UTC offset, a little looser
#: than the wire format (and than 3.10's ``datetime.fromisoformat``): a space for
#: the ``T``, optional seconds, 1 to 6 fraction digits after ``.`` or ``,``,
#: offsets as ``Z``, ``+08``, ``+0800`` or ``+08:00``.
_ISO_RE = re.compile(
    r"""
    (?P<date>\d{4}-\d{2}-\d{2})
    (?:[T\ ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?)?
    (?P<offset>(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hours>\d{2})(?::?(?P<off_minutes>\d{2}))?)?
    """,
    re.VERBOSE,
)


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time that carries a UTC offset.

    Accepts ``2024-05-01T08:00:00+08:00``, ``+0800``, ``+08``, ``Z``, a space
    instead of ``T``, optional seconds and fractions. A time without an offset
    is ambiguous and rejected. The text is brought to the one form every
    supported Python's :meth:`datetime.fromisoformat` reads
    (``2024-05-01T08:00:00.000000+08:00``), which then checks the ranges.

    Args:
        text: The command-line value.

    Returns:
        An aware datetime.

    Raises:
        argparse.ArgumentTypeError: The value is not such a date-time, or has no offset.
    """
    match = _ISO_RE.fullmatch(text.strip())
    if match is None:
        msg = f"invalid date-time {text!r}: use ISO 8601, e.g. 2024-05-01T08:00:00+08:00"
        raise argparse.ArgumentTypeError(msg)
    if match["offset"] is None:
        msg = (
            f"date-time {text!r} has no UTC offset: add one, "
            "e.g. 2024-05-01T08:00:00+08:00 or 2024-05-01T00:00:00Z"
        )
        raise argparse.ArgumentTypeError(msg)
    if int(match["hour"] or 0) > 23:
        # 24:00, ISO 8601's end of a day, is refused alike on every Python version.
        msg = f"invalid date-time {text!r}: hour must be 00 to 23"
        raise argparse.ArgumentTypeError(msg)
    if match["utc"]:
        offset = "+00:00"
    elif int(match["off_minutes"] or 0) >= 60:
        msg = f"invalid UTC offset in {text!r}"
        raise argparse.ArgumentTypeError(msg)
    else:
        offset = f"{match['sign']}{match['off_hours']}:{match['off_minutes'] or '00'}"
    canonical = (
        f"{match['date']}T{match['hour'] or '00'}:{match['minute'] or '00'}:"
        f"{match['second'] or '00'}.{(match['fraction'] or '').ljust(6, '0')}{offset}"
    )
    try:
        return datetime.fromisoformat(canonical)
    except ValueError as exc:
        msg = f"invalid date-time {text!r}: {exc}"
        raise argparse.ArgumentTypeError(msg) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a positive whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        msg = f"expected a positive number of seconds, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _job_type(text: str) -> str:
    for member in JobType:
        if text.strip().lower() == member.value.lower():
            return member.value
    choices = ", ".join(m.value for m in JobType)
    msg = f"invalid job type {text!r} (choose from {choices})"
    raise argparse.ArgumentTypeError(msg)


def _states(text: str) -> list[str]:
    states: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if not name:
            continue
        for member in JobState:
            if name == member.value.lower():
                states.append(member.value)
                break
        else:
            choices = ", ".join(m.value for m in JobState)
            msg = f"invalid job state {part.strip()!r} (choose from {choices})"
            raise argparse.ArgumentTypeError(msg)
    return states


# --- the parser ----------------------------------------------------------------


def _common_options(*, request_timeout_as_timeout: bool = True) -> _ArgumentParser:
    """Options accepted before 'jobs' and after any jobs subcommand alike."""
    common = _ArgumentParser(add_help=False)
    group = common.add_argument_group("connection options")
    # SUPPRESS: a value given before the subcommand is not reset by the subcommand's default.
    group.add_argument(
        "--bucket",
        default=argparse.SUPPRESS,
        help=f"the bucket, BucketName-APPID (default: ${ENV_BUCKET})",
    )
    group.add_argument(
        "--region",
        default=argparse.SUPPRESS,
        help=f"the region, e.g. ap-beijing (default: ${ENV_REGION})",
    )
    group.add_argument(
        "--endpoint",
        default=argparse.SUPPRESS,
        metavar="URL",
        help=f"base URL instead of https://BUCKET.ci.REGION.myqcloud.com, e.g. an emulator's "
        f"http://127.0.0.1:8321 (default: ${ENV_ENDPOINT})",
    )
    flags = (
        ["--timeout", "--request-timeout"] if request_timeout_as_timeout else ["--request-timeout"]
    )
    group.add_argument(
        *flags,
        dest="request_timeout",
        type=_seconds,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="timeout of each HTTP request (default: 10)",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=argparse.SUPPRESS,
        help="accept a plain http:// --endpoint on a host that is not loopback "
        "(requests then travel unencrypted)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log to stderr: -v requests and retries, -vv debug details",
    )
    return common


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the whole command line.

    Args:
        prog: The program name shown in help and errors (default: from ``sys.argv``).

    Returns:
        The parser; ``parse_known_args`` leaves the ``emulator`` command's
        arguments unparsed (they belong to the emulator's own parser).
    """
    common = _common_options()
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _ArgumentParser(
        prog=prog,
        description="Command line for the Tencent Cloud Infinite (CI) batch job API.",
        epilog=_TOP_EPILOG,
        formatter_class=fmt,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.set_defaults(handler=None, command=None)
    commands = parser.add_subparsers(title="commands", metavar="{jobs,emulator}")

    jobs = commands.add_parser(
        "jobs",
        help="list, describe, wait for, create and cancel jobs",
        description="List, describe, wait for, create and cancel jobs.",
        epilog=_JOBS_EPILOG,
        formatter_class=fmt,
    )
    jobs.set_defaults(command="jobs", jobs_parser=jobs)
    sub = jobs.add_subparsers(title="commands", metavar="{list,get,wait,create,cancel}")

    # jobs list
    p = sub.add_parser(
        "list",
        parents=[common],
        help="list jobs page by page",
        description="List jobs, following the service's pages (NextToken) to the end.",
        epilog=_LIST_EPILOG,
        formatter_class=fmt,
    )
    p.set_defaults(handler=cmd_list)
    filters = p.add_argument_group("filters")
    filters.add_argument("--type", type=_job_type, help="Workflow or Job")
    filters.add_argument(
        "--state",
        dest="states",
        action="append",
        type=_states,
        metavar="STATE[,STATE...]",
        help="Submitted, Running, Success, Failed, Pause, Cancel; repeat or comma-separate",
    )
    filters.add_argument(
        "--order",
        type=str.lower,
        choices=["asc", "desc"],
        help="by creation time: desc (newest first, the service's default) or asc",
    )
    filters.add_argument(
        "--created-after",
        type=parse_datetime,
        metavar="TIME",
        help="created at or after TIME, ISO 8601 with offset (2024-05-01T00:00:00+08:00)",
    )
    filters.add_argument(
        "--created-before",
        type=parse_datetime,
        metavar="TIME",
        help="created at or before TIME, ISO 8601 with offset",
    )
    filters.add_argument("--workflow-id", help="jobs of this workflow")
    filters.add_argument("--job-id", help="this job id")
    filters.add_argument("--name", help="jobs with this name")
    paging = p.add_argument_group("paging and output")
    paging.add_argument(
        "--page-size", type=_positive_int, metavar="N", help="jobs per request, 1-100"
    )
    paging.add_argument("--limit", type=_positive_int, metavar="N", help="stop after N jobs")
    paging.add_argument("--next-token", metavar="TOKEN", help="resume a listing where it stopped")
    paging.add_argument("--json", action="store_true", help=_JSON_HELP)
    paging.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress line on stderr (shown only when stderr is a terminal)",
    )

    # jobs get
    p = sub.add_parser(
        "get",
        parents=[common],
        help="describe jobs by id",
        description="Describe one or more jobs by id (several ids are fetched concurrently).",
        epilog=_GET_EPILOG,
        formatter_class=fmt,
    )
    p.set_defaults(handler=cmd_get)
    p.add_argument("job_ids", nargs="+", metavar="ID", help="a job id")
    p.add_argument("--json", action="store_true", help=_JSON_HELP)

    # jobs wait
    p = sub.add_parser(
        "wait",
        parents=[_common_options(request_timeout_as_timeout=False)],
        help="wait until a job succeeds, fails or is cancelled",
        description="Poll a job until it reaches a terminal state (Success, Failed, Cancel).",
        epilog=_WAIT_EPILOG,
        formatter_class=fmt,
    )
    p.set_defaults(handler=cmd_wait)
    p.add_argument("job_id", metavar="ID", help="the job id")
    p.add_argument(
        "--timeout",
        dest="wait_timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up after this long (default: wait for ever)",
    )
    p.add_argument(
        "--poll-interval",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="pause before the second poll; later pauses grow to 30 s at most (default: 2)",
    )
    p.add_argument("--json", action="store_true", help=_JSON_HELP)

    # jobs create
    p = sub.add_parser(
        "create",
        parents=[common],
        help="create a job",
        description="Create a Workflow job (with --workflow-id) or a Job job "
        "(a template on a queue).",
        epilog=_CREATE_EPILOG,
        formatter_class=fmt,
    )
    p.set_defaults(handler=cmd_create)
    p.add_argument("--name", required=True, help="the job's name")
    source = p.add_argument_group("input (exactly one)")
    what = source.add_mutually_exclusive_group(required=True)
    what.add_argument("--prefix", help="process the objects under this key prefix")
    what.add_argument("--manifest", help="process the objects listed in this inventory manifest")
    what.add_argument("--url-file", help="process the URLs listed in this file")
    what.add_argument("--object", help="process this one object")
    op = p.add_argument_group("operation")
    op.add_argument(
        "--workflow-id",
        dest="workflow_ids",
        action="append",
        default=[],
        metavar="ID",
        help="a workflow to trigger (repeat for several): makes a Workflow job",
    )
    op.add_argument("--tag", help="the processing kind of a Job job, e.g. Transcode")
    op.add_argument("--queue-id", help="the queue a Job job runs on")
    op.add_argument("--template-id", help="the template a Job job applies")
    op.add_argument("--output-region", help="output bucket's region")
    op.add_argument("--output-bucket", help="output bucket, BucketName-APPID")
    op.add_argument("--output-object", help="output object key")
    op.add_argument("--user-data", help="free text passed through to callbacks")
    op.add_argument("--callback", metavar="URL", help="callback URL")
    op.add_argument("--job-level", type=int, metavar="N", help="priority (0, 1 or 2)")
    op.add_argument(
        "--start",
        type=parse_datetime,
        metavar="TIME",
        help="only objects created at or after TIME (ISO 8601 with offset)",
    )
    op.add_argument(
        "--end",
        type=parse_datetime,
        metavar="TIME",
        help="only objects created up to TIME (ISO 8601 with offset)",
    )
    p.add_argument("--json", action="store_true", help=_JSON_HELP)

    # jobs cancel
    p = sub.add_parser(
        "cancel",
        parents=[common],
        help="cancel a job",
        description="Cancel a job, then print it as it is afterwards.",
        epilog=_CANCEL_EPILOG,
        formatter_class=fmt,
    )
    p.set_defaults(handler=cmd_cancel)
    p.add_argument("job_id", metavar="ID", help="the job id")
    p.add_argument("--json", action="store_true", help=_JSON_HELP)

    # emulator: its arguments are parsed by ci_async.testing's own command.
    p = commands.add_parser(
        "emulator",
        add_help=False,
        help="run the fake CI server on a loopback port",
        description=_EMULATOR_HELP,
    )
    p.set_defaults(command="emulator")
    return parser
