"""Fixtures of the grading tests: a course folder holding the real lesson 02, graded batches.

Sandboxed grading needs bubblewrap, root and libseccomp (``convcourse doctor``).  Where they are
missing the sandbox tests are skipped with the reason -- unless ``CONVCOURSE_REQUIRE_SANDBOX=1``
(set in CI), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "02_cross_correlation"
# Short enough that the infinite loop of the corpus costs little, long enough for a loaded CI.
CORPUS_TIMEOUT_S = 30.0


def _scripts_on_path() -> None:
    """nbgrader runs ``alembic`` and ``jupyter`` scripts: find the ones of this Python."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


_scripts_on_path()


@pytest.fixture(scope="session")
def sandbox_available():
    from convcourse.instructor.sandbox import isolation_problem

    problem = isolation_problem()
    if problem:
        if os.environ.get("CONVCOURSE_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"sandboxed grading is required here but unavailable: {problem}")
        pytest.skip(f"sandboxed grading unavailable: {problem}")
    return True


def make_course(root: Path) -> Path:
    """A course folder with the real lesson 02 (instructor version) and the nbgrader config."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        REPO / "solutions" / ASSIGNMENT,
        root / "solutions" / ASSIGNMENT,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def submit(root: Path, student: str, files: dict[str, bytes]) -> Path:
    folder = root / "submitted" / student / ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="session")
def lesson_spec(tmp_path_factory):
    from convcourse.instructor.assignment import load_spec
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

    from convcourse.instructor.autograde import BatchOptions, autograde
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
