"""What every part of the command line shares: exit statuses, environment names, usage errors."""

from __future__ import annotations

# The defaults of --bucket, --region and --endpoint: the library reads the same variables.
from .._config import ENV_BUCKET, ENV_ENDPOINT, ENV_REGION

__all__ = [
    "ENV_BUCKET",
    "ENV_ENDPOINT",
    "ENV_REGION",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_WAIT_TIMEOUT",
    "UsageError",
]

#: Success.
EXIT_OK = 0
#: A service, network or credentials error; a job not found; a waited-for job that failed.
EXIT_ERROR = 1
#: Bad usage or an invalid argument.
EXIT_USAGE = 2
#: ``jobs wait`` ran out of time.
EXIT_WAIT_TIMEOUT = 124
#: Interrupted (Ctrl-C).
EXIT_INTERRUPTED = 130
#: The reader of stdout went away, as for a process killed by SIGPIPE.
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A problem with the command line found after parsing (exit status 2)."""
