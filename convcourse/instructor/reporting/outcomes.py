"""Grading outcomes as plain records: nbgrader's gradebook and the grader's results files.

``load_outcomes`` reads one assignment from nbgrader's gradebook in a handful of bulk queries
(fast for hundreds of students) and merges in the per-submission results files
(``recording/results.py``).  The CSV export, the feedback pages and the report are built from
these records.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import (
    Assignment,
    BaseCell,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    Notebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    TaskCell,
)
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from convcourse.editions import EDITIONS
from convcourse.instructor.layout import CourseLayout, existing_course
from convcourse.instructor.recording import results as results_file

__all__ = [
    "CellOutcome",
    "SubmissionOutcome",
    "AssignmentOutcomes",
    "NOT_SUBMITTED",
    "UNREADABLE",
    "close_gradebook",
    "open_gradebook",
    "load_outcomes",
    "load_assignment",
]

# Status of a student who is in the gradebook but handed nothing in for the assignment.
NOT_SUBMITTED = "not_submitted"
# Status of a results file that exists but cannot be read (not JSON, wrong schema, ...).
UNREADABLE = "unreadable"


@dataclass
class CellOutcome:
    """One graded cell of one submission: gradebook scores merged with the grader's verdict."""

    notebook: str
    grade_id: str
    exercise: str
    manual: bool  # a free-response or task cell, graded by a person
    max_score: float
    auto_score: float | None = None
    manual_score: float | None = None
    extra_credit: float | None = None
    needs_manual_grade: bool = False
    reported: bool = True  # False: the grader's results file does not mention this cell
    passed: bool | None = None
    misconception: str | None = None
    message: str = ""

    @property
    def scored(self) -> bool:
        return self.manual_score is not None or self.auto_score is not None

    @property
    def score(self) -> float:
        """nbgrader's rule: the manual score wins over the auto score; extra credit is added
        (only to a cell that has a score at all)."""
        base = self.manual_score if self.manual_score is not None else self.auto_score
        if base is None:
            return 0.0
        return base + (self.extra_credit or 0.0)

    def outcome(self) -> bool | None:
        """Passed? The grader's verdict when there is one, else full auto points; None when
        unknown (not run yet, or a cell graded by a person)."""
        if self.passed is not None:
            return self.passed
        if self.manual or self.auto_score is None or not self.reported:
            return None
        return self.auto_score >= self.max_score - 1e-9


@dataclass
class SubmissionOutcome:
    """Everything known about one student's submission of one assignment."""

    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    in_gradebook: bool = False
    timestamp: dt.datetime | None = None  # naive UTC, as nbgrader stores it
    seconds_late: float | None = None  # None: the due date or the submission time is unknown
    duedate: dt.datetime | None = None  # naive UTC: the assignment's, plus any extension
    extension: dt.timedelta | None = None  # nbgrader's SubmittedAssignment.extension
    late: bool | None = None  # the LMS's own late flag (results file); None: it said nothing
    timestamp_source: str = ""  # "lms", "file" or "" (results file)
    late_penalty: float = 0.0
    cells: list[CellOutcome] = field(default_factory=list)
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # notebook, cell, text
    has_results: bool = False
    status: str = ""
    status_detail: str = ""
    notebook_status: dict[str, tuple[str, str]] = field(default_factory=dict)
    language: str = "en"  # the edition it was handed in from: its feedback page's language
    duration_s: float | None = None
    graded_at: str = ""
    results_score: float | None = None
    results_max_score: float | None = None

    @property
    def raw_score(self) -> float:
        if self.in_gradebook or self.results_score is None:
            return sum(c.score for c in self.cells)
        return self.results_score

    @property
    def score(self) -> float:
        """Score after the late penalty, never below zero (as ``nbgrader export``)."""
        return max(0.0, self.raw_score - self.late_penalty)

    @property
    def auto_score(self) -> float:
        """Points from cells scored by the autograder alone (no manual override)."""
        return sum(c.auto_score or 0.0 for c in self.cells if c.manual_score is None)

    @property
    def manual_score(self) -> float | None:
        """Points from cells a person scored; None when no cell has a manual score."""
        manual = [c.manual_score for c in self.cells if c.manual_score is not None]
        return sum(manual) if manual else None

    @property
    def extra_credit(self) -> float:
        return sum(c.extra_credit for c in self.cells if c.extra_credit and c.scored)

    @property
    def needs_manual_grade(self) -> bool:
        return any(c.needs_manual_grade for c in self.cells)

    @property
    def graded(self) -> bool:
        """True when the grader ran the notebook to the end (or nbgrader alone scored it)."""
        return self.status == "graded"


