"""A newcomer's first ten minutes, verbatim: the README's example and the quickstart.

What a newcomer does: start ``python -m ci_async emulator``, paste the
``export`` lines it prints into another shell, and run the snippet, as a
script or pasted into ``python -m asyncio``. These tests do exactly that: the
real command in a subprocess (``--port 0`` rather than the default port, which
may be taken), its printed exports parsed, and the snippets run in
subprocesses whose environment holds those variables and nothing else but
what starting Python needs (``PATH``, ``HOME``, the locale). No credentials,
no endpoint and no proxy of the test run's own environment reach them.

``python -m asyncio`` reads piped input like lines typed into the classic REPL
(which is what pasting into it amounts to) before Python 3.13. From 3.13 the
REPL is a new one, which reads pasted text as a whole (bracketed paste) and
whose fallback for piped input breaks multi-line blocks in 3.13.0: there the
tests drive it through a pseudo-terminal, pasting each block as a terminal
would. Either way each block is followed by a sentinel ``print`` whose output
the test waits for, so nothing depends on timing; the timeouts are there only
to fail a hung run.
"""

from __future__ import annotations

import ast
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.test_docs import README, Block, parse_blocks

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart.md"
#: The variables a newcomer's shell holds after pasting the emulator's exports.
EXPORTED = {
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "CI_ASYNC_ENDPOINT",
    "CI_ASYNC_BUCKET",
    "CI_ASYNC_REGION",
}
#: What starting Python needs from the environment (and nothing about ci_async).
_BASICS = ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "PYTHONPATH")
_EXPORT = re.compile(r"^export (?P<name>[A-Z_]+)=(?P<value>\S+)$")
_JOB_LINE = re.compile(r"\bb[0-9a-f]{32} ")
#: A safety net against a hung subprocess: generous, never a measure of speed.
HUNG = 180.0


@attrs.frozen
class Standalone:
    """The running ``python -m ci_async emulator``: its exports, and its process."""

    exports: dict[str, str]
    process: subprocess.Popen[str]


def _basics() -> dict[str, str]:
    return {name: os.environ[name] for name in _BASICS if name in os.environ}


@pytest.fixture(name="standalone", scope="module")
def fixture_standalone() -> Iterator[Standalone]:
    """``python -m ci_async emulator --port 0``, as a user starts it; stopped with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ci_async", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_basics(),  # no credentials of ours: the emulator generates a pair
    )
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:  # the URL, on its own line, comes last
            if found := _EXPORT.match(line.strip()):
                exports[found["name"]] = found["value"]
            if line.startswith("http://"):
                break
        else:
            pytest.fail(f"the emulator stopped before serving: {process.communicate()[1]}")
        yield Standalone(exports, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=HUNG)


def user_env(standalone: Standalone) -> dict[str, str]:
    """A newcomer's environment: the basics and the pasted exports, nothing else."""
    return {**_basics(), **standalone.exports}


def python_blocks(path: Path) -> list[Block]:
    return [block for block in parse_blocks(path) if block.mode == "run"]


def is_script(source: str) -> bool:
    """Whether a block is a complete script (it calls ``asyncio.run`` at the top level)."""
    return any(
        isinstance(node, ast.Expr) and ast.unparse(node).startswith("asyncio.run(")
        for node in ast.parse(source).body
    )


def run_script(
    source: str, standalone: Standalone, directory: Path
) -> subprocess.CompletedProcess[str]:
    """``python example.py`` in a shell holding the emulator's exports."""
    script = directory / "example.py"
    script.write_text(source + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, script.name],
        cwd=directory,
        env=user_env(standalone),
        capture_output=True,
        text=True,
        timeout=HUNG,
        check=False,
    )


def _sentinel(number: int) -> tuple[str, str]:
    """A line to paste after block ``number``, and the output it prints (not its echo)."""
    return f'print("block-" + "done-{number}")', f"block-done-{number}"


