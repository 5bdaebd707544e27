"""Due date, extensions and late penalties, written into nbgrader's gradebook.

Where nbgrader keeps each of them, so that ``nbgrader export``, the formgrader and
``convcourse export`` read the same numbers:

- the due date: ``Assignment.duedate`` (naive UTC), from ``c.Deadlines.duedates`` when it names
  the assignment, else whatever the gradebook has (``nbgrader db assignment add --duedate``,
  the formgrader);
- an extension: ``SubmittedAssignment.extension``, from the extensions file; without an
  extensions file the gradebook's extensions are left as they are;
- the submission time: ``SubmittedAssignment.timestamp``, written when the submission is
  recorded (the ingest record's time: the LMS's, or a plain file's own time);
- the penalty: ``SubmittedNotebook.late_submission_penalty``, set as nbgrader's
  ``AssignLatePenalties`` sets it -- reset to None, then, when ``total_seconds_late > 0``, the
  plugin's answer for the notebook's current score, kept between 0 and that score.

``convcourse autograde`` checks everything first (:func:`plan_lateness`, before any grading) and
applies it to every submission of the assignment at the end of each run
(:func:`apply_lateness`), so a new due date, extension or policy, or a manual grade entered in
the formgrader, is reflected by running the same command again.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from convcourse.instructor.layout import SAFE_ID, CourseLayout
from convcourse.instructor.recording.deadlines import CourseDeadlines, DeadlineError
from convcourse.instructor.recording.late_policy import LatePolicy

__all__ = [
    "LateSubmission",
    "LatenessPlan",
    "LatenessSummary",
    "apply_lateness",
    "known_students",
    "late_by_words",
    "plan_lateness",
]

LATE_SHOWN = 10


@dataclass(frozen=True)
class LateSubmission:
    student_id: str
    seconds_late: float
    penalty: float  # points taken off the whole assignment
    extended: bool


@dataclass
class LatenessPlan:
    """What will be written for one assignment, checked before any grading."""

    assignment_id: str
    duedate: dt.datetime | None  # aware UTC
    from_config: bool
    extensions: dict[str, dt.timedelta] | None  # None: leave the gradebook's as they are
    policy: LatePolicy
    notes: list[str] = field(default_factory=list)  # rows of the extensions file with no effect


@dataclass
class LatenessSummary:
    assignment_id: str
    duedate: dt.datetime | None
    policy: str
    late: list[LateSubmission] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    late_by_lms_time_unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "duedate": self.duedate.isoformat() if self.duedate else None,
            "policy": self.policy,
            "late": {
                s.student_id: {"seconds_late": s.seconds_late, "penalty": s.penalty}
                for s in self.late
            },
            "extended": self.extended,
            "late_by_lms_time_unknown": self.late_by_lms_time_unknown,
            "notes": self.notes,
        }

    def text(self) -> list[str]:
        if self.duedate is None:
            return [
                f"  no due date for {self.assignment_id} (set c.Deadlines.duedates in "
                "nbgrader_config.py): no submission is late"
            ]
        due = self.duedate.strftime("%Y-%m-%d %H:%M:%S UTC")
        lines = [f"  due {due}; late penalty: {self.policy}"]
        if self.extended:
            lines.append(f"  extensions: {len(self.extended)} ({', '.join(self.extended)})")
        lines.extend(f"  note: {note}" for note in self.notes)
        if self.late:
            shown = [
                f"{s.student_id} ({late_by_words(s.seconds_late)}, -{s.penalty:g})"
                for s in self.late[:LATE_SHOWN]
            ]
            more = len(self.late) - len(shown)
            lines.append(
                f"  late: {len(self.late)}: {', '.join(shown)}"
                + (f", and {more} more (see convcourse export)" if more > 0 else "")
            )
        else:
            lines.append("  late: none")
        if self.late_by_lms_time_unknown:
            lines.append(
                "  marked late by the LMS, but the submission time is unknown (no penalty; give "
                "the LMS's times with convcourse ingest --times): "
                + ", ".join(self.late_by_lms_time_unknown)
            )
        return lines


def late_by_words(seconds: float) -> str:
    """``3660`` -> ``1 h 1 min``, ``86401`` -> ``1 d 0 h 0 min 1 s``: exact to the second (a
    second can be a started day), trailing zero units left out."""
    left = math.ceil(seconds)  # 0.2 s late is late: never shown as "0 s"
    if left <= 0:
        return "0 s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        n, left = divmod(left, size)
        if n or parts:
            parts.append((n, unit))
    while parts[-1][0] == 0:
        parts.pop()
    return " ".join(f"{n} {unit}" for n, unit in parts)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _seconds_late(sub) -> float:
    """nbgrader's ``SubmittedAssignment.total_seconds_late``, without its TypeError for an
    extension on an assignment that has no due date (then nothing is late)."""
    due = sub.assignment.duedate
    if sub.timestamp is None or due is None:
        return 0.0
    return max(0.0, (sub.timestamp - (due + (sub.extension or dt.timedelta()))).total_seconds())


def known_students(gb, layout: CourseLayout) -> set[str]:
    """Students of the gradebook, and everyone with a folder in ``submitted/``."""
    from nbgrader.api import Student

    known = {sid for (sid,) in gb.db.query(Student.id)}
    folder = layout.root / layout.submitted
    if folder.is_dir():
        known |= {p.name for p in folder.iterdir() if p.is_dir() and SAFE_ID.match(p.name)}
    return known


def plan_lateness(
    gb, layout: CourseLayout, assignment_id: str, deadlines: CourseDeadlines, policy: LatePolicy
) -> LatenessPlan:
    """Resolve the due date and the extensions of one assignment; DeadlineError when unusable.

    The assignment must be in the gradebook (``GradebookWriter.register`` first).
    """
    assignment = gb.find_assignment(assignment_id)
    from_config = assignment_id in deadlines.duedates
    due = deadlines.duedates[assignment_id] if from_config else _aware(assignment.duedate)
    deadlines.check_students(known_students(gb, layout))
    rows = deadlines.extensions_of(assignment_id)
    extensions, notes = None, []
    if rows and due is None:
        raise DeadlineError(
            f"{deadlines.extensions_path}: extensions for {assignment_id}, which has no due date "
            f"(set c.Deadlines.duedates[{assignment_id!r}] in nbgrader_config.py)"
        )
    if rows is not None:
        extensions, problems = {}, []
        for student, ext in sorted(rows.items()):
            try:
                delta = ext.delta(due)
            except DeadlineError as exc:
                problems.append(str(exc))
                continue
            if delta > dt.timedelta(0):
                extensions[student] = delta
            else:  # the whole class's due date was moved past it: the later one applies
                notes.append(
                    f"line {ext.line}: {student}'s new due date {ext.due.isoformat()} is not "
                    "after the assignment's: no extension"
                )
        if problems:
            raise DeadlineError(f"{deadlines.extensions_path}: " + "; ".join(problems))
    return LatenessPlan(assignment_id, due, from_config, extensions, policy, notes)


def apply_lateness(gb, plan: LatenessPlan, lms_times: dict | None = None) -> LatenessSummary:
    """Write the plan's due date and extensions, then every notebook's penalty; one commit each.

    ``lms_times`` (student -> ``SubmissionTime``, from ingest) only names, in the summary, the
    students the LMS marked late whose submission time is unknown.
    """
    assignment = gb.find_assignment(plan.assignment_id)
    if plan.from_config:
        assignment.duedate = _naive_utc(plan.duedate)
    submissions = sorted(assignment.submissions, key=lambda s: s.student.id)
    if plan.extensions is not None:
        for sub in submissions:
            sub.extension = plan.extensions.get(sub.student.id)
    gb.db.commit()
    # Scores are SQL expressions over the grades: read them fresh, after every write.
    gb.db.expire_all()
    summary = LatenessSummary(
        plan.assignment_id, _aware(assignment.duedate), plan.policy.description, notes=plan.notes
    )
    for sub in submissions:
        student = sub.student.id
        if sub.extension:
            summary.extended.append(student)
        seconds = _seconds_late(sub)
        total = 0.0
        for notebook in sub.notebooks:
            notebook.late_submission_penalty = None
            if seconds > 0:
                try:
                    penalty = plan.policy.penalty(student, notebook.score, seconds)
                except Exception as exc:  # noqa: BLE001 - a course's own plugin: say which
                    gb.db.rollback()
                    raise DeadlineError(
                        f"the late-penalty plugin ({plan.policy.description}) failed for "
                        f"{student}: {type(exc).__name__}: {exc}"
                    ) from None
                if penalty is not None:
                    notebook.late_submission_penalty = penalty
                    total += penalty
        if seconds > 0:
            summary.late.append(LateSubmission(student, seconds, total, bool(sub.extension)))
        when = (lms_times or {}).get(student)
        if sub.timestamp is None and when is not None and when.late:
            summary.late_by_lms_time_unknown.append(student)
    gb.db.commit()
    return summary
