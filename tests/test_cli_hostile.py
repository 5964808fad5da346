"""Service text is untrusted: the command line prints it escaped and bounded.

A hostile service (the emulator behind a rewriting ASGI wrapper, or a raw
socket server for bytes no well-behaved HTTP server sends) answers with job
names, states, tokens, messages and request ids full of newlines, carriage
returns, terminal escape sequences, C1 controls, bidirectional overrides and
megabytes of text. Whatever it sends, every line the command line writes is
printable (no raw control character reaches the terminal, no forged line
starts) and bounded; ``--json`` stays valid JSON that decodes to what was sent.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ci_async._cli._output import MAX_TOKEN_SHOWN, ansi_c_quote, resume_option
from ci_async.testing import Emulator, EmulatorServer, RecordedRequest

from .test_cli import (  # noqa: F401 - fixtures are found by name
    fixture_cli_env,
    fixture_emulator,
    fixture_server,
    json_lines,
    run_cli,
)

#: The longest line any output may have: an ``error:`` line (1,000 characters
#: of escaped exception text) with a hint; a table row; a detail value.
LINE_BOUND = 1300

HOSTILE_NAMES = [
    "evil\nerror: forged line",
    "c1 csi \x9b2J clears",
    "bidi \u202egnp.exe",
    "tab\tand\u2028line separator",
    "long " + "x" * 5000,
]


def assert_terminal_safe(text: str) -> None:
    """Every line of ``text`` is printable and at most ``LINE_BOUND`` characters."""
    for line in text.split("\n"):
        assert line.isprintable(), f"raw control character in {line[:120]!r}"
        assert len(line) <= LINE_BOUND, f"a line of {len(line)} characters"


# --- a hostile service ------------------------------------------------------------------


class Rewriting:
    """An ASGI app that passes requests to ``app`` and rewrites each response body.

    Args:
        app: The emulator's ASGI app.
        edit: Turns the body the emulator wrote into the body sent.
    """

    def __init__(self, app: Any, edit: Callable[[bytes], bytes]) -> None:
        self._app = app
        self._edit = edit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            new = self._edit(bytes(body))
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(new)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": new, "more_body": False})

        await self._app(scope, receive, rewrite)


@contextmanager
def hostile(emulator: Emulator, edit: Callable[[bytes], bytes]) -> Iterator[str]:
    """The emulator behind :class:`Rewriting` on a loopback port; yields its URL."""
    with EmulatorServer(Rewriting(emulator.app, edit)) as server:
        yield server.url


def xml_text(text: str) -> str:
    """``text`` for an XML document: markup and everything but printable ASCII as references."""
    return "".join(
        c if c.isascii() and c.isprintable() and c not in "<>&" else f"&#{ord(c)};" for c in text
    )


def replace(tag: str, old: str, new: str) -> Callable[[bytes], bytes]:
    """An edit that turns every ``<tag>old</tag>`` into ``<tag>new</tag>``.

    XML 1.0 cannot carry C0 controls other than tab, LF and CR (not even as
    references); everything else, C1 controls included, it can.
    """
    before = f"<{tag}>{old}</{tag}>".encode()
    after = f"<{tag}>{xml_text(new)}</{tag}>".encode()
    return lambda body: body.replace(before, after)


class RawServer:
    """A loopback TCP server answering every request with the same raw bytes.

    For what an HTTP server library refuses to send: control characters in a
    header value.

    Args:
        response: The whole response, status line to body.
    """

    def __init__(self, response: bytes) -> None:
        answer = response

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    received += chunk
                self.request.sendall(answer)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def raw_response(status: str, body: bytes, *headers: bytes) -> bytes:
    """An HTTP/1.1 response that closes the connection."""
    head = [f"HTTP/1.1 {status}".encode(), b"Content-Type: application/xml", *headers]
    head += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


# --- jobs ----------------------------------------------------------------------------


@pytest.fixture(name="hostile_jobs")
def fixture_hostile_jobs(emulator: Emulator) -> list[str]:
    """The ids of jobs with hostile names, newest first (as listed)."""
    later = emulator.now() + 60  # after every generated job, one second apart
    ids = [
        emulator.add_job(name=name, state="Success", creation_time=later + i).job_id
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    return ids[::-1]


def test_table_of_hostile_jobs_has_one_printable_row_each(
    emulator: Emulator, hostile_jobs: list[str], cli_env: dict[str, str]
) -> None:
    """Names with newlines and escapes, and a forged state, stay in their rows, escaped."""
    edit = replace("State", "Success", "Weird\n<forged>\x9b")
    with hostile(emulator, edit) as url:
        result = run_cli(
            {**cli_env, "CI_ASYNC_ENDPOINT": url},
            "jobs",
            "list",
            "--limit",
            str(len(HOSTILE_NAMES)),
        )
    rows = result.stdout.splitlines()
    assert_terminal_safe(result.stdout + result.stderr)
    assert (0, hostile_jobs, True, True) == (
        result.returncode,
        [row.split()[0] for row in rows[1:]],
        all("Weird\\n<forged>\\x9b" in row for row in rows[1:]),
        "evil\\nerror: forged line" in result.stdout,
    )


def test_detail_of_a_hostile_job_is_escaped_and_bounded(
    emulator: Emulator, hostile_jobs: list[str], cli_env: dict[str, str]
) -> None:
    """``jobs get``: every field on its own printable line, the 5,000-character name cut."""
    message = xml_text("line one\r\nerror: forged \x9b[2J")

    def edit(body: bytes) -> bytes:
        return body.replace(b"<Message/>", f"<Message>{message}</Message>".encode())

    with hostile(emulator, edit) as url:
        result = run_cli({**cli_env, "CI_ASYNC_ENDPOINT": url}, "jobs", "get", *hostile_jobs)
    assert_terminal_safe(result.stdout + result.stderr)
    lines = result.stdout.splitlines()
    names = [line for line in lines if line.startswith("name:")]
    messages = [line.split(":", 1)[1].strip() for line in lines if line.startswith("message:")]
    assert (0, len(HOSTILE_NAMES), True) == (
        result.returncode,
        len(names),
        any(name.endswith("\u2026") for name in names),
    )
    assert ["line one\\r\\nerror: forged \\x9b[2J"] * len(HOSTILE_NAMES) == messages


def test_json_of_hostile_jobs_is_printable_and_exact(
    emulator: Emulator, hostile_jobs: list[str], cli_env: dict[str, str]
) -> None:
    """``--json`` lines are printable, valid JSON, and hold the names exactly as sent."""
    result = run_cli(cli_env, "jobs", "list", "--json", "--limit", str(len(HOSTILE_NAMES)))
    assert all(line.isprintable() for line in result.stdout.splitlines())
    assert HOSTILE_NAMES[::-1] == [job["name"] for job in json_lines(result.stdout)]


def test_wait_prints_a_hostile_state_escaped(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """A state with CR LF and a forged line is one escaped state-change line; so is the timeout."""
    job = emulator.add_job(state="Running")
    with hostile(emulator, replace("State", "Running", "Weird\r\n<forged>\x9b")) as url:
        result = run_cli(
            {**cli_env, "CI_ASYNC_ENDPOINT": url},
            "jobs", "wait", job.job_id, "--timeout", "2", "--poll-interval", "0.05",
        )  # fmt: skip
    lines = result.stderr.splitlines()
    assert_terminal_safe(result.stderr)
    assert (124, 2, True, True) == (
        result.returncode,
        len(lines),
        lines[0].endswith(f" {job.job_id} Weird\\r\\n<forged>\\x9b"),
        lines[1].startswith("error: ") and "Weird\\r\\n<forged>\\x9b" in lines[1],
    )


# --- tokens -------------------------------------------------------------------------


def first_token() -> Callable[[bytes], bytes]:
    """An edit that replaces the first page's ``NextToken``, whatever it is, by a marker."""

    def edit(body: bytes) -> bytes:
        start = body.find(b"<NextToken>")
        if start < 0:
            return body
        end = body.index(b"</NextToken>", start)
        return body[: start + len(b"<NextToken>")] + b"@TOKEN@" + body[end:]

    return edit