def run_in_asyncio_repl(blocks: list[str], standalone: Standalone) -> str:
    """Paste each block into ``python -m asyncio``; return everything it wrote."""
    if sys.version_info >= (3, 13):
        return _paste_into_terminal(blocks, user_env(standalone))
    text = "".join(f"{block}\n\n{_sentinel(n)[0]}\n" for n, block in enumerate(blocks))
    result = subprocess.run(
        [sys.executable, "-m", "asyncio"],
        input=text,
        env=user_env(standalone),
        capture_output=True,
        text=True,
        timeout=HUNG,
        check=False,
    )
    return result.stdout + result.stderr


def _paste_into_terminal(blocks: list[str], env: dict[str, str]) -> str:
    """Python 3.13+: the REPL on a pseudo-terminal, each block pasted (bracketed paste)."""
    import pty  # POSIX only, like this path

    pid, fd = pty.fork()
    if pid == 0:  # the child: the REPL, on the terminal
        os.execve(sys.executable, [sys.executable, "-m", "asyncio"], {**env, "TERM": "dumb"})
    output = bytearray()

    def read_until(marker: bytes) -> None:
        give_up = time.monotonic() + HUNG
        while marker not in output:
            assert time.monotonic() < give_up, f"no {marker!r} from the REPL:\n{output.decode()}"
            if select.select([fd], [], [], 1.0)[0]:
                try:
                    output.extend(os.read(fd, 65536))
                except OSError:  # the REPL exited
                    assert marker in output, f"the REPL exited:\n{output.decode()}"

    def paste(text: str) -> None:
        os.write(fd, b"\x1b[200~" + text.encode() + b"\x1b[201~\n")

    try:
        read_until(b">>> ")
        for number, block in enumerate(blocks):
            paste(block + "\n")
            line, printed = _sentinel(number)
            paste(line)
            read_until(f"\n{printed}".encode())
        os.write(fd, b"exit()\n")
        read_until(b"exiting asyncio REPL")
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return output.decode(errors="replace").replace("\r\n", "\n")


#: What the REPL prints for an exception (after a traceback, or alone for a
#: SyntaxError) or a warning; the echo of pasted code, e.g. ``except
#: ci_async.ServiceError as exc:``, does not match.
_FAILURE = re.compile(r"^\s*(?:\w+\.)*\w+(?:Error|Exception): |\w+Warning: ", re.MULTILINE)


def assert_clean_repl(output: str, blocks: int) -> None:
    """Every block ran to its sentinel, and nothing failed on the way."""
    for number in range(blocks):
        assert f"\n{_sentinel(number)[1]}" in f"\n{output}".replace(">>> ", "\n")
    assert "Traceback" not in output, output
    assert [] == _FAILURE.findall(output.replace(">>> ", "\n")), output


def test_the_failure_pattern_finds_what_the_repl_prints() -> None:
    """Exception and warning lines match; pasted code that names an error class does not."""
    printed = ">>> SyntaxError: invalid syntax\nci_async.ServiceError: 404\nx: RuntimeWarning: y"
    assert 3 == len(_FAILURE.findall(printed.replace(">>> ", "\n")))
    assert [] == _FAILURE.findall("except ci_async.ServiceError as exc:\n    print(exc)")


# --- the environment a newcomer pastes -------------------------------------------


def test_the_emulator_prints_every_variable_a_session_reads(standalone: Standalone) -> None:
    """The ``export`` lines name the key pair, the endpoint, the bucket and the region."""
    assert EXPORTED == set(standalone.exports)
    assert standalone.exports["CI_ASYNC_ENDPOINT"].startswith("http://127.0.0.1:")


# --- the README --------------------------------------------------------------------


@pytest.fixture(name="readme_example", scope="module")
def fixture_readme_example() -> str:
    """The README's example: its first python block, a complete script."""
    source = python_blocks(README)[0].source
    assert is_script(source)
    return source


