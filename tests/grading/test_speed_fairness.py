"""The speed verdict is fair: the reference solution passes every time on a loaded machine, and
neither the student's own processes nor the rest of the batch move it.

30 honest submissions of lesson 02 in a two-worker batch, while two processes burn both cores
of the machine: every one must get both speed points.  Then a slow ``corr2d_fast`` (a loop over
rows, 10-30x F.conv2d) with spinner processes that burn CPU while the grader measures: it must
not pass the "full" level.
"""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest
from course_builders import ASSIGNMENT, make_course, submit
from grading_corpus import dumps, honest_notebook, insert_after, with_solution

N_HONEST = 30
ROW_LOOP = '''def corr2d_fast(X, K):
    """Correct, vectorised over columns only: a loop over output rows."""
    import torch
    h, w = K.shape
    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
    dtype = torch.promote_types(X.dtype, K.dtype)
    Y = torch.zeros((o_h, o_w), dtype=dtype)
    for i in range(o_h):
        for a in range(h):
            for b in range(w):
                Y[i] += K[a, b] * X[i + a, b : b + o_w]
    return Y
'''
SPINNERS = """import os, time
for _ in range(4):
    if os.fork() == 0:
        while True:
            pass
time.sleep(0.5)
"""


def _burn(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


@pytest.fixture(scope="module")
def loaded_batch(tmp_path_factory, sandbox_available, lesson_spec):
    from convcourse.instructor.grading.batch import BatchOptions, autograde
    from convcourse.instructor.layout import CourseLayout
    from convcourse.instructor.sandbox import Limits

    spec, _ = lesson_spec
    root = make_course(tmp_path_factory.mktemp("fair") / "course")
    honest = honest_notebook(spec, root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for n in range(N_HONEST):
        submit(root, f"ref{n:02d}", {f"{ASSIGNMENT}.ipynb": dumps(honest)})
    slow = with_solution(honest, "corr2d-fast", ROW_LOOP)
    submit(root, "rows_alone", {f"{ASSIGNMENT}.ipynb": dumps(slow)})
    spun = insert_after(slow, None, SPINNERS)
    submit(root, "rows_spinners", {f"{ASSIGNMENT}.ipynb": dumps(spun)})
    # Two processes that burn both cores for the whole batch (the CI machine has two).
    hogs = [
        multiprocessing.get_context("fork").Process(target=_burn, args=(time.monotonic() + 900,))
        for _ in range(2)
    ]
    for hog in hogs:
        hog.start()
    try:
        layout = CourseLayout.load(root)
        options = BatchOptions(workers=2, limits=Limits(timeout_s=120), progress=False)
        summary = autograde(layout, ASSIGNMENT, options)
    finally:
        for hog in hogs:
            hog.kill()
            hog.join()
    return layout, summary


def _cells(layout, student):
    data = json.loads(layout.results_file(ASSIGNMENT, student).read_text(encoding="utf-8"))
    return {c["grade_id"]: c for c in data["notebooks"][ASSIGNMENT]["cells"]}


def test_the_reference_passes_both_speed_levels_every_time_under_load(loaded_batch):
    layout, summary = loaded_batch
    lost = []
    for n in range(N_HONEST):
        cells = _cells(layout, f"ref{n:02d}")
        for gid in ("test-corr2d-fast-pass", "test-corr2d-fast-full"):
            if cells[gid]["points"] != cells[gid]["max_points"]:
                lost.append(f"ref{n:02d} {gid}: {cells[gid]['message']}")
    assert not lost, "\n".join(lost)


def test_a_row_loop_never_passes_the_speed_levels(loaded_batch):
    layout, _ = loaded_batch
    alone = _cells(layout, "rows_alone")
    assert alone["test-corr2d-fast"]["points"] == alone["test-corr2d-fast"]["max_points"]
    assert alone["test-corr2d-fast-pass"]["points"] == 0, alone["test-corr2d-fast-pass"]
    assert alone["test-corr2d-fast-full"]["points"] == 0, alone["test-corr2d-fast-full"]
    # With spinner processes burning CPU while it is timed: the spinners are killed before the
    # test runs (and forking them is evidence that withholds the rest for review).
    spun = _cells(layout, "rows_spinners")
    assert spun["test-corr2d-fast-full"]["points"] == 0
    assert spun["test-corr2d-fast-pass"]["points"] == 0
