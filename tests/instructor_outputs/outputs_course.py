"""A small, realistic course folder for the instructor outputs tests (feedback, CSV, report).

The gradebook is built with nbgrader's own API, as ``generate_assignment`` and ``autograde``
leave it (assignment, notebook, grade/solution/task cells, the locked test cells' source with
their hidden tests, submissions, grades, comments); the grader's results files are written as
recording/results.py specifies.  Secret strings sit in the instructor notebook's solution,
hidden-test and mark-scheme regions and in the gradebook's hidden tests; some of them are
quoted by a checker message and an instructor comment, so the leak guard has something to catch.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ASSIGNMENT = "02_demo"
NOTEBOOK = "02_demo"
DUEDATE = dt.datetime(2026, 11, 20, 12, 0)
# Autograded test cells of the assignment, in notebook order: grade id, exercise, points.
TESTS = [
    ("test-output-shape", "output-shape", 1.0),
    ("test-corr2d", "corr2d", 2.0),
    ("test-corr2d-fast", "corr2d-fast", 2.0),
]
FREE_RESPONSE = ("fr-invariance", 3.0)
MAX_SCORE = sum(p for _, _, p in TESTS) + FREE_RESPONSE[1]

# Strings that must never reach a generated file.
SECRET_SOLUTION = "zq_solution_4411"
SECRET_HIDDEN = "zq_hidden_input_7313"
SECRET_RUBRIC = "zq-rubric-5512"
SECRET_MODEL_ANSWER = "zq-model-answer-9921"
SECRETS = (SECRET_SOLUTION, SECRET_HIDDEN, SECRET_RUBRIC, SECRET_MODEL_ANSWER)
HIDDEN_LINE = f"assert corr2d({SECRET_HIDDEN}, K).sum() == 42"
RUBRIC_LINE = f"Award 3 points if the answer names {SECRET_RUBRIC}."


@dataclass
class Student:
    """What the fixture puts in the gradebook and the results file for one student."""

    first: str = ""
    last: str = ""
    email: str = ""
    # exercise -> (passed, misconception key, message); None: no results file cells
    verdicts: dict | None = None
    manual: float | None = None  # manual score of the free-response cell
    comment: str = ""  # instructor comment on the free-response cell
    status: str = "graded"
    status_detail: str = ""
    duration_s: float | None = 1.0
    in_gradebook: bool = True
    submitted: bool = True
    results: str = "json"  # "json", "broken" or "none"
    late_hours: float = 0.0
    late_penalty: float = 0.0


def _ok(exercise):
    return (True, None, f"{exercise}: all cases passed")


STUDENTS = {
    "alice": Student(
        "Alice",
        "Ångström",
        "alice@example.org",
        {ex: _ok(ex) for _, ex, _ in TESTS},
        manual=2.5,
        comment="Good use of translation invariance <b>not bold</b>.",
        duration_s=1.25,
    ),
    "bob": Student(
        "Bob",
        "Builder",
        "",
        {
            "output-shape": _ok("output-shape"),
            "corr2d": (False, "off_by_one", "corr2d: output shape (3, 3), expected (2, 2)"),
            "corr2d-fast": (False, "flipped_kernel", "corr2d_fast: the kernel was flipped"),
        },
        comment=f"Compare with: {RUBRIC_LINE}",
        duration_s=0.75,
    ),
    "carol": Student(
        "Carol",
        "",
        "carol@example.org",
        {
            "output-shape": (False, "off_by_one", "output_shape((4, 4), (2, 2)) gave (2, 2)"),
            "corr2d": _ok("corr2d"),
            "corr2d-fast": (
                False,
                "flipped_kernel",
                f"Traceback (most recent call last):\n----> 3 {HIDDEN_LINE}\nAssertionError",
            ),
        },
        duration_s=2.5,
        late_hours=3.0,
        late_penalty=1.0,
    ),
    "dave": Student("Dave", "Absent", submitted=False, results="none"),
    "eve": Student(
        "Eve",
        "",
        verdicts={},
        status="timeout",
        status_detail="timed out after 30 s",
        duration_s=30.0,
    ),
    "frank": Student("Frank", "", verdicts={ex: _ok(ex) for _, ex, _ in TESTS}, results="broken"),
    "grace": Student(
        verdicts={},
        status="invalid",
        status_detail="not valid JSON: Expecting ',' at line 3",
        duration_s=0.01,
        in_gradebook=False,
    ),
}
GRADED = ["alice", "bob", "carol"]  # status graded (frank's results file is unreadable)


def points(name: str) -> dict[str, float]:
    """Auto points per test cell the gradebook holds for a student (full or nothing)."""
    s = STUDENTS[name]
    verdicts = s.verdicts or {}
    return {gid: (pts if verdicts.get(ex, (False,))[0] else 0.0) for gid, ex, pts in TESTS}


def expected_raw_score(name: str) -> float:
    return sum(points(name).values()) + (STUDENTS[name].manual or 0.0)


def _code(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def _markdown(source, **nbgrader):
    cell = nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def locked_test_source(grade_id: str) -> str:
    """Source of a locked test cell as nbgrader saves it in the gradebook (hidden tests in)."""
    exercise = grade_id.removeprefix("test-").replace("-", "_")
    hidden = HIDDEN_LINE if grade_id == "test-corr2d" else f"check_{exercise}(seed=1234567)"
    return f"check_{exercise}({exercise})\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"


def write_notebooks(course: Path) -> None:
    """The instructor source (solutions/) and the student release (notebooks/)."""
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        _markdown("# Demo lesson\nCompute a cross-correlation."),
        _code(
            "def corr2d(X, K):\n    ### BEGIN SOLUTION\n"
            f"    {SECRET_SOLUTION} = X.unfold(0, 2, 1)\n    return {SECRET_SOLUTION}.sum()\n"
            "    ### END SOLUTION",
            solution=True,
            grade=False,
            grade_id="corr2d",
        ),
        _code(locked_test_source("test-corr2d"), grade=True, grade_id="test-corr2d", points=2),
        _markdown(
            f"Model answer: {SECRET_MODEL_ANSWER} because shifts commute.",
            solution=True,
            grade=True,
            grade_id="fr-invariance",
            points=3,
        ),
        _markdown(
            "Explain invariance.\n=== BEGIN MARK SCHEME ===\n"
            f"{RUBRIC_LINE}\n=== END MARK SCHEME ===",
            task=True,
            grade=False,
            grade_id="rubric-cell",
        ),
    ]
    release = nbformat.v4.new_notebook()
    release.cells = [
        _markdown("# Demo lesson\nCompute a cross-correlation."),
        _code("def corr2d(X, K):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        _code("check_corr2d(corr2d)"),
        _markdown("YOUR ANSWER HERE"),
    ]
    for folder, nb in (("solutions", solution), ("notebooks", release)):
        path = course / folder / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)


def alembic_on_path() -> None:
    """nbgrader runs the ``alembic`` command when it creates a database; it sits beside the
    test interpreter, which need not be on PATH (``.venv/bin/pytest`` run directly)."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