def check_example_output(output: str) -> None:
    """Five failed jobs, state changes of the new job, and its final state."""
    failed = [line for line in output.splitlines() if _JOB_LINE.search(line) and "now" not in line]
    assert 6 == len(failed), output  # five listed, then the created job as it ended
    assert re.search(r"\bnow (Submitted|Running)\b", output), output
    assert re.search(r"\bb[0-9a-f]{32} (Success|Failed)$", output, re.MULTILINE), output


def test_readme_example_runs_as_a_script(
    readme_example: str, standalone: Standalone, tmp_path: Path
) -> None:
    """``python example.py`` after pasting the exports: exit 0, nothing on stderr."""
    result = run_script(readme_example, standalone, tmp_path)
    assert (0, "") == (result.returncode, result.stderr)
    check_example_output(result.stdout)


@pytest.mark.skipif(sys.platform == "win32", reason="drives the REPL through a POSIX pty")
def test_readme_example_runs_in_the_asyncio_repl(
    readme_example: str, standalone: Standalone
) -> None:
    """As the README says: paste all but the last line into ``python -m asyncio``, then await."""
    lines = readme_example.rstrip().splitlines()
    assert "asyncio.run(main())" == lines[-1]
    output = run_in_asyncio_repl(["\n".join(lines[:-1]), "await main()"], standalone)
    assert_clean_repl(output, 2)
    check_example_output(output.replace(">>> ", "\n").replace("... ", "\n"))


# --- the quickstart ------------------------------------------------------------------


def test_quickstart_script_runs(standalone: Standalone, tmp_path: Path) -> None:
    """``python first.py`` lists five jobs."""
    scripts = [block.source for block in python_blocks(QUICKSTART) if is_script(block.source)]
    assert 1 == len(scripts)
    result = run_script(scripts[0], standalone, tmp_path)
    assert (0, "") == (result.returncode, result.stderr)
    assert 5 == len(_JOB_LINE.findall(result.stdout))


@pytest.mark.skipif(sys.platform == "win32", reason="drives the REPL through a POSIX pty")
def test_quickstart_runs_in_the_asyncio_repl(standalone: Standalone) -> None:
    """Every other block of the quickstart, pasted in order into one ``python -m asyncio``."""
    blocks = [block.source for block in python_blocks(QUICKSTART) if not is_script(block.source)]
    output = run_in_asyncio_repl(blocks, standalone)
    assert_clean_repl(output, len(blocks))
    # Whole lines of output (the echo of the pasted code, where a terminal shows
    # it, names the same ids and the comment "# 404 NoSuchBucket", never alone).
    printed = set(output.replace(">>> ", "\n").replace("... ", "\n").splitlines())
    assert "demo Success True" in printed  # the sample job exists, finished
    expected_lookup = "['b3deffea2f84911ec9cb15254008618d9'] ('b00000000000000000000000000000000',)"
    assert expected_lookup in printed  # one found, one reported missing
    assert any(re.fullmatch(r"b[0-9a-f]{32} (Success|Failed)", line) for line in printed)
    assert "404 NoSuchBucket" in printed  # a wrong bucket is the service's error


# --- pasting -------------------------------------------------------------------------


def blank_lines_inside_blocks(source: str) -> list[int]:
    """Lines (1-based) that are blank yet followed by an indented line: a REPL ends the block."""
    lines = source.splitlines()
    found = []
    for number, line in enumerate(lines[:-1], start=1):
        following = next((text for text in lines[number:] if text.strip()), "")
        if not line.strip() and following[:1].isspace():
            found.append(number)
    return found


@pytest.mark.parametrize(
    "page", [README, QUICKSTART, ROOT / "docs" / "notebooks.md"], ids=lambda path: path.name
)
def test_snippets_paste_into_a_repl(page: Path) -> None:
    """No python block of the page has a blank line inside an indented block."""
    found = {block.where: blank_lines_inside_blocks(block.source) for block in python_blocks(page)}
    assert {} == {where: lines for where, lines in found.items() if lines}


