"""The grades CSV export, from the outcomes of ``outcomes.py``.

The CSV starts with the columns of ``nbgrader export``, in its order and with its meaning
(``assignment, duedate, timestamp, student_id, last_name, first_name, email, raw_score,
late_submission_penalty, score, max_score``), then adds ``student_duedate, seconds_late, late,
timestamp_source, auto_score, manual_score, extra_credit, needs_manual_grade, status,
status_detail, duration_s``.
As with ``nbgrader export`` every student of the gradebook has a row for every assignment
(score 0 and status ``not_submitted`` without a submission).  Differences: times are ISO 8601
with an explicit UTC offset; empty values are empty cells, never ``None``; a student with a
results file but no gradebook entry also gets a row; rows are sorted by assignment (due date,
undated last, then name) and student id; the file is UTF-8 with real CSV quoting, written
atomically.

Lateness, truthfully: ``student_duedate`` is the due date that applied to the student (the
assignment's plus their extension, nbgrader's ``SubmittedAssignment.duedate``); ``seconds_late``
is nbgrader's (submission time minus due date plus extension, at least 0) when the gradebook has
both times, and empty -- not 0 -- when either is unknown; the penalty follows it.  ``late`` is
the LMS's own late flag when the export carried one (Canvas's ``LATE``, or the ``late`` column of
the LMS's times), else ``yes``/``no`` from ``seconds_late``, else empty.  ``timestamp_source``
says where the time came from: ``lms``, ``file`` (a file's own time, when nothing better
existed) or empty (unknown, or not recorded by convcourse).

Every cell a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab, CR or LF, after any spaces) is written with a leading ``'`` (OWASP's advice against CSV
injection), except numbers: names, e-mails and details (which quote file names students chose)
stay text.  Lines end in CRLF (RFC 4180), so a CR or LF inside a cell is always quoted.
Python's ``csv`` module and nbgrader's columns read the file as before.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path

from convcourse.instructor.files import write_atomic
from convcourse.instructor.layout import existing_course
from convcourse.instructor.reporting.outcomes import (
    NOT_SUBMITTED,
    AssignmentOutcomes,
    SubmissionOutcome,
    close_gradebook,
    load_assignment,
    open_gradebook,
)

__all__ = [
    "NBGRADER_COLUMNS",
    "EXTRA_COLUMNS",
    "export_grades",
    "spreadsheet_safe",
]

NBGRADER_COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
)
EXTRA_COLUMNS = (
    "student_duedate",
    "seconds_late",
    "late",
    "timestamp_source",
    "auto_score",
    "manual_score",
    "extra_credit",
    "needs_manual_grade",
    "status",
    "status_detail",
    "duration_s",
)


def _fmt_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # nbgrader stores naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _fmt_num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if value != int(value) else f"{value:.1f}"


def _row(outcomes: AssignmentOutcomes, student_id: str) -> dict[str, str]:
    first, last, email = outcomes.students.get(student_id, ("", "", ""))
    sub = outcomes.submissions.get(student_id)
    row = {
        "assignment": outcomes.assignment_id,
        "duedate": _fmt_time(outcomes.duedate),
        "student_id": student_id,
        "last_name": last,
        "first_name": first,
        "email": email,
        "max_score": _fmt_num(outcomes.max_score),
    }
    if sub is None:  # as nbgrader export: a student who handed nothing in scores zero
        row.update(
            timestamp="",
            raw_score=_fmt_num(0.0),
            late_submission_penalty=_fmt_num(0.0),
            score=_fmt_num(0.0),
            student_duedate="",
            seconds_late="",
            late="",
            timestamp_source="",
            auto_score="",
            manual_score="",
            extra_credit="",
            needs_manual_grade="",
            status=NOT_SUBMITTED,
            status_detail="no submission in the gradebook and no results file",
            duration_s="",
        )
        return row
    row.update(
        timestamp=_fmt_time(sub.timestamp),
        raw_score=_fmt_num(sub.raw_score),
        late_submission_penalty=_fmt_num(sub.late_penalty),
        score=_fmt_num(sub.score),
        student_duedate=_fmt_time(sub.duedate),
        seconds_late=_fmt_num(sub.seconds_late) if sub.in_gradebook else "",
        late=_fmt_late(sub),
        timestamp_source=sub.timestamp_source,
        auto_score=_fmt_num(sub.auto_score),
        manual_score=_fmt_num(sub.manual_score),
        extra_credit=_fmt_num(sub.extra_credit),
        needs_manual_grade="yes" if sub.needs_manual_grade else "no",
        status=sub.status,
        status_detail=sub.status_detail,
        duration_s=_fmt_num(sub.duration_s),
    )
    return row


def _fmt_late(sub: SubmissionOutcome) -> str:
    """The LMS's flag when known, else what ``seconds_late`` says, else unknown."""
    late = sub.late
    if late is None and sub.in_gradebook and sub.seconds_late is not None:
        late = sub.seconds_late > 0
    return "" if late is None else ("yes" if late else "no")