@functools.cache
def _blank_database() -> Path:
    """An empty gradebook, made once per test run: nbgrader spends about 2.5 s creating one
    (it asks the ``alembic`` command for the schema version), copying it takes milliseconds."""
    alembic_on_path()
    folder = Path(tempfile.mkdtemp(prefix="blank-gradebook-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    gb = Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id="convcourse")
    gb.close()
    gb.engine.dispose()
    return folder / "gradebook.db"


def build_gradebook(db_url: str, students: dict[str, Student], with_assignment=True) -> None:
    """Assignment structure, students, submissions, grades and comments, via nbgrader's API."""
    target = Path(db_url.removeprefix("sqlite:///"))
    if not target.exists():
        shutil.copyfile(_blank_database(), target)
    gb = Gradebook(db_url, course_id="convcourse")
    try:
        if with_assignment:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=DUEDATE)
            gb.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
            for gid, ex, pts in TESTS:
                gb.add_solution_cell(ex, NOTEBOOK, ASSIGNMENT)
                gb.add_grade_cell(gid, NOTEBOOK, ASSIGNMENT, max_score=pts, cell_type="code")
                gb.add_source_cell(
                    gid, NOTEBOOK, ASSIGNMENT, cell_type="code", locked=True,
                    source=locked_test_source(gid),
                )  # fmt: skip
            fr, fr_points = FREE_RESPONSE
            gb.add_solution_cell(fr, NOTEBOOK, ASSIGNMENT)
            gb.add_grade_cell(fr, NOTEBOOK, ASSIGNMENT, max_score=fr_points, cell_type="markdown")
        for sid, s in students.items():
            if not s.in_gradebook:
                continue
            gb.update_or_create_student(sid, first_name=s.first, last_name=s.last, email=s.email)
            if not s.submitted or not with_assignment:
                continue
            timestamp = DUEDATE + dt.timedelta(hours=s.late_hours - 1)
            gb.add_submission(ASSIGNMENT, sid, timestamp=timestamp)
            for gid, pts in points(sid).items():
                grade = gb.find_grade(gid, NOTEBOOK, ASSIGNMENT, sid)
                grade.auto_score = pts
                grade.needs_manual_grade = False
            grade = gb.find_grade(FREE_RESPONSE[0], NOTEBOOK, ASSIGNMENT, sid)
            grade.auto_score = None
            grade.manual_score = s.manual
            grade.needs_manual_grade = s.manual is None
            if s.comment:
                comment = gb.find_comment(FREE_RESPONSE[0], NOTEBOOK, ASSIGNMENT, sid)
                comment.manual_comment = s.comment
            if s.late_penalty:
                nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, sid)
                nb.late_submission_penalty = s.late_penalty
            gb.db.commit()
    finally:
        gb.close()
        gb.engine.dispose()


