"""Grades back into the LMS: a file Canvas's gradebook import or Moodle's grading worksheet
upload accepts, for one assignment, mapped through the LMS ids recorded at ingest.

Scores are nbgrader's ``score`` (after the late penalty, as ``convcourse export`` writes it),
out of the assignment's ``max_score``, or rescaled with ``out_of`` (rounded to 2 decimals, the
precision Canvas shows).  A student of the gradebook with no submission scores 0, as in
``nbgrader export``.  Who is who comes only from the ingest record
(:mod:`convcourse.instructor.intake.ingest_record`, the ``identity`` of the student's last
entry); names are never matched.  Every student who cannot be mapped is *listed*, never
dropped: :attr:`LmsExport.unmatched` and a sidecar CSV ``<out>.unmatched.csv`` (always
written, header only when everybody was mapped), with the score they would have had and why.

**Canvas** (read from instructure/canvas-lms ``lib/gradebook_importer.rb`` and the Canvas guide
"How do I import grades in the Gradebook?").  Columns ``Student, ID, SIS User ID, SIS Login ID,
Section, <assignment>``, then a ``Points Possible`` row (as Canvas's own export writes it),
then one row per student.  The
importer recognises the header by ``Student`` and ``ID`` in the first two columns and
``Section`` as the last student column (after ``SIS User ID``, ``SIS Login ID``); it finds a
student by ``ID`` (the Canvas user id) first, then by SIS ids, then by name -- we fill ``ID``
with the user id of the submission file names (``<name>_<user id>_<file id>_<file>``), leave
the SIS columns and ``Section`` empty, and write ``Student`` as "Last, First" (Canvas's
sortable name) for people reading the file.  Canvas user ids are course-wide, so a student
ingested for another assignment of the course (for example one who handed nothing in this
time) is found through that assignment's record.  The assignment column is ``Name (id)``
(``Assignment.title_and_id``: a title, a space, the id in parentheses): with
``lms_assignment_id`` the grades go to that existing Canvas assignment; without it Canvas looks
for an assignment of exactly that title and, finding none, **creates a new assignment** (its
points from the ``Points Possible`` row).  Canvas's anonymous-grading ids (``anon_...``) are
not user ids: such students are unmatched.

**Moodle** (read from moodle/moodle ``mod/assign/feedback/offline/importgradeslib.php`` and
``locallib.php``, strings from ``mod/assign/lang/en/assign.php``): the assignment's "Upload
grading worksheet".  The importer looks columns up by their English titles ``Identifier``,
``Grade`` and ``Last modified (grade)`` (all three required, other columns ignored); the
identifier is ``Participant <id>``, the participant id of Moodle's download
(``<full name>_<participant id>_assignsubmission_file_``), which is unique within one
assignment only -- so only this assignment's record is used, and a student who handed nothing
in through Moodle is unmatched.  ``Last modified (grade)`` is the time of this export: Moodle
keeps a grade changed in Moodle more than a minute after it (unless the upload form's "allow
updating records modified more recently" is ticked).  Moodle also skips, without an error, a
grade above the assignment's maximum grade: keep it equal to ``max_score`` or use ``out_of``.
``Full name`` and ``Maximum Grade`` are written for people reading the file.  (Moodle's
course gradebook import, ``grade/import/csv/``, maps by user id, username, id number or e-mail,
none of which an assignment download carries; that is why the worksheet is the target.)

Text cells go through :func:`~convcourse.instructor.reporting.export.spreadsheet_safe`; lines
end in CRLF; the file is UTF-8 and written atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from convcourse.instructor.files import write_atomic
from convcourse.instructor.intake.ingest_record import load_manifest
from convcourse.instructor.layout import CourseLayout, existing_course
from convcourse.instructor.reporting.export import spreadsheet_safe
from convcourse.instructor.reporting.outcomes import (
    NOT_SUBMITTED,
    AssignmentOutcomes,
    close_gradebook,
    load_assignment,
    open_gradebook,
)

__all__ = [
    "CANVAS_COLUMNS",
    "LMS_FORMATS",
    "MOODLE_COLUMNS",
    "UNMATCHED_COLUMNS",
    "LmsExport",
    "Unmatched",
    "export_lms_grades",
    "unmatched_path",
]

LMS_FORMATS = ("canvas", "moodle")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)")
UNMATCHED_COLUMNS = (
    "student_id",
    "first_name",
    "last_name",
    "email",
    "score",
    "max_score",
    "status",
    "reason",
)
_LMS_LABEL = {"canvas": "Canvas user id", "moodle": "Moodle participant id"}
# Canvas reads a header "Title (123)" as assignment 123: a bare title must not look like that.
_TITLE_WITH_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.S)


@dataclass(frozen=True)
class Unmatched:
    """A student of the export who has no usable LMS id, and why."""

    student_id: str
    reason: str


@dataclass
class LmsExport:
    """What :func:`export_lms_grades` wrote."""

    path: Path
    unmatched_path: Path
    lms: str
    assignment_id: str
    header: str  # Canvas: the assignment column; Moodle: the grade column
    exported: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def unmatched_path(out: Path) -> Path:
    """The sidecar beside ``out``: ``grades.csv`` -> ``grades.unmatched.csv``."""
    return out.with_name(f"{out.stem}.unmatched.csv")


def _last_entry(manifest: dict, student_id: str) -> dict | None:
    history = manifest["students"].get(student_id)
    if isinstance(history, list) and history and isinstance(history[-1], dict):
        return history[-1]
    return None


def _lms_id_of(entry: dict | None, lms: str) -> tuple[str | None, str]:
    """``(id, "")`` or ``(None, why not)`` from one record entry."""
    if entry is None:
        return None, "never ingested for this assignment"
    identity = entry.get("identity")
    lms_id = entry.get("lms_id")
    kind = identity.partition(":")[0] if isinstance(identity, str) else ""
    if kind != lms:
        where = "a plain folder" if kind == "plain" else (kind.capitalize() or "an unknown source")
        return None, f"ingested from {where}, so no {_LMS_LABEL[lms]} is recorded"
    if not isinstance(lms_id, str) or not lms_id:
        return None, f"the ingest record has no {_LMS_LABEL[lms]}"
    if lms == "canvas" and lms_id.startswith("anon_"):
        return None, "ingested under Canvas's anonymous grading: anon_ ids are not user ids"
    if not lms_id.isdigit():
        return None, f"the recorded {_LMS_LABEL[lms]} {lms_id!r} is not a number"
    return lms_id, ""


def _lms_ids(
    layout: CourseLayout, lms: str, assignment_id: str, student_ids: list[str]
) -> dict[str, tuple[str | None, str]]:
    """``student -> (LMS id, why not)``; no LMS id is ever given to two students."""
    own = load_manifest(layout, assignment_id)
    others: list[dict] = []
    if lms == "canvas":  # user ids are course-wide: other assignments' records count too
        folder = layout.root / ".grading" / "ingest"
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.stem != assignment_id:
                try:
                    others.append(load_manifest(layout, path.stem))
                except ValueError:
                    continue  # an unreadable record of another assignment is no evidence
    out: dict[str, tuple[str | None, str]] = {}
    for sid in student_ids:
        lms_id, why = _lms_id_of(_last_entry(own, sid), lms)
        if lms_id is None and lms == "canvas":
            found = {_lms_id_of(_last_entry(m, sid), lms)[0] for m in others} - {None}
            if len(found) == 1:
                lms_id, why = found.pop(), ""
            elif found:
                why = f"other assignments' records give different ids ({', '.join(sorted(found))})"
            elif why == "never ingested for this assignment":
                why = "never ingested from Canvas for any assignment"
        out[sid] = (lms_id, why)
    holders: dict[str, list[str]] = {}
    for sid, (lms_id, _) in out.items():
        if lms_id is not None:
            holders.setdefault(lms_id, []).append(sid)
    for lms_id, sids in holders.items():
        if len(sids) > 1:
            for sid in sids:
                rest = ", ".join(s for s in sids if s != sid)
                out[sid] = (None, f"{_LMS_LABEL[lms]} {lms_id} is also recorded for {rest}")
    return out


def _fmt_score(value: float) -> str:
    value = round(value, 2)
    return f"{value:.1f}" if value == int(value) else f"{value:g}"


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_safe(c) for c in row])
    return buffer.getvalue()


def _load(layout: CourseLayout, assignment_id: str) -> AssignmentOutcomes:
    gb = open_gradebook(layout.db_url)
    try:
        return load_assignment(gb, layout, assignment_id)
    finally:
        close_gradebook(gb)


def export_lms_grades(
    course_dir: str | os.PathLike,
    out_csv: str | os.PathLike,
    lms: str,
    assignment_id: str,
    db_url: str | None = None,
    *,
    lms_assignment_id: str | None = None,
    lms_assignment_name: str | None = None,
    out_of: float | None = None,
    now: dt.datetime | None = None,
) -> LmsExport:
    """Write the import file of ``lms`` for one assignment and the ``.unmatched.csv`` sidecar.

    ``lms_assignment_id`` (Canvas only): the Canvas assignment's id, from its URL
    (``/courses/<course>/assignments/<id>``); ``lms_assignment_name`` the column title
    (default: the nbgrader assignment name).  ``out_of``: rescale scores to this maximum.
    ``now``: the time written as Moodle's ``Last modified (grade)`` (default: the present).
    Raises ``ValueError`` for a bad argument or an unknown assignment.
    """
    if lms not in LMS_FORMATS:
        raise ValueError(f"unknown LMS format {lms!r}; expected one of {', '.join(LMS_FORMATS)}")
    if lms_assignment_id is not None:
        if lms != "canvas":
            raise ValueError("an LMS assignment id is only used by the Canvas format")
        if not lms_assignment_id.isdigit():
            raise ValueError(
                f"the Canvas assignment id must be a number (the <id> of "
                f"/courses/<course>/assignments/<id>), got {lms_assignment_id!r}"
            )
    if lms_assignment_name is not None and lms != "canvas":
        raise ValueError("an LMS assignment name is only used by the Canvas format")
    if out_of is not None and not out_of > 0:
        raise ValueError(f"the maximum to rescale to must be positive, got {out_of}")
    layout = existing_course(course_dir, db_url)
    out = Path(out_csv)
    if out.is_dir():
        raise IsADirectoryError(f"output path is a directory, expected a .csv file: {out}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder does not exist: {out.parent}")

    outcomes = _load(layout, assignment_id)
    max_score = outcomes.max_score
    if out_of is not None and max_score <= 0:
        raise ValueError(f"{assignment_id} has no points, so its scores cannot be rescaled")
    scale = (out_of / max_score) if out_of is not None else 1.0
    points_possible = out_of if out_of is not None else max_score
    student_ids = sorted(set(outcomes.students) | set(outcomes.submissions))
    ids = _lms_ids(layout, lms, assignment_id, student_ids)

    title = lms_assignment_name if lms_assignment_name is not None else assignment_id
    if lms == "canvas":
        if lms_assignment_id is None and _TITLE_WITH_ID.match(title):
            raise ValueError(
                f"Canvas would read the column title {title!r} as 'name (assignment id)'; "
                "give --lms-assignment-id or another --lms-assignment-name"
            )
        header = f"{title} ({lms_assignment_id})" if lms_assignment_id else title
        rows = [[*CANVAS_COLUMNS, header], ["    Points Possible", "", "", "", "", ""]]
        rows[1][-1] = _fmt_score(points_possible)
    else:
        header = "Grade"
        rows = [list(MOODLE_COLUMNS)]
        stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        modified = stamp.isoformat(timespec="seconds")

    result = LmsExport(out, unmatched_path(out), lms, assignment_id, header)
    unmatched_rows = [list(UNMATCHED_COLUMNS)]
    manual = 0
    troubled: list[str] = []
    for sid in student_ids:
        first, last, email = outcomes.students.get(sid, ("", "", ""))
        sub = outcomes.submissions.get(sid)
        if sub is not None and not (first or last):
            first, last, email = sub.first_name, sub.last_name, sub.email
        score = _fmt_score((sub.score if sub is not None else 0.0) * scale)
        lms_id, why = ids[sid]
        if lms_id is None:
            result.unmatched.append(Unmatched(sid, why))
            status = sub.status if sub is not None else NOT_SUBMITTED
            unmatched_rows.append(
                [sid, first, last, email, score, _fmt_score(points_possible), status, why]
            )
            continue
        result.exported += 1
        manual += bool(sub is not None and sub.needs_manual_grade)
        if sub is not None and sub.status != "graded":
            troubled.append(f"{sid} ({sub.status})")
        name = ", ".join(p for p in (last, first) if p) or sid
        if lms == "canvas":
            rows.append([name, lms_id, "", "", "", score])
        else:
            full = " ".join(p for p in (first, last) if p) or sid
            rows.append(
                [f"Participant {lms_id}", full, score, _fmt_score(points_possible), modified]
            )

    if manual:
        result.notes.append(
            f"{manual} exported submission(s) still need manual grading: their scores are partial"
        )
    if troubled:
        result.notes.append(
            f"{len(troubled)} exported submission(s) were not graded to the end, their score is "
            f"what the gradebook holds: {', '.join(troubled)}"
        )
    if lms == "canvas" and lms_assignment_id is None:
        result.notes.append(
            f"no Canvas assignment id: Canvas puts the grades in the assignment titled exactly "
            f"{title!r}, or creates a new assignment of that name "
            f"({_fmt_score(points_possible)} points)"
        )
    if lms == "moodle":
        result.notes.append(
            f"set the Moodle assignment's maximum grade to {_fmt_score(points_possible)}: "
            "Moodle skips grades above it without an error; upload with the interface in English "
            "(Moodle finds the columns by their English titles)"
        )
    write_atomic(result.unmatched_path, _csv(unmatched_rows), newline="")
    write_atomic(out, _csv(rows), newline="")
    return result
