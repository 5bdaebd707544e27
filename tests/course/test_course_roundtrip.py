"""The whole nbgrader cycle on the real lessons, with nbgrader's own commands.

In a temporary course directory (the repository's ``nbgrader_config.py`` and a copy of
``solutions/``): ``nbgrader generate_assignment``, submissions placed under
``submitted/<student>/<assignment>/``, ``nbgrader autograde``, ``nbgrader generate_feedback``;
the scores are read back through nbgrader's ``Gradebook`` API.

- the instructor version, submitted as a student's, gets every automatic point;
- the untouched student release gets 0 and autograding does not crash;
- realistic wrong answers get exactly the partial scores expected: the one exercise they break
  loses its points, nothing else does;
- an answer hard-coded to the visible test cases passes the visible check but not the hidden one;
- the demonstration cells that use a student's answer run clean without it: they say which
  exercise to write first instead of failing (and say nothing when the answer is there);
- no feedback file contains hidden tests, and students' feedback contains no rubric.

Two course directories are graded side by side (about 5 s of start-up per submission, plus
running the lesson); the module takes about two minutes on an idle two-core machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course_facts import (
    FREE_RESPONSE,
    LESSONS,
    NOTEBOOKS,
    ROOT,
    TEST_CELLS,
    release_path,
    source_path,
    tool_env,
)

pytestmark = pytest.mark.slow

COURSE_ID = "convcourse"


def answers_only(nb):
    """The notebook without the lesson's demonstration code (figures, timings, training).

    The wrong-answer students below keep the setup cell, their answers and the test cells:
    grading does not depend on the rest, and leaving it out keeps this test fast.
    """
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    nb.cells = [
        c
        for c in nb.cells
        if c.cell_type == "markdown" or c is first_code or "nbgrader" in c.metadata
    ]
    return nb


def edit(lesson: str, old: str, new: str):
    """The instructor's answers to ``lesson`` with one line of one solution changed."""
    nb = nbformat.read(source_path(lesson), as_version=4)
    hits = [c for c in nb.cells if old in c.source]
    assert len(hits) == 1, f"the solution line to break is gone from {lesson}: {old!r}"
    hits[0].source = hits[0].source.replace(old, new)
    return answers_only(nb)


def hardcoded_output_shape():
    """output_shape answered from a table of the visible cases only (a "cheat")."""
    from convcourse.checks import EXERCISES

    table = {}
    for case in EXERCISES["output-shape"].cases(None, False):
        X_shape, K_shape = (tuple(case.data[k]) for k in ("X_shape", "K_shape"))
        table[(X_shape, K_shape)] = (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)
    nb = nbformat.read(source_path("02_cross_correlation"), as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "output-shape"
    )
    cell.source = (
        f"ANSWERS = {table!r}\n\n\n"
        "def output_shape(X_shape, K_shape):\n"
        "    return ANSWERS.get((tuple(X_shape), tuple(K_shape)), (1, 1))\n"
    )
    return answers_only(nb)


# student -> (lesson, notebook factory, {test cell: points lost}); the instructor and the
# untouched release are submitted for every lesson.
WRONG_ANSWERS = {
    "flipped-kernel": (
        "02_cross_correlation",
        lambda: edit(
            "02_cross_correlation",
            "(X[i : i + h, j : j + w] * K).sum()",
            "(X[i : i + h, j : j + w] * torch.flip(K, (0, 1))).sum()",
        ),
        {"test-corr2d": 2},
    ),
    "off-by-one": (
        "02_cross_correlation",
        lambda: edit(
            "02_cross_correlation",
            "return (n_h - k_h + 1, n_w - k_w + 1)",
            "return (n_h - k_h, n_w - k_w)",
        ),
        {"test-output-shape": 1},
    ),
    "hardcoded": ("02_cross_correlation", hardcoded_output_shape, {"test-output-shape": 1}),
    "no-zero-grad": (
        "05_learning_a_kernel",
        lambda: edit(
            "05_learning_a_kernel",
            "        if K.grad is not None:\n            K.grad.zero_()\n",
            "",
        ),
        {"test-train-loop": 3},
    ),
    "vertical-kernel": (
        "04_kernels_as_detectors",
        lambda: edit(
            "04_kernels_as_detectors",
            "K_horizontal = torch.tensor([[1.0], [-1.0]])",
            "K_horizontal = torch.tensor([[1.0, -1.0]])",
        ),
        {"test-horizontal-kernel": 1},
    ),
}