def results_payload(sid: str, s: Student) -> dict:
    cells = []
    for gid, ex, pts in TESTS:
        if ex not in (s.verdicts or {}):
            continue
        passed, key, message = s.verdicts[ex]
        cells.append(
            {
                "grade_id": gid,
                "exercise": ex,
                "points": pts if passed else 0.0,
                "max_points": pts,
                "passed": passed,
                "misconception": key,
                "message": message,
            }
        )
    return {
        "schema": 2,
        "assignment_id": ASSIGNMENT,
        "student_id": sid,
        "status": s.status,
        "status_detail": s.status_detail,
        "score": sum(c["points"] for c in cells),
        "max_score": MAX_SCORE,
        "duration_s": s.duration_s,
        "graded_at": "2026-11-25T23:59:00+00:00",
        "notebooks": {
            NOTEBOOK: {
                "status": s.status,
                "status_detail": s.status_detail,
                "cells": cells,
                "manual_cells": [FREE_RESPONSE[0]],
            }
        },
    }


def write_results(course: Path, students: dict[str, Student]) -> None:
    folder = course / ".grading" / "results" / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for sid, s in students.items():
        path = folder / f"{sid}.json"
        if s.results == "json":
            path.write_text(json.dumps(results_payload(sid, s), indent=1), encoding="utf-8")
        elif s.results == "broken":
            path.write_text('{"schema": 2, "status": "graded",', encoding="utf-8")


@dataclass
class Course:
    path: Path
    db_url: str
    students: dict


def output_files(course: Path) -> list[Path]:
    """Every file the outputs helper may have written under a course folder."""
    found = []
    for folder in ("feedback", "reports", "exports"):
        found.extend(p for p in (course / folder).rglob("*") if p.is_file())
    return found


