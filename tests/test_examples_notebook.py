"""examples/notebook.ipynb runs top to bottom in a real kernel, against the emulator.

The emulator is served on a loopback port; the notebook finds it (and the
credentials) through the environment variables it documents. The kernel is
ipykernel's ``python3`` for the running interpreter, so this works in a fresh
virtual environment with ipykernel installed and no kernel spec registered.
"""

from __future__ import annotations

from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ci_async.testing import Emulator

from .test_examples_aiohttp import EXAMPLES

NOTEBOOK = EXAMPLES / "notebook.ipynb"
JOBS = 250


@pytest.fixture(name="executed", scope="module")
def fixture_executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook, executed once against a served emulator; its jobs' count is JOBS."""
    emulator = Emulator()
    emulator.generate(JOBS)
    credentials = emulator.credentials
    tmp_path = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    with pytest.MonkeyPatch.context() as env, emulator.serve() as server:
        env.setenv("CI_ASYNC_ENDPOINT", server.url)
        env.setenv("CI_ASYNC_BUCKET", emulator.bucket)
        env.setenv("CI_ASYNC_REGION", "ap-beijing")
        env.setenv("TENCENTCLOUD_SECRET_ID", credentials.secret_id)
        env.setenv("TENCENTCLOUD_SECRET_KEY", credentials.secret_key)
        env.delenv("TENCENTCLOUD_SESSION_TOKEN", raising=False)
        # Keep the kernel's files out of the home directory (and a kernel spec
        # registered there from choosing another interpreter), and Jupyter's
        # path-migration warning out of the run.
        env.setenv("JUPYTER_PLATFORM_DIRS", "1")
        env.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
        env.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
        env.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        env.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
        client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=120,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    return notebook


def _outputs(notebook: Any) -> list[dict[str, Any]]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


def _stdout(notebook: Any) -> str:
    return "".join(
        output["text"]
        for output in _outputs(notebook)
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )


def test_notebook_counts_every_job(executed: Any) -> None:
    """The listing cell prints the number of jobs the emulator holds."""
    assert f"{JOBS} jobs" in _stdout(executed).splitlines()


def test_notebook_shows_a_table(executed: Any) -> None:
    """The table cell displays a Markdown table with a header row."""
    tables = [
        output["data"]["text/markdown"]
        for output in _outputs(executed)
        if "text/markdown" in output.get("data", {})
    ]
    assert 1 == len(tables)
    assert tables[0].startswith("| job_id | type | state |")


def test_notebook_plots_jobs_per_day(executed: Any) -> None:
    """The plot cell displays one PNG image."""
    images = [output for output in _outputs(executed) if "image/png" in output.get("data", {})]
    assert 1 == len(images)


def test_notebook_raises_nothing(executed: Any) -> None:
    """No cell produced an error output."""
    assert [] == [output for output in _outputs(executed) if output["output_type"] == "error"]