# The lessons are graded in two course directories at once (the machines have two cores and an
# autograding kernel mostly uses one); each directory has its own gradebook.
GROUPS = (
    ("01_dense_to_conv", "02_cross_correlation", "03_conv_layer"),
    ("04_kernels_as_detectors", "05_learning_a_kernel"),
)


def nbgrader(*runs: tuple[Path, tuple[str, ...]]) -> list[str]:
    """Run ``nbgrader <args>`` in each course directory concurrently; return their logs."""
    env = tool_env()
    env["OMP_NUM_THREADS"] = "1"  # two kernels share two cores: no thread oversubscription
    procs = []
    for course, args in runs:
        log = open(course / f"nbgrader-{args[0]}.log", "w")  # closed after the wait below
        cmd = [sys.executable, "-m", "nbgrader", *args]
        procs.append(
            (subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT), log)
        )
    logs = []
    for proc, log in procs:
        rc = proc.wait(timeout=600)
        log.close()
        text = open(log.name, encoding="utf-8").read()
        assert rc == 0, f"nbgrader {log.name}: exit {rc}\n{text[-6000:]}"
        logs.append(text)
    return logs


def submit(course: Path, student: str, lesson: str, nb) -> None:
    folder = course / "submitted" / student / lesson
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{lesson}.ipynb")


@pytest.fixture(scope="module")
def courses(tmp_path_factory) -> dict[str, Path]:
    """lesson -> the course directory where it was released, submitted and graded."""
    where = {}
    for n, group in enumerate(GROUPS):
        course = tmp_path_factory.mktemp(f"course{n}")
        shutil.copy(ROOT / "nbgrader_config.py", course)
        for lesson in group:
            shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson)
            where[lesson] = course
    assert sorted(where) == sorted(LESSONS)
    dirs = sorted(set(where.values()))
    nbgrader(*[(course, ("generate_assignment", "*")) for course in dirs])
    for lesson in LESSONS:
        course = where[lesson]
        submit(course, "instructor", lesson, nbformat.read(source_path(lesson), as_version=4))
        submit(course, "untouched", lesson, nbformat.read(release_path(lesson), as_version=4))
    for student, (lesson, make, _) in WRONG_ANSWERS.items():
        submit(where[lesson], student, lesson, make())
    for log in nbgrader(*[(course, ("autograde", "*")) for course in dirs]):
        assert "[ERROR]" not in log and "| ERROR]" not in log, log[-6000:]
    nbgrader((where["02_cross_correlation"], ("generate_feedback", "02_cross_correlation")))
    return where


def gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID)


def auto_scores(course: Path, student: str, lesson: str) -> dict[str, float]:
    """grade id -> automatic score of the autograded test cells, from the gradebook."""
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook(lesson, lesson, student)
        return {g.name: g.auto_score for g in notebook.grades if g.name.startswith("test-")}


def test_generate_assignment_from_the_config_reproduces_the_committed_release(courses):
    # nbgrader's own command, run with the repository's config, gives the committed files.
    for lesson, course in courses.items():
        generated = course / "notebooks" / lesson / f"{lesson}.ipynb"
        assert generated.read_bytes() == (NOTEBOOKS / lesson / f"{lesson}.ipynb").read_bytes()


