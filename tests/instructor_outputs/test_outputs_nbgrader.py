"""End to end with nbgrader itself: generate_assignment and autograde a tiny lesson, then build
the feedback pages, the CSV and the report from the gradebook nbgrader wrote.

The autograded notebook of a wrong answer holds the traceback of the failing hidden test (hidden
test code included); that traceback is used as the checker message here, the worst case a
grader could produce, and must not reach the feedback page.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from outputs_course import (
    SECRET_HIDDEN,
    SECRET_MODEL_ANSWER,
    SECRET_RUBRIC,
    SECRET_SOLUTION,
    assert_no_secrets,
    read_page,
)

from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.export import export_grades
from convcourse.instructor.reporting.feedback import WITHHELD, generate_feedback, leak_guard
from convcourse.instructor.reporting.pages import misconception_info
from convcourse.instructor.reporting.reports import build_report

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

AID = "01_tiny"
HIDDEN_ASSERT = f"assert square({SECRET_HIDDEN}) == 49"
CONFIG = """c = get_config()
c.CourseDirectory.course_id = "tiny"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
"""


def _cell(kind, source, **nbgrader):
    new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = new(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def instructor_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        _cell("markdown", "# Squares\nWrite `square(x)`."),
        _cell(
            "code",
            "def square(x):\n    ### BEGIN SOLUTION\n"
            f"    {SECRET_SOLUTION} = x * x\n    return {SECRET_SOLUTION}\n    ### END SOLUTION",
            solution=True,
            grade=False,
            grade_id="square",
        ),
        _cell(
            "code",
            "assert square(2) == 4\n### BEGIN HIDDEN TESTS\n"
            f"{SECRET_HIDDEN} = 7\n{HIDDEN_ASSERT}\n### END HIDDEN TESTS",
            solution=False,
            grade=True,
            grade_id="test-square",
            points=2,
            locked=True,
        ),
        _cell(
            "markdown",
            f"Squares are never negative: {SECRET_MODEL_ANSWER}.",
            solution=True,
            grade=True,
            grade_id="fr-sign",
            points=1,
        ),
        _cell(
            "markdown",
            "Why is a square never negative?\n=== BEGIN MARK SCHEME ===\n"
            f"One point for {SECRET_RUBRIC}.\n=== END MARK SCHEME ===",
            task=True,
            solution=False,
            grade=False,
            grade_id="task-sign",
            points=0,
            locked=True,
        ),
    ]
    return nb


def nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def submit(course: Path, student: str, body: str) -> None:
    nb = nbformat.read(course / "notebooks" / AID / f"{AID}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "square":
            cell.source = f"def square(x):\n    return {body}"
        elif meta.get("grade_id") == "fr-sign":
            cell.source = "Because (-x) * (-x) = x * x."
    folder = course / "submitted" / student / AID
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{AID}.ipynb")
    (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    (course / "solutions" / AID).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    nbformat.write(instructor_notebook(), course / "solutions" / AID / f"{AID}.ipynb")
    nbgrader(course, "generate_assignment", AID, "--force")
    submit(course, "zoe", "x * x")
    submit(course, "yann", "x + x")  # passes the visible test, fails the hidden one
    nbgrader(course, "autograde", AID)
    return course


def test_outputs_from_a_real_autograde(graded_course, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded_course, course)
    # The hidden test's traceback, as the autograded notebook holds it, becomes yann's message.
    autograded = nbformat.read(course / "autograded" / "yann" / AID / f"{AID}.ipynb", 4)
    (test_cell,) = [
        c
        for c in autograded.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test-square"
    ]
    traceback = "\n".join(test_cell.outputs[0]["traceback"])
    # nbgrader shows hidden test code in its own notebooks (coloured by IPython, token by token)
    assert HIDDEN_ASSERT in re.sub(r"\x1b\[[0-9;]*m", "", traceback)
    assert HIDDEN_ASSERT not in traceback
    results = course / ".grading" / "results" / AID
    results.mkdir(parents=True)
    payload = {
        "schema": 2,
        "assignment_id": AID,
        "student_id": "yann",
        "status": "graded",
        "status_detail": "",
        "score": 0.0,
        "max_score": 3.0,
        "duration_s": 1.5,
        "notebooks": {
            AID: {
                "status": "graded",
                "cells": [
                    {
                        "grade_id": "test-square",
                        "exercise": "square",
                        "points": 0.0,
                        "max_points": 2.0,
                        "passed": False,
                        "misconception": "wrong_values",
                        "message": traceback,
                    }
                ],
            }
        },
    }
    (results / "yann.json").write_text(json.dumps(payload), encoding="utf-8")

    guard = leak_guard(CourseLayout.load(course, f"sqlite:///{course / 'gradebook.db'}"), AID)
    assert HIDDEN_ASSERT in guard.secrets  # read back from the gradebook's saved test cell
    assert f"    return {SECRET_SOLUTION}".strip() in guard.secrets  # from solutions/

    pages = generate_feedback(course, AID)
    assert [p.parent.parent.name for p in pages] == ["yann", "zoe"]
    zoe, yann = read_page(pages[1]), read_page(pages[0])
    zoe_rows = {r[0]: r[1:3] for r in zoe.rows("Points for each exercise")[1:]}
    assert zoe_rows["square"] == ["2", "2"]  # from nbgrader's autograde
    assert zoe_rows["fr-sign (written answer)"] == ["0", "1"]
    assert "Waiting for grading by your instructor" in zoe.text
    assert WITHHELD in yann.text and misconception_info("wrong_values")[0] in yann.text

    report = build_report(course, AID)
    csv_path = export_grades(course, course / "grades.csv")
    rows = {r["student_id"]: r for r in csv.DictReader(open(csv_path, encoding="utf-8"))}
    assert float(rows["zoe"]["auto_score"]) == 2.0 and float(rows["yann"]["auto_score"]) == 0.0
    assert rows["zoe"]["timestamp"] == "2026-11-20T10:00:00+00:00"
    assert rows["zoe"]["status_detail"] == "no convcourse results file; scores from the gradebook"
    table = read_page(report).rows("Pass rate per autograded exercise")
    assert table[1][:5] == ["square", "test-square", "1", "2", "50%"]
    assert_no_secrets([*pages, report, csv_path])