def test_the_blank_line_check_finds_one() -> None:
    """The check above sees a blank line inside ``async with`` (it is not vacuous)."""
    assert [2] == blank_lines_inside_blocks("async with x:\n\n    pass\n")


# --- a library that speaks only when asked -------------------------------------------

#: A script that never configures logging, whose calls meet 503s: the first
#: succeeds after two retries, the second gives up after every attempt.
RETRIED_SCRIPT = """
import asyncio

import ci_async
from ci_async.testing import Emulator

emulator = Emulator()
job = emulator.add_job(state="Success")


async def main() -> None:
    with emulator.serve() as server:
        async with ci_async.Session(
            emulator.bucket,
            emulator.region,
            endpoint=server.url,
            credentials=emulator.credentials,
            retry=ci_async.RetryPolicy(max_attempts=3, backoff=0.01),
        ) as ci:
            emulator.faults.fail_next(2, status=503)
            print("found:", (await ci.get_job(job.job_id)).job_id == job.job_id)
            emulator.faults.fail_next(3, status=503)
            try:
                await ci.get_job(job.job_id)
            except ci_async.ServerError as exc:
                print("gave up:", exc.status_code)
    print("answers that failed:", sum(r.fault is not None for r in emulator.requests))


asyncio.run(main())
"""


