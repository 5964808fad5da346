"""The jobs of the API documentation's samples, so that the ids the docs show exist.

The describe sample shows the Workflow job ``b3deffea2f84911ec9cb15254008618d9``;
the list sample adds the Job-type job ``be8f65004eb8511eaaed4f377124a303c``.
Both were created at ``2022-06-27T15:23:10+0800``. Here the describe sample's
job has finished (``Success``, so ``jobs wait`` on it returns at once) and the
other is still ``Running``, as the sample shows it (so it can be cancelled).
The standalone emulator holds them unless told ``--no-samples``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SAMPLE_JOBS"]

_CREATED = "2022-06-27T15:23:10+0800"
_INTERVAL = ("2022-02-01T12:00:00+0800", "2022-05-01T12:00:00+0800")

#: Keyword arguments of ``Emulator.add_job`` for each sample job.
SAMPLE_JOBS: tuple[dict[str, Any], ...] = (
    {
        "job_id": "b3deffea2f84911ec9cb15254008618d9",
        "type": "Workflow",
        "name": "demo",
        "state": "Success",
        "creation_time": _CREATED,
        "start_after": 1,
        "run_for": 119,
        "prefix": "input",
        "time_interval": _INTERVAL,
        "workflow_ids": ("w7476ff3564ee45b7b490d64bccaba6cc",),
    },
    {
        "job_id": "be8f65004eb8511eaaed4f377124a303c",
        "type": "Job",
        "name": "demo",
        "state": "Running",
        "creation_time": _CREATED,
        "start_after": 1,
        "prefix": "input",
        "time_interval": _INTERVAL,
        "queue_id": "p893bcda225bf4945a378da6662e81a89",
        "user_data": "this is my inventorytriggerjob",
        "callback": "https://www.callback.com",
        "template_id": "t1460606b9752148c4ab182f55163ba7cd",
        "output_region": "ap-chongqing",
        "output_bucket": "test-1234567890",
        "output_object": "output/${InventoryTriggerJobId}/out.mp4",
        "job_level": 0,
    },
)