_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")  # and full-width forms
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value) -> str:
    """A CSV cell a spreadsheet shows as text: a would-be formula gets a leading ``'``."""
    text = "" if value is None else str(value)
    first = text.lstrip(" ")[:1]
    if first and first in _FORMULA_START and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _points_column(notebook: str, grade_id: str, several_notebooks: bool) -> str:
    return f"points:{notebook}/{grade_id}" if several_notebooks else f"points:{grade_id}"


def export_grades(
    course_dir: str | os.PathLike,
    out_csv: str | os.PathLike,
    assignment_id: str | None = None,
    db_url: str | None = None,
    *,
    wide: bool = False,
) -> Path:
    """Write one CSV row per (student, assignment); all assignments unless one is named.

    Every student of the gradebook gets a row for every exported assignment (status
    ``not_submitted`` and score 0 when there is no submission), as ``nbgrader export`` does.
    ``wide=True`` adds one ``points:<grade id>`` column per graded cell (the union over the
    exported assignments, empty where a cell does not belong to the row's assignment).
    """
    layout = existing_course(course_dir, db_url)
    out = Path(out_csv)
    if out.is_dir():
        raise IsADirectoryError(f"output path is a directory, expected a .csv file: {out}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder does not exist: {out.parent}")
    gb = open_gradebook(layout.db_url)
    try:
        # By due date, undated last, then name: the same order on every database backend.
        known = [
            a.name
            for a in sorted(
                gb.assignments,
                key=lambda a: (a.duedate is None, a.duedate or dt.datetime.min, a.name),
            )
        ]
        if assignment_id is None:
            names = known
        elif assignment_id in known or layout.results_dir(assignment_id).is_dir():
            names = [assignment_id]
        else:
            raise ValueError(
                f"unknown assignment {assignment_id!r}; the gradebook has: "
                f"{', '.join(known) or 'none'}"
            )
        every = [load_assignment(gb, layout, name) for name in names]
    finally:
        close_gradebook(gb)

    columns = list(NBGRADER_COLUMNS + EXTRA_COLUMNS)
    cell_columns: list[tuple[str, str, str]] = []  # assignment, key, column name
    if wide:
        for outcomes in every:
            several = len({nb for nb, *_ in outcomes.cells}) > 1
            for nb, grade_id, *_ in outcomes.cells:
                name = _points_column(nb, grade_id, several)
                cell_columns.append((outcomes.assignment_id, f"{nb}/{grade_id}", name))
        for name in dict.fromkeys(c[2] for c in cell_columns):
            columns.append(name)

    rows = []
    for outcomes in every:
        ids = sorted(set(outcomes.students) | set(outcomes.submissions))
        for student_id in ids:
            row = _row(outcomes, student_id)
            if wide:
                sub = outcomes.submissions.get(student_id)
                points = {f"{c.notebook}/{c.grade_id}": c.score for c in sub.cells} if sub else {}
                for aid, key, name in cell_columns:
                    if aid == outcomes.assignment_id:
                        row[name] = _fmt_num(points.get(key, 0.0 if sub is None else None))
            rows.append(row)

    buffer = io.StringIO(newline="")
    # CRLF line ends (RFC 4180): Python's writer then quotes every cell holding a CR or LF;
    # with "\n" a lone CR in a detail would split the row in two.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(c) for c in columns])
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(c, "")) for c in columns])
    return write_atomic(out, buffer.getvalue(), newline="")
