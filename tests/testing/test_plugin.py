"""The pytest plugin, used from a test module the way a user would."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import httpx
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


def test_default_emulator_has_twenty_jobs(ci_emulator):
    assert 20 == len(ci_emulator.jobs)


@pytest.mark.ci_emulator(jobs=50, seed=1)
def test_marker_sets_jobs_and_seed(ci_emulator):
    assert (50, 1) == (len(ci_emulator.jobs), ci_emulator.seed)


@pytest.mark.ci_emulator(jobs=0, bucket="mine-1250000000")
def test_marker_passes_emulator_options(ci_emulator):
    assert ("mine-1250000000", 0) == (ci_emulator.bucket, len(ci_emulator.jobs))


async def test_session_lists_the_emulator_jobs(ci_session, ci_emulator):
    listed = [job.job_id async for job in ci_session.list_jobs(page_size=7)]
    assert [job.job_id for job in reversed(ci_emulator.jobs)] == listed


async def test_session_sees_faults(ci_session, ci_emulator):
    ci_emulator.faults.fail_next(1, status=503)
    job = ci_emulator.jobs[0]
    assert job.job_id == (await ci_session.get_job(job.job_id)).job_id
    assert ["status", None] == [request.fault for request in ci_emulator.requests]


def test_server_fixture(ci_emulator_server, ci_emulator):
    ci_emulator.verify_signatures = False
    response = httpx.get(ci_emulator_server.url + "/inventorytriggerjob")
    assert 200 == response.status_code
"""


def test_fixtures_work_in_a_user_test_suite(pytester: pytest.Pytester) -> None:
    """A user's module gets the emulator, server and session fixtures and the marker."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=8)


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    """The ci_emulator marker is listed by pytest --markers."""
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*ci_emulator(jobs=20, seed=0, **options)*"])


def test_positional_marker_arguments_are_refused(pytester: pytest.Pytester) -> None:
    """ci_emulator(50) is a usage error naming the keyword form."""
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.ci_emulator(50)
def test_it(ci_emulator):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*use keywords*"])


def test_plugin_does_not_disturb_other_suites(pytester: pytest.Pytester) -> None:
    """A suite that never uses the fixtures runs as usual."""
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_imports_cheaply() -> None:
    """Importing the plugin module does not import the emulator or its server."""
    code = (
        "import sys; import ci_async.testing._plugin; "
        "print(sorted(m for m in ('ci_async.testing._emulator', 'ci_async.testing._server', "
        "'ci_async.testing._app', 'h11') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "[]" == output.strip()