def build_large_gradebook(db_url: str, n_students: int, seed: int = 0) -> dict[str, dict]:
    """A gradebook with ``n_students`` graded submissions, inserted in one transaction.

    Returns student id -> {"points": {grade id: points}, "passed": {exercise: bool}}; every
    student gets a results file-like verdict too (see ``write_large_results``).
    """
    import random

    from nbgrader.api import (
        Grade,
        GradeCell,
        SubmittedAssignment,
        SubmittedNotebook,
    )
    from nbgrader.api import Student as StudentRow

    rng = random.Random(seed)
    build_gradebook(db_url, {})
    gb = Gradebook(db_url, course_id="convcourse")
    truth: dict[str, dict] = {}
    try:
        notebook = gb.find_notebook(NOTEBOOK, ASSIGNMENT)
        assignment = notebook.assignment
        cells = {c.name: c for c in gb.db.query(GradeCell).filter(GradeCell.notebook == notebook)}
        for i in range(n_students):
            sid = f"s{i:04d}"
            passed = {ex: rng.random() < 0.3 + 0.2 * k for k, (_, ex, _) in enumerate(TESTS)}
            pts = {gid: (p if passed[ex] else 0.0) for gid, ex, p in TESTS}
            student = StudentRow(id=sid, first_name=f"F{i}", last_name=f"L{i}")
            sub = SubmittedAssignment(assignment=assignment, student=student)
            snb = SubmittedNotebook(notebook=notebook, assignment=sub)
            for gid, value in pts.items():
                Grade(cell=cells[gid], notebook=snb, auto_score=value, needs_manual_grade=False)
            Grade(cell=cells[FREE_RESPONSE[0]], notebook=snb, needs_manual_grade=True)
            gb.db.add(sub)
            truth[sid] = {"points": pts, "passed": passed}
        gb.db.commit()
    finally:
        gb.close()
        gb.engine.dispose()
    return truth


def write_large_results(course: Path, truth: dict[str, dict]) -> None:
    students = {}
    for i, (sid, t) in enumerate(truth.items()):
        verdicts = {
            ex: (ok, None if ok else "flipped_kernel", f"{ex}: {'ok' if ok else 'wrong'}")
            for ex, ok in t["passed"].items()
        }
        students[sid] = Student(verdicts=verdicts, duration_s=0.5 + (i % 97) / 10)
    write_results(course, students)


# --------------------------------------------------------------------------------------------
# Reading generated HTML back


class Page:
    """The parts of an HTML page the tests look at, read with ``html.parser``."""

    def __init__(self, text: str):
        self.source = text
        self.tables: list[dict] = []  # {"caption": str, "rows": [[cell text, ...], ...]}
        self.images: list[dict] = []
        self.headings: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self.text = ""
        parser = _Parser(self)
        parser.feed(text)
        parser.close()
        assert not parser.stack, f"unclosed elements: {parser.stack}"

    def table(self, caption_start: str) -> dict:
        found = [t for t in self.tables if t["caption"].startswith(caption_start)]
        assert found, f"no table captioned {caption_start!r}: {[t['caption'] for t in self.tables]}"
        return found[0]

    def rows(self, caption_start: str) -> list[list[str]]:
        return self.table(caption_start)["rows"]


_VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Parser(HTMLParser):
    """Collects tables, headings, images and text, and checks that elements nest properly."""

    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[str] = []
        self.chunks: list[str] = []
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.heading: list[str] | None = None
        self.caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.page.tags.append(tag)
        if tag == "img":
            self.page.images.append(dict(attrs))
        if tag in _VOID:
            return
        self.stack.append(tag)
        if tag == "table":
            self.page.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self.caption = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag in ("h1", "h2", "h3"):
            self.heading = []

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()
        if tag == "caption":
            self.page.tables[-1]["caption"] = "".join(self.caption).strip()
            self.caption = None
        elif tag in ("td", "th"):
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.page.tables[-1]["rows"].append(self.row)
            self.row = None
        elif tag in ("h1", "h2", "h3"):
            self.page.headings.append((tag, "".join(self.heading).strip()))
            self.heading = None

    def handle_data(self, data):
        self.chunks.append(data)
        for sink in (self.cell, self.heading, self.caption):
            if sink is not None:
                sink.append(data)

    def close(self):
        super().close()
        self.page.text = "".join(self.chunks)


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def assert_no_secrets(paths) -> None:
    """No generated file holds a secret string, a marker of nbgrader or a quoted secret line."""
    forbidden = (*SECRETS, "BEGIN SOLUTION", "HIDDEN TESTS", "MARK SCHEME", "### ")
    checked = 0
    for path in paths:
        data = Path(path).read_bytes().decode("utf-8")
        for secret in forbidden:
            assert secret not in data, f"{secret!r} leaked into {path}"
        checked += 1
    assert checked, "no generated files to check"