def run_python(source: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter, with the basic environment only."""
    return subprocess.run(
        [sys.executable, *options, "-c", source],
        env=_basics(),
        capture_output=True,
        text=True,
        timeout=HUNG,
        check=False,
    )


def test_retries_print_nothing_when_logging_is_not_configured() -> None:
    """Five 503s, four of them retried: stdout tells the story, stderr stays empty."""
    result = run_python(RETRIED_SCRIPT)
    assert (0, "") == (result.returncode, result.stderr)
    expected = ["found: True", "gave up: 503", "answers that failed: 5"]
    assert expected == result.stdout.splitlines()


def test_retries_are_logged_once_the_application_configures_logging() -> None:
    """The same script after ``logging.basicConfig()``: one WARNING per retry on stderr."""
    result = run_python("import logging\nlogging.basicConfig()\n" + RETRIED_SCRIPT)
    retries = [line for line in result.stderr.splitlines() if "retrying GET" in line]
    assert (0, 4) == (result.returncode, len(retries))
    assert all(line.startswith("WARNING:ci_async:") for line in retries)


#: A script that uses a session (one request over the default transport) and drops it.
UNCLOSED_SCRIPT = """
import asyncio

import ci_async
from ci_async.testing import Emulator

emulator = Emulator()
job = emulator.add_job(state="Success")


async def main() -> None:
    with emulator.serve() as server:
        ci = ci_async.Session(
            emulator.bucket,
            emulator.region,
            endpoint=server.url,
            credentials=emulator.credentials,
        )
        print((await ci.get_job(job.job_id)).state)
        del ci  # never closed


asyncio.run(main())
print("done")
"""
_WARNING = re.compile(r"^(?:.*: )?(?P<category>\w+Warning): (?P<text>.*)$")


def warnings_printed(stderr: str) -> list[str]:
    """The warnings in ``stderr`` (not Python's "Enable tracemalloc" notes after them)."""
    found = [_WARNING.match(line) for line in stderr.splitlines()]
    return [
        f"{match['category']}: {match['text']}"
        for match in found
        if match is not None and not match["text"].startswith("Enable tracemalloc")
    ]


def test_an_unclosed_session_warns_once_naming_itself() -> None:
    """Dropped unclosed, a session says so once, as ``ci_async.Session``, with the fix."""
    result = run_python(UNCLOSED_SCRIPT, "-W", "always::ResourceWarning")
    ours = [text for text in warnings_printed(result.stderr) if "ci_async.Session" in text]
    assert (0, "Success\ndone\n") == (result.returncode, result.stdout)
    assert 1 == len(ours), result.stderr
    assert ours[0].startswith("ResourceWarning: unclosed <ci_async.Session ")
    assert "async with" in ours[0]


#: Two sessions dropped unclosed: one never used (it holds nothing), one given a transport.
HOLDING_SCRIPT = """
import gc
import sys

import httpx

import ci_async

credentials = ci_async.Credentials("AKIDexample", "example-key")

def make(**kwargs):
    return ci_async.Session(
        "examplebucket-1250000000", "ap-beijing", credentials=credentials,
        endpoint="http://127.0.0.1:9", **kwargs,
    )

unused = make()
del unused
gc.collect()
print("unused dropped", file=sys.stderr, flush=True)
given = make(transport=httpx.AsyncHTTPTransport())
del given
gc.collect()
print("done", file=sys.stderr, flush=True)
"""


def test_an_unclosed_session_warns_only_when_it_holds_something() -> None:
    """Never used, a session holds nothing and says nothing; given a transport, it warns."""
    result = run_python(HOLDING_SCRIPT, "-W", "always::ResourceWarning")
    marks = {"unused dropped", "done"}
    lines = [line for line in result.stderr.splitlines() if "Session" in line or line in marks]
    assert 0 == result.returncode, result.stderr
    assert "unused dropped" == lines[0]
    assert "done" == lines[-1]
    assert 3 == len(lines), result.stderr
    assert "ResourceWarning: unclosed <ci_async.Session " in lines[1]


def test_an_unclosed_session_warns_about_nothing_else() -> None:
    """The session's warning is the only one: none for objects the user never made."""
    result = run_python(UNCLOSED_SCRIPT, "-W", "always::ResourceWarning")
    assert 1 == len(warnings_printed(result.stderr)), result.stderr


# --- friction ------------------------------------------------------------------------


def test_help_session_names_no_private_module() -> None:
    """``help(ci_async.Session)`` shows public names only (no ``ci_async._something``)."""
    import pydoc

    import ci_async

    text = pydoc.plain(pydoc.render_doc(ci_async.Session))
    assert "Session" in text
    assert [] == re.findall(r"ci_async\._\w+", text)


def test_pyproject_states_the_license_both_ways() -> None:
    """The SPDX expression (new metadata) and the classifier (what pip 23 shows)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^license = "MIT"$', text, re.MULTILINE)
    assert '"License :: OSI Approved :: MIT License",' in text


@pytest.fixture(name="noxfile", scope="module")
def fixture_noxfile() -> object:
    """The noxfile as a module (nox is in the dev and typing groups, not the tests group)."""
    pytest.importorskip("nox")
    import importlib.util
    import warnings

    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        # nox's registry warns when a session name is registered again (a second load).
        warnings.simplefilter("ignore", FutureWarning)
        spec.loader.exec_module(module)
    return module


def test_nox_says_why_a_python_is_skipped(noxfile: object) -> None:
    """A version with no interpreter is reported with the reason; the running one is used."""
    why_not = noxfile.why_not  # type: ignore[attr-defined]
    assert "no python2.1 on PATH" == why_not("2.1")
    found, skipped = noxfile.survey()  # type: ignore[attr-defined]
    assert found
    assert set(found).isdisjoint(skipped)
    assert all(reason for reason in skipped.values())


def test_nox_drops_only_its_uv_notice(noxfile: object) -> None:
    """The filter drops "uv binary not found." and nothing else nox says."""
    import logging

    notice = noxfile._NoUvNotice()  # type: ignore[attr-defined]

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("nox", logging.INFO, __file__, 1, message, None, None)

    assert not notice.filter(record("uv binary not found."))
    assert notice.filter(record("Creating virtual environment (virtualenv)"))