@dataclass
class AssignmentOutcomes:
    """One assignment: its cells, every student of the course and every submission."""

    assignment_id: str
    duedate: dt.datetime | None
    max_score: float
    cells: list[tuple[str, str, str, bool, float]]  # notebook, grade_id, exercise, manual, max
    students: dict[str, tuple[str, str, str]]  # id -> first name, last name, email
    submissions: dict[str, SubmissionOutcome]

    def graded_submissions(self) -> list[SubmissionOutcome]:
        return [s for s in self.submissions.values() if s.graded]


def _check_db_url(db_url: str) -> None:
    """Refuse a SQLite URL whose file does not exist: opening it would create an empty one."""
    try:
        url = make_url(db_url)
    except ArgumentError as err:
        raise ValueError(f"not a database URL: {db_url!r} ({err})") from None
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not Path(database).is_file():
            raise FileNotFoundError(
                f"gradebook not found: {database} (run the autograder first, "
                "or pass the database URL of the gradebook)"
            )


def open_gradebook(db_url: str) -> Gradebook:
    """Open an existing gradebook without writing to it.

    ``Gradebook(url)`` registers its ``course_id`` (``default_course`` unless told) when it is
    missing, so the course id already stored is passed instead: reading never changes the data.
    """
    _check_db_url(db_url)
    try:
        engine = create_engine(db_url)
        try:
            tables = set(inspect(engine).get_table_names())
            if not {"assignment", "student", "grade", "course"} <= tables:
                raise ValueError(f"not an nbgrader gradebook (no nbgrader tables): {db_url}")
            with engine.connect() as conn:
                courses = [row[0] for row in conn.execute(text("SELECT id FROM course"))]
        finally:
            engine.dispose()
        return Gradebook(db_url, course_id=courses[0] if courses else "default_course")
    except SQLAlchemyError as err:
        raise ValueError(f"cannot read the gradebook {db_url}: {err}") from None


def close_gradebook(gb: Gradebook) -> None:
    """Close the session and the engine of a gradebook opened by ``open_gradebook``."""
    gb.close()
    gb.engine.dispose()  # release the SQLite file (temporary course folders get deleted)


def _exercise_of(grade_id: str) -> str:
    """Exercise id of a test cell (``test-corr2d`` -> ``corr2d``); other cells keep their id."""
    return grade_id.removeprefix("test-")


