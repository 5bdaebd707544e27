"""Fixtures of the grading tests: a course folder holding the real lesson 02, graded batches.

Sandboxed grading needs bubblewrap, root and libseccomp (``convcourse doctor``).  Where they are
missing the sandbox tests are skipped with the reason -- unless ``CONVCOURSE_REQUIRE_SANDBOX=1``
(set in CI), where they fail instead.
"""

from __future__ import annotations

import os

import pytest
from course_builders import ASSIGNMENT, CORPUS_TIMEOUT_S, make_course, scripts_on_path, submit

# nbgrader runs ``alembic`` and ``jupyter``: the ones of this Python, before any test runs.
scripts_on_path()


@pytest.fixture(scope="session")
def sandbox_available():
    from convcourse.instructor.sandbox import isolation_problem

    problem = isolation_problem()
    if problem:
        if os.environ.get("CONVCOURSE_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"sandboxed grading is required here but unavailable: {problem}")
        pytest.skip(f"sandboxed grading unavailable: {problem}")
    return True


@pytest.fixture(scope="session")
def lesson_spec(tmp_path_factory):
    from convcourse.instructor.authoring.spec import load_spec
    from convcourse.instructor.layout import CourseLayout

    root = make_course(tmp_path_factory.mktemp("spec") / "course")
    return load_spec(CourseLayout.load(root), ASSIGNMENT), root


@pytest.fixture(scope="session")
def honest_nb(lesson_spec):
    from grading_corpus import honest_notebook

    spec, root = lesson_spec
    return honest_notebook(spec, root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="session")
def corpus_batch(tmp_path_factory, sandbox_available, lesson_spec):
    """The whole adversarial corpus graded once (two sandboxes, as on a 2-core CI machine)."""
    from grading_corpus import build, honest_notebook
    from integrity_corpus import build_integrity

    from convcourse.instructor.grading.batch import BatchOptions, autograde
    from convcourse.instructor.layout import CourseLayout
    from convcourse.instructor.sandbox import Limits

    spec, _ = lesson_spec
    root = make_course(tmp_path_factory.mktemp("corpus") / "course")
    entries = build(spec, root)
    honest = honest_notebook(spec, root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    entries += build_integrity(honest)
    for entry in entries:
        submit(root, entry.student, entry.files)
    originals = {p: p.read_bytes() for p in (root / "submitted").rglob("*") if p.is_file()}
    layout = CourseLayout.load(root)
    options = BatchOptions(workers=2, limits=Limits(timeout_s=CORPUS_TIMEOUT_S), progress=False)
    summary = autograde(layout, ASSIGNMENT, options)
    return {
        "root": root,
        "layout": layout,
        "summary": summary,
        "entries": entries,
        "originals": originals,
    }
