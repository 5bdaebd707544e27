"""The same per-submission task on a Dask cluster (a LocalCluster of two worker processes)."""

from __future__ import annotations

import json

import pytest
from course_builders import ASSIGNMENT, make_course, submit
from grading_corpus import FULL, TESTS


def test_a_batch_on_a_dask_local_cluster(sandbox_available, tmp_path, honest_nb):
    distributed = pytest.importorskip("distributed")
    from nbgrader.api import Gradebook

    from convcourse.instructor.grading.batch import BatchOptions, autograde
    from convcourse.instructor.layout import CourseLayout

    root = make_course(tmp_path / "course")
    wrong = json.loads(json.dumps(honest_nb))
    for cell in wrong["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "output-shape":
            cell["source"] = "def output_shape(X_shape, K_shape):\n    return (0, 0)\n"
    for student, nb in (("ann", honest_nb), ("ben", wrong), ("cat", honest_nb)):
        submit(root, student, {f"{ASSIGNMENT}.ipynb": json.dumps(nb).encode()})
    (root / "submitted" / "dan" / ASSIGNMENT).mkdir(parents=True)  # nothing handed in
    layout = CourseLayout.load(root)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        summary = autograde(layout, ASSIGNMENT, BatchOptions(scheduler=client, progress=False))
        workers = client.run(lambda: __import__("os").getpid())
    assert len(workers) == 2
    assert summary.graded == {"ann": "graded", "ben": "graded", "cat": "graded", "dan": "missing"}
    with Gradebook(layout.db_url) as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in ("ann", "ben", "cat", "dan")}
    assert scores == {
        "ann": FULL,
        "ben": FULL - TESTS["test-output-shape"],
        "cat": FULL,
        "dan": 0.0,
    }
    for student in ("ann", "ben", "cat"):
        assert (root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