def _float_or_none(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _naive_utc(text: str) -> dt.datetime | None:
    """An ISO 8601 time as nbgrader stores times (naive UTC); None if it is not one."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return None  # a time without its zone is not a time we can compare
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _apply_results(sub: SubmissionOutcome, data: dict, cell_order: dict) -> None:
    """Merge one parsed results file into a submission (gradebook scores stay authoritative)."""
    sub.has_results = True
    sub.status = str(data.get("status") or "")
    sub.status_detail = str(data.get("status_detail") or "")
    sub.duration_s = _float_or_none(data.get("duration_s"))
    sub.graded_at = str(data.get("graded_at") or "")
    sub.results_score = _float_or_none(data.get("score"))
    sub.results_max_score = _float_or_none(data.get("max_score"))
    sub.late = data["late"] if isinstance(data.get("late"), bool) else None
    source = data.get("timestamp_source")
    sub.timestamp_source = source if source in ("lms", "file") else ""
    if sub.timestamp is None and isinstance(data.get("timestamp"), str):
        sub.timestamp = _naive_utc(data["timestamp"])
    by_key = {(c.notebook, c.grade_id): c for c in sub.cells}
    for cell in sub.cells:
        cell.reported = False  # until the results file mentions it (a run cut short does not)
    notebooks = data.get("notebooks") if isinstance(data.get("notebooks"), dict) else {}
    for nb_name, nb in notebooks.items():
        if not isinstance(nb, dict):
            continue
        sub.notebook_status[nb_name] = (
            str(nb.get("status") or ""),
            str(nb.get("status_detail") or ""),
        )
        if nb.get("language") in EDITIONS:
            sub.language = nb["language"]
        for raw in nb.get("cells") or []:
            if not isinstance(raw, dict) or not raw.get("grade_id"):
                continue
            grade_id = str(raw["grade_id"])
            cell_order.setdefault((nb_name, grade_id), len(cell_order))
            cell = by_key.get((nb_name, grade_id))
            if cell is None:  # the gradebook has no such cell: keep the grader's numbers
                cell = CellOutcome(
                    notebook=nb_name,
                    grade_id=grade_id,
                    exercise=str(raw.get("exercise") or _exercise_of(grade_id)),
                    manual=False,
                    max_score=_float_or_none(raw.get("max_points")) or 0.0,
                    auto_score=_float_or_none(raw.get("points")),
                )
                sub.cells.append(cell)
                by_key[(nb_name, grade_id)] = cell
            cell.reported = True
            if raw.get("exercise"):
                cell.exercise = str(raw["exercise"])
            if isinstance(raw.get("passed"), bool):
                cell.passed = raw["passed"]
            cell.misconception = str(raw["misconception"]) if raw.get("misconception") else None
            cell.message = str(raw.get("message") or "")


def load_outcomes(
    course_dir: str | os.PathLike, assignment_id: str, db_url: str | None = None
) -> AssignmentOutcomes:
    """Read one assignment's grades, comments and results files into plain records.

    Raises FileNotFoundError for a missing course directory or gradebook and ValueError for an
    assignment that is neither in the gradebook nor has results files.
    """
    layout = existing_course(course_dir, db_url)
    if not isinstance(assignment_id, str) or not assignment_id.strip():
        raise ValueError(f"assignment id must be a non-empty string, got {assignment_id!r}")
    gb = open_gradebook(layout.db_url)
    try:
        return load_assignment(gb, layout, assignment_id)
    finally:
        close_gradebook(gb)


def load_assignment(gb: Gradebook, layout: CourseLayout, assignment_id: str) -> AssignmentOutcomes:
    """The outcomes of one assignment from an open gradebook and the course's results files."""
    session = gb.db
    results = results_file.read_all(layout, assignment_id)
    assignment = session.query(Assignment).filter(Assignment.name == assignment_id).one_or_none()
    if assignment is None and not results:
        known = sorted(name for (name,) in session.query(Assignment.name))
        raise ValueError(
            f"unknown assignment {assignment_id!r}: not in the gradebook and no results in "
            f"{layout.results_dir(assignment_id)}; the gradebook has: "
            f"{', '.join(known) or 'none'}"
        )

    students = {
        sid: (first or "", last or "", email or "")
        for sid, first, last, email in session.query(
            Student.id, Student.first_name, Student.last_name, Student.email
        )
    }
    # Cells of the assignment: (cell id) -> (notebook, grade id, manual?, max score).
    specs: dict[str, tuple[str, str, bool, float]] = {}
    submissions: dict[str, SubmissionOutcome] = {}
    duedate = None
    if assignment is not None:
        duedate = assignment.duedate
        for model in (GradeCell, TaskCell):
            rows = (
                session.query(model.id, Notebook.name, model.name, model.cell_type, model.max_score)
                .join(Notebook, model.notebook_id == Notebook.id)
                .filter(Notebook.assignment_id == assignment.id)
            )
            for cell_id, nb_name, name, cell_type, max_score in rows:
                manual = model is TaskCell or cell_type == "markdown"
                specs[cell_id] = (nb_name, name, manual, float(max_score or 0.0))
        _load_submissions(session, assignment, specs, students, submissions)

    cell_order: dict[tuple[str, str], int] = {}
    for student_id, (data, problem) in sorted(results.items()):
        sub = submissions.get(student_id)
        if sub is None:
            first, last, email = students.get(student_id, ("", "", ""))
            sub = SubmissionOutcome(student_id, first, last, email)
            submissions[student_id] = sub
        if data is None:
            sub.has_results = True
            sub.status, sub.status_detail = UNREADABLE, problem
        else:
            _apply_results(sub, data, cell_order)
    for sub in submissions.values():
        if not sub.has_results:
            # Scored by nbgrader (or entered by hand) without the convcourse grader.
            sub.status = "graded"
            sub.status_detail = "no convcourse results file; scores from the gradebook"

    # Canonical cell order: as the grader reported them (notebook order), then by name.
    cells = {
        (nb, gid): (nb, gid, _exercise_of(gid), manual, mx)
        for nb, gid, manual, mx in specs.values()
    }
    for sub in submissions.values():
        for c in sub.cells:
            cells.setdefault(
                (c.notebook, c.grade_id),
                (c.notebook, c.grade_id, c.exercise, c.manual, c.max_score),
            )
    big = len(cell_order)

    def rank(key: tuple[str, str]) -> tuple[int, str, str]:
        return (cell_order.get(key, big), key[0], key[1])

    ordered = [cells[k] for k in sorted(cells, key=rank)]
    for sub in submissions.values():
        sub.cells.sort(key=lambda c: rank((c.notebook, c.grade_id)))
    if assignment is not None and specs:
        max_score = sum(spec[3] for spec in specs.values())
    else:
        max_score = next(
            (s.results_max_score for s in submissions.values() if s.results_max_score), 0.0
        )
    return AssignmentOutcomes(
        assignment_id=assignment_id,
        duedate=duedate,
        max_score=max_score,
        cells=ordered,
        students=students,
        submissions=dict(sorted(submissions.items())),
    )


def _load_submissions(session, assignment, specs, students, submissions) -> None:
    """Fill ``submissions`` from the gradebook with four bulk queries (no per-row queries)."""
    rows = session.query(
        SubmittedAssignment.id,
        SubmittedAssignment.student_id,
        SubmittedAssignment.timestamp,
        SubmittedAssignment.extension,
    ).filter(SubmittedAssignment.assignment_id == assignment.id)
    by_submission: dict[str, SubmissionOutcome] = {}
    for sub_id, student_id, timestamp, extension in rows:
        first, last, email = students.get(student_id, ("", "", ""))
        sub = SubmissionOutcome(student_id, first, last, email, in_gradebook=True)
        sub.timestamp = timestamp
        due = assignment.duedate
        if due is not None and extension is not None:
            due = due + extension
        sub.duedate = due
        sub.extension = extension if due is not None else None
        if timestamp is not None and due is not None:
            sub.seconds_late = max(0.0, (timestamp - due).total_seconds())
        by_submission[sub_id] = sub
        submissions[student_id] = sub

    if not by_submission:
        return
    penalties = (
        session.query(SubmittedNotebook.assignment_id, SubmittedNotebook.late_submission_penalty)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .filter(SubmittedAssignment.assignment_id == assignment.id)
    )
    for sub_id, penalty in penalties:
        by_submission[sub_id].late_penalty += float(penalty or 0.0)

    grades = (
        session.query(
            SubmittedNotebook.assignment_id,
            Grade.cell_id,
            Grade.auto_score,
            Grade.manual_score,
            Grade.extra_credit,
            Grade.needs_manual_grade,
        )
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .filter(SubmittedAssignment.assignment_id == assignment.id)
    )
    for sub_id, cell_id, auto, manual_score, extra, needs_manual in grades:
        if cell_id not in specs or sub_id not in by_submission:
            continue
        nb_name, grade_id, manual, max_score = specs[cell_id]
        by_submission[sub_id].cells.append(
            CellOutcome(
                notebook=nb_name,
                grade_id=grade_id,
                exercise=_exercise_of(grade_id),
                manual=manual,
                max_score=max_score,
                auto_score=auto,
                manual_score=manual_score,
                extra_credit=extra,
                needs_manual_grade=bool(needs_manual),
            )
        )

    comments = (
        session.query(
            SubmittedNotebook.assignment_id,
            Notebook.name,
            BaseCell.name,
            Comment.manual_comment,
        )
        .join(SubmittedNotebook, Comment.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
        .join(BaseCell, Comment.cell_id == BaseCell.id)
        .filter(SubmittedAssignment.assignment_id == assignment.id)
        .order_by(Notebook.name, BaseCell.name)
    )
    # Only what a person wrote: nbgrader's automatic comments ("No response.") are not feedback.
    for sub_id, nb_name, cell_name, manual_comment in comments:
        comment = (manual_comment or "").strip()
        if comment and sub_id in by_submission:
            by_submission[sub_id].comments.append((nb_name, cell_name, comment))


# --------------------------------------------------------------------------------------------
# CSV export