def listing_with_token(
    emulator: Emulator, cli_env: dict[str, str], token: str
) -> subprocess.CompletedProcess[str]:
    """``jobs list --limit 1`` against a service whose first page ends with ``token``."""
    mark = first_token()
    fill = replace("NextToken", "@TOKEN@", token)
    with hostile(emulator, lambda body: fill(mark(body))) as url:
        return run_cli(
            {**cli_env, "CI_ASYNC_ENDPOINT": url},
            "jobs", "list", "--json", "--limit", "1", "--page-size", "1",
        )  # fmt: skip


def test_continue_token_with_shell_characters_pastes_back(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """A printable token with quotes, spaces and ``$(...)`` is shell-quoted: it pastes back."""
    token = "a b;$(echo pwned)'\"`x`"
    result = listing_with_token(emulator, cli_env, token)
    line = result.stderr.splitlines()[-1]
    pasted = shlex.split(line.split("continue with: ", 1)[1])
    assert (0, ["--next-token", token]) == (result.returncode, pasted)


def test_continue_token_with_a_newline_cannot_forge_a_line(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """A token with a newline is printed escaped on the one note line, which says so."""
    result = listing_with_token(emulator, cli_env, "tok\nerror: forged\x9b[2J")
    lines = result.stderr.splitlines()
    assert_terminal_safe(result.stderr)
    assert (0, 1, True, True) == (
        result.returncode,
        len(lines),
        "--next-token $'tok\\nerror: forged\\u009b[2J' (" in lines[0],
        "control characters" in lines[0],
    )


def test_ctrl_c_resume_token_is_escaped(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """Interrupted, a listing prints its resume token through the same quoting."""

    def later_page(request: RecordedRequest) -> bool:
        return "nexttoken" in {name.lower() for name, _ in request.query}

    emulator.faults.hang_next(1, op="list", when=later_page)  # page 2 never comes
    mark = first_token()
    fill = replace("NextToken", "@TOKEN@", "tok\nforged")
    with (
        hostile(emulator, lambda body: fill(mark(body))) as url,
        subprocess.Popen(
            [sys.executable, "-m", "ci_async", "jobs", "list", "--json", "--page-size", "10"],
            env={**cli_env, "CI_ASYNC_ENDPOINT": url},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ) as proc,
    ):  # fmt: skip
        assert proc.stdout is not None
        for _ in range(10):  # the first page has been printed
            proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert_terminal_safe(err)
    assert (130, True) == (
        proc.returncode,
        err.splitlines()[-1].startswith(
            "interrupted after 10 jobs; resume with: --next-token $'tok\\nforged' ("
        ),
    )


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("ZDE3MTQ1MjgwMDAuMHxiM2Rl", "--next-token ZDE3MTQ1MjgwMDAuMHxiM2Rl"),
        ("25", "--next-token 25"),
        ("a b", "--next-token 'a b'"),
        ("it's", "--next-token 'it'\"'\"'s'"),
    ],
)
def test_printable_tokens_are_shell_quoted(token: str, expected: str) -> None:
    """Printable tokens: as is when safe, else :func:`shlex.quote`."""
    assert expected == resume_option(token)


def test_an_overlong_token_is_not_printed() -> None:
    """A token longer than the bound is described, not printed."""
    text = resume_option("t" * (MAX_TOKEN_SHOWN + 1))
    assert (True, "2,001 characters" in text) == (len(text) < 100, True)


UNUSUAL = "a\nb\r\t\x1b[2J\x7f \x9b\u202e\u2028 'q' \\ \U000e0041 $x `y` \"z\""


def test_ansi_c_quoting_is_printable() -> None:
    """The quoted form has no raw control character and escapes quote and backslash."""
    quoted = ansi_c_quote(UNUSUAL)
    assert (True, True, True) == (
        quoted.isprintable(),
        quoted.startswith("$'a\\nb\\r\\t\\x1b[2J\\x7f \\u009b\\u202e\\u2028 \\'q\\' \\\\ "),
        quoted.endswith('\\U000e0041 $x `y` "z"\''),
    )


def bash_printf(quoted: str) -> bytes:
    """What bash prints for ``printf '%s' QUOTED`` in a UTF-8 locale."""
    result = subprocess.run(
        ["bash", "-c", f"printf '%s' {quoted}"], capture_output=True, check=True, timeout=60,
        env={"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return result.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ansi_c_quoting_reads_back_in_bash() -> None:
    """Bash turns the quoted form of ASCII control characters back into the same text."""
    text = "a\nb\r\t\x1b[2J\x07\x7f 'q' \\ $x `y` \"z\" $(echo no)"
    assert text.encode() == bash_printf(ansi_c_quote(text))


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ansi_c_quoting_of_non_ascii_reads_back_in_bash() -> None:
    r"""With bash 4.2+ in a UTF-8 locale, ``\u``/``\U`` escapes read back too."""
    if bash_printf("$'\\u00e9'") != "\u00e9".encode():
        pytest.skip("this bash does not decode $'\\u...' (older than 4.2, or no UTF-8 locale)")
    assert UNUSUAL.encode() == bash_printf(ansi_c_quote(UNUSUAL))


# --- errors ---------------------------------------------------------------------------


def test_terminal_escapes_in_a_request_id_header_are_escaped(cli_env: dict[str, str]) -> None:
    """``x-ci-request-id: ESC]0;pwned BEL ESC[2J`` reaches the error line escaped."""
    body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
    answer = raw_response("403 Forbidden", body, b"x-ci-request-id: \x1b]0;pwned\x07\x1b[2J")
    with RawServer(answer) as url:
        result = run_cli({**cli_env, "CI_ASYNC_ENDPOINT": url}, "jobs", "get", "b1")
    assert_terminal_safe(result.stderr)
    assert (1, 1, True) == (
        result.returncode,
        len(result.stderr.splitlines()),
        "[request_id=\\x1b]0;pwned\\x07\\x1b[2J]" in result.stderr,
    )


def test_verbose_log_lines_are_escaped(cli_env: dict[str, str]) -> None:
    """``-v`` retry records quoting a hostile request id are escaped too."""
    body = b"<Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error>"
    answer = raw_response("503 Unavailable", body, b"x-ci-request-id: \x1b[2Jgone")
    with RawServer(answer) as url:
        result = run_cli(
            {**cli_env, "CI_ASYNC_ENDPOINT": url}, "-v", "--timeout", "5", "jobs", "get", "b1"
        )
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert_terminal_safe(result.stderr)
    assert (1, True) == (result.returncode, all("\\x1b[2Jgone" in line for line in retries))
    assert retries


def test_a_megabyte_request_id_gives_a_bounded_line(cli_env: dict[str, str]) -> None:
    """An error document with a 1 MB request id: one printable line of bounded length."""
    body = (
        b"<Error><Code>AccessDenied</Code><Message>no</Message>"
        b"<RequestId>" + b"r" * 1_000_000 + b"</RequestId></Error>"
    )
    with RawServer(raw_response("403 Forbidden", body)) as url:
        result = run_cli({**cli_env, "CI_ASYNC_ENDPOINT": url}, "jobs", "get", "b1")
    assert_terminal_safe(result.stderr)
    assert (1, 1) == (result.returncode, len(result.stderr.splitlines()))


def test_a_long_request_id_is_cut_and_a_message_stays_on_its_line(
    cli_env: dict[str, str],
) -> None:
    """An 8,000-character request id is cut at 200; a message with CR LF stays escaped on its line.

    8,000 characters is about as long as a header line may be (aiohttp's limit).
    """
    body = b"<Error><Code>AccessDenied</Code><Message>no&#13;&#10;error: forged</Message></Error>"
    answer = raw_response("403 Forbidden", body, b"x-ci-request-id: " + b"r" * 8000)
    with RawServer(answer) as url:
        result = run_cli({**cli_env, "CI_ASYNC_ENDPOINT": url}, "jobs", "get", "b1")
    assert_terminal_safe(result.stderr)
    lines = result.stderr.splitlines()
    assert (1, 1, True, True) == (
        result.returncode,
        len(lines),
        "no\\r\\nerror: forged" in lines[0],
        "[request_id=" + "r" * 199 + "\u2026] GET " in lines[0],
    )
    assert len(lines[0]) < 1000