@pytest.mark.parametrize("lesson", LESSONS)
def test_instructor_version_gets_every_automatic_point(courses, lesson):
    course = courses[lesson]
    assert auto_scores(course, "instructor", lesson) == {
        k: float(v) for k, v in TEST_CELLS[lesson].items()
    }
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook(lesson, lesson, "instructor")
        # Written answers wait for a human; nothing else does.
        assert {g.name for g in notebook.grades if g.needs_manual_grade} == set(
            FREE_RESPONSE[lesson]
        )
        assert notebook.max_score == sum(TEST_CELLS[lesson].values()) + sum(
            FREE_RESPONSE[lesson].values()
        )


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_release_gets_zero_without_crashing(courses, lesson):
    course = courses[lesson]
    assert (course / "autograded" / "untouched" / lesson / f"{lesson}.ipynb").is_file()
    assert auto_scores(course, "untouched", lesson) == dict.fromkeys(TEST_CELLS[lesson], 0.0)
    with gradebook(course) as gb:
        submission = gb.find_submission(lesson, "untouched")
        assert submission.score == 0.0
        assert not submission.needs_manual_grade  # unanswered written questions score 0 too


@pytest.mark.parametrize("student", list(WRONG_ANSWERS))
def test_wrong_answers_lose_exactly_the_points_of_what_they_break(courses, student):
    lesson, _, lost = WRONG_ANSWERS[student]
    expected = {k: float(v - lost.get(k, 0)) for k, v in TEST_CELLS[lesson].items()}
    assert auto_scores(courses[lesson], student, lesson) == expected


def test_hardcoded_answer_passes_the_visible_check_but_not_the_hidden_one(courses):
    lesson = "02_cross_correlation"
    path = courses[lesson] / "autograded" / "hardcoded" / lesson / f"{lesson}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-output-shape"
    )
    errors = [o for o in cell.outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert errors, "the hidden check fails"
    assert "hidden" in errors[0].evalue.lower() or errors[0].ename == "CheckFailed"
    assert printed.strip(), "the visible check passed and said so before the hidden one ran"


def test_feedback_shows_no_hidden_tests_and_no_rubric(courses):
    import html as html_lib
    import re

    from test_course_leaks import secret_lines

    lesson = "02_cross_correlation"
    secrets = secret_lines(lesson)
    files = sorted((courses[lesson] / "feedback").glob(f"*/{lesson}/*.html"))
    students = {"instructor", "untouched"} | {
        s for s, (where, _, _) in WRONG_ANSWERS.items() if where == lesson
    }
    assert {f.parts[-3] for f in files} == students
    for path in files:
        html = path.read_text(encoding="utf-8")
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
        for marker in ("HIDDEN TESTS", "hidden=True", "student_seed()"):
            assert marker not in html and marker not in text, f"{path}: {marker}"
        # The other students submitted (mostly) the instructor's answers themselves.
        if path.parts[-3] == "untouched":
            leaked = [s for s in secrets if s in text]
            leaked += [w for w in ("Model answer", "Rubric") if w in text]
            assert not leaked, f"{path}: {leaked[:3]}"


READY_MESSAGE = "This cell uses your "
# The one demonstration that needs code the instructor version does not hold either: the
# student's lesson 2 functions, pasted into lesson 3.
NEEDS_PASTED_CODE = {"l03-ex3-timing"}


def demo_cells(course: Path, student: str, lesson: str):
    """(cell, printed text) of the autograded notebook's cells that are neither answers nor
    graded tests."""
    path = course / "autograded" / student / lesson / f"{lesson}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        yield cell, printed


@pytest.mark.parametrize("lesson", LESSONS)
def test_demonstrations_without_the_answers_say_what_to_write_first(courses, lesson):
    uses_answers = 0
    for cell, printed in demo_cells(courses[lesson], "untouched", lesson):
        errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.get('id')}: {errors}"
        if "ready(" in cell.source:
            uses_answers += 1
            todo = "paste it" if cell.get("id") in NEEDS_PASTED_CODE else "write it first"
            assert READY_MESSAGE in printed and todo in printed, cell.get("id")
    assert uses_answers >= (0 if lesson == "05_learning_a_kernel" else 1)


@pytest.mark.parametrize("lesson", LESSONS)
def test_demonstrations_with_the_answers_run_them(courses, lesson):
    for cell, printed in demo_cells(courses[lesson], "instructor", lesson):
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.get("id")
        if "ready(" in cell.source:
            assert (READY_MESSAGE in printed) == (cell.get("id") in NEEDS_PASTED_CODE), printed
