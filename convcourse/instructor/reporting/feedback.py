"""Student feedback pages: one self-contained HTML file per student and assignment.

``generate_feedback`` writes ``<course_dir>/feedback/<student_id>/<assignment_id>/feedback.html``
for every student with a submission (a gradebook submission or a grader results file); students
who handed nothing in get no page.  For a submission handed in through nbgrader's exchange the
same page is also written where ``nbgrader release_feedback`` finds it (``feedback_release.py``).
A page shows the total and per-exercise scores (from the gradebook), the status of the
submission, for each failed exercise the likely misconception
(title and hint from ``convcourse.checks.messages``) with the checker's student-facing message,
and the manual scores and comments the instructor entered.

What a page never shows: notebook source of any kind, hidden tests, solutions or mark schemes.
All text is HTML-escaped, and every piece of text that comes from the grader or the gradebook
(messages, status details, comments) passes a leak guard first: any line that quotes a line of
a solution, hidden test or mark scheme region of the instructor notebooks (``solutions/`` or
``source/``) or of the hidden tests stored in the gradebook, and that is not also visible in the
student release (``notebooks/`` or ``release/``), is replaced by a notice.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import Assignment, Notebook, SourceCell

from convcourse.instructor.files import write_atomic
from convcourse.instructor.layout import CourseLayout, existing_course
from convcourse.instructor.reporting.feedback_release import write_exchange_copies
from convcourse.instructor.reporting.outcomes import (
    AssignmentOutcomes,
    CellOutcome,
    SubmissionOutcome,
    close_gradebook,
    load_outcomes,
    open_gradebook,
)
from convcourse.instructor.reporting.page_words import WORDS, duration, words
from convcourse.instructor.reporting.pages import (
    STATUS_TEXT,
    check_folder_name,
    html_page,
    misconception_details,
)
from convcourse.instructor.reporting.pages import escape as _e

__all__ = [
    "FEEDBACK_NAME",
    "WITHHELD",
    "LeakGuard",
    "leak_guard",
    "protected_lines",
    "render_feedback",
    "generate_feedback",
]

FEEDBACK_NAME = "feedback.html"
# nbgrader's folders for instructor sources and student releases; this course uses the first of
# each pair (see nbgrader_config.py), a stock nbgrader course the second.
SOURCE_DIRS = ("solutions", "source")
RELEASE_DIRS = ("notebooks", "release")
_MARKERS = (
    ("BEGIN SOLUTION", "END SOLUTION"),
    ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    ("BEGIN MARK SCHEME", "END MARK SCHEME"),
)
# A quoted marker line tells where hidden material sits (tracebacks show neighbouring lines).
_MARKER_WORDS = [word for pair in _MARKERS for word in pair]
# Lines shorter than this are too common to tell a quotation from a coincidence ("pass").
_MIN_SECRET_LEN = 8
WITHHELD = "[line withheld: it quoted instructor-only material]"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

# --------------------------------------------------------------------------------------------
# Leak guard


def protected_lines(source: str, whole_cell: bool = False) -> list[str]:
    """Lines inside solution / hidden-test / mark-scheme regions of one cell's source.

    ``whole_cell``: the cell is a solution cell; without markers nbgrader replaces all of it.
    """
    lines = source.splitlines()
    found: list[str] = []
    marked = False
    for begin, end in _MARKERS:
        inside = False
        for line in lines:
            if begin in line:
                inside, marked = True, True
            elif end in line:
                inside = False
            elif inside:
                found.append(line)
    if whole_cell and not marked:
        found.extend(lines)
    return found


def _notebook_cells(path: Path) -> list[dict]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    cells = nb.get("cells") if isinstance(nb, dict) else None
    return [c for c in cells or [] if isinstance(c, dict)]


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


class LeakGuard:
    """Removes lines that quote instructor-only text from student-facing strings."""

    def __init__(self, secret_lines: Iterable[str], public_lines: Iterable[str] = ()):
        public = {line.strip() for line in public_lines}
        secrets = {line.strip() for line in secret_lines}
        self.secrets = sorted(
            (
                s
                for s in secrets
                if len(s) >= _MIN_SECRET_LEN and s not in public and any(ch.isalnum() for ch in s)
            ),
            key=len,
            reverse=True,
        )

    def clean(self, text: str) -> str:
        """``text`` without terminal colour codes, and without any line that quotes a secret
        (colour codes are removed first: IPython colours tracebacks token by token)."""
        text = _ANSI.sub("", text or "")
        needles = self.secrets + _MARKER_WORDS
        if not text or not any(s in text for s in needles):
            return text
        return "\n".join(
            WITHHELD if any(s in line for s in needles) else line for line in text.splitlines()
        )


def leak_guard(layout: CourseLayout, assignment_id: str) -> LeakGuard:
    """A guard for one assignment, from its instructor notebooks and the gradebook's copies."""
    secret: list[str] = []
    public: list[str] = []
    course_dir = layout.root
    for folder in dict.fromkeys((layout.source, *SOURCE_DIRS)):
        for path in sorted((course_dir / folder / assignment_id).glob("*.ipynb")):
            for cell in _notebook_cells(path):
                meta = cell.get("metadata", {}).get("nbgrader", {})
                is_solution = bool(meta.get("solution")) if isinstance(meta, dict) else False
                secret.extend(protected_lines(_cell_source(cell), whole_cell=is_solution))
    for folder in dict.fromkeys((layout.release, *RELEASE_DIRS)):
        for path in sorted((course_dir / folder / assignment_id).glob("*.ipynb")):
            for cell in _notebook_cells(path):
                public.extend(_cell_source(cell).splitlines())
    # nbgrader saves the locked test cells, hidden tests included, in the gradebook.
    gb = open_gradebook(layout.db_url)
    try:
        rows = (
            gb.db.query(SourceCell.source)
            .join(Notebook, SourceCell.notebook_id == Notebook.id)
            .join(Assignment, Notebook.assignment_id == Assignment.id)
            .filter(Assignment.name == assignment_id)
        )
        for (source,) in rows:
            secret.extend(protected_lines(source or ""))
    finally:
        close_gradebook(gb)
    return LeakGuard(secret, public)


# --------------------------------------------------------------------------------------------
# Rendering


def _num(value: float) -> str:
    return f"{value:g}"


def _points(value: float, w: dict) -> str:
    return w["point" if value == 1 else "points"].format(n=_num(value))


def _lateness_rows(sub: SubmissionOutcome, w: dict) -> list[tuple[str, str]]:
    """When it was handed in (and how we know), when it was due, and how late it was."""
    from convcourse.instructor.recording.lateness import late_by_words

    rows = []
    if sub.timestamp is not None:
        when = sub.timestamp.strftime("%Y-%m-%d %H:%M UTC")
        if sub.timestamp_source == "file":
            when += w["submitted_file_time"]
        rows.append((w["submitted"], when))
    if sub.duedate is not None:
        due = sub.duedate.strftime("%Y-%m-%d %H:%M UTC")
        rows.append((w["due"], due + (w["with_extension"] if sub.extension else "")))
    if sub.seconds_late is not None:
        late = sub.seconds_late > 0
        span = duration(late_by_words(sub.seconds_late), sub.language)
        text = w["late_by"].format(duration=span) if late else w["on_time"]
        if late and not sub.late_penalty:
            text += w["no_penalty"]
        rows.append((w["lateness"], text))
    return rows


def _status_line(status: str, detail: str, guard: LeakGuard, w: dict) -> str:
    text = w.get(f"status_{status}") or STATUS_TEXT.get(status, status or "unknown")
    detail = guard.clean(detail)
    return _e(text) + (f" ({_e(detail)})" if detail and status != "graded" else "")


def _result_words(cell: CellOutcome, w: dict) -> tuple[str, str]:
    """(css class, words) for a cell's result; the words carry the meaning, not the colour."""
    if cell.manual:
        if cell.manual_score is not None:
            return "other", w["by_instructor"]
        if cell.needs_manual_grade:
            return "other", w["waiting"]
        return "other", w["status_graded"]
    outcome = cell.outcome()
    overridden = w["overridden"] if cell.manual_score is not None else ""
    if outcome is True:
        return "pass", w["passed"] + overridden
    if outcome is False:
        if 0 < cell.score < cell.max_score:
            return "fail", w["partly"] + overridden
        return "fail", w["not_passed"] + overridden
    return "other", w["not_run"] + overridden


def _cell_label(cell: CellOutcome, w: dict) -> str:
    if cell.manual:
        return w["written_answer"].format(exercise=cell.exercise)
    return cell.exercise


def render_feedback(outcomes: AssignmentOutcomes, sub: SubmissionOutcome, guard: LeakGuard) -> str:
    """The feedback page of one submission, as an HTML string, in the language of the edition
    it was handed in from (the misconceptions' titles and hints too)."""
    from convcourse.checks.messages import using_language

    lang = sub.language if sub.language in WORDS else "en"
    with using_language(lang):
        return _render_feedback(outcomes, sub, guard, words(lang))


def _render_feedback(outcomes, sub, guard, w: dict) -> str:
    aid = outcomes.assignment_id
    name = " ".join(p for p in (sub.first_name, sub.last_name) if p)
    who = f"{sub.student_id} ({name})" if name else sub.student_id
    max_score = outcomes.max_score or (sub.results_max_score or 0.0)
    parts = [
        f"<h1>{_e(w['heading'].format(aid=aid))}</h1>\n",
        f"<p>{_e(w['student'].format(who=who))}</p>\n",
    ]

    percent = f" ({100 * sub.score / max_score:.0f}%)" if max_score else ""
    summary = [
        (
            w["score"],
            w["score_value"].format(score=_num(sub.score), max=_num(max_score), percent=percent),
        ),
        (w["status"], None),
    ]
    if sub.late_penalty:
        summary.append(
            (
                w["late_penalty"],
                w["late_penalty_value"].format(
                    points=_points(sub.late_penalty, w), raw=_num(sub.raw_score)
                ),
            )
        )
    summary.extend(_lateness_rows(sub, w))
    if sub.graded_at:
        summary.append((w["graded"], sub.graded_at))
    rows = []
    for label, value in summary:
        cell = _status_line(sub.status, sub.status_detail, guard, w) if value is None else _e(value)
        rows.append(f'<tr><th scope="row">{_e(label)}</th><td>{cell}</td></tr>')
    for nb_name, (nb_status, nb_detail) in sub.notebook_status.items():
        if nb_status and (nb_status, nb_detail) != (sub.status, sub.status_detail):
            rows.append(
                f'<tr><th scope="row">{_e(w["notebook"].format(name=nb_name))}</th>'
                f"<td>{_status_line(nb_status, nb_detail, guard, w)}</td></tr>"
            )
    parts.append(
        f"<table>\n<caption>{_e(w['summary'])}</caption>\n" + "\n".join(rows) + "\n</table>\n"
    )

    several = len({c.notebook for c in sub.cells}) > 1
    if sub.cells:
        head = f"<th scope='col'>{_e(w['col_exercise'])}</th>"
        head += f"<th scope='col'>{_e(w['col_notebook'])}</th>" if several else ""
        head += (
            f"<th scope='col'>{_e(w['col_points'])}</th><th scope='col'>{_e(w['col_out_of'])}"
            f"</th><th scope='col'>{_e(w['col_result'])}</th>"
        )
        body = []
        for c in sub.cells:
            css, text = _result_words(c, w)
            nb = f"<td>{_e(c.notebook)}</td>" if several else ""
            body.append(
                f"<tr><td>{_e(_cell_label(c, w))}</td>{nb}<td class='num'>{_num(c.score)}</td>"
                f"<td class='num'>{_num(c.max_score)}</td>"
                f"<td class='{css}'>{_e(text)}</td></tr>"
            )
        parts.append(
            f"<h2>{_e(w['points_heading'])}</h2>\n<table>\n<caption>"
            f"{_e(w['points_caption'].format(aid=aid))}</caption>\n<thead><tr>{head}</tr>"
            "</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
        )
    elif sub.status == "graded":
        parts.append(f"<p>{_e(w['no_cells'])}</p>\n")

    failed = [c for c in sub.cells if not c.manual and c.outcome() is False]
    parts.append(f"<h2>{_e(w['look_again'])}</h2>\n")
    if not failed:
        if sub.status == "graded" and sub.cells:
            parts.append(f"<p>{_e(w['all_passed'])}</p>\n")
        else:
            parts.append(f"<p class='note'>{_e(w['no_results'])}</p>\n")
    for c in failed:
        parts.append(f"<h3>{_e(_cell_label(c, w))}</h3>\n<dl>\n")
        if c.misconception:
            title, hint, where = misconception_details(c.misconception)
            parts.append(f"<dt>{_e(w['misconception'])}</dt><dd>{_e(guard.clean(title))}</dd>\n")
            if hint:
                parts.append(f"<dt>{_e(w['hint'])}</dt><dd>{_e(guard.clean(hint))}</dd>\n")
            if where:
                parts.append(f"<dt>{_e(w['read_again'])}</dt><dd>{_e(where)}</dd>\n")
        message = guard.clean(c.message).strip()
        if message:
            parts.append(f"<dt>{_e(w['found'])}</dt><dd><pre>{_e(message)}</pre></dd>\n")
        if not c.misconception and not message:
            parts.append(f"<dt>{_e(w['found'])}</dt><dd>{_e(w['tests_failed'])}</dd>\n")
        parts.append("</dl>\n")

    if sub.comments:
        rows = [
            f"<tr><td>{_e(f'{nb}: {cell}' if several else cell)}</td>"
            f"<td><pre>{_e(guard.clean(text))}</pre></td></tr>"
            for nb, cell, text in sub.comments
        ]
        parts.append(
            f"<h2>{_e(w['comments'])}</h2>\n<table>\n<caption>{_e(w['comments_caption'])}"
            f"</caption>\n<thead><tr><th scope='col'>{_e(w['col_cell'])}</th>"
            f"<th scope='col'>{_e(w['col_comment'])}</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows)
            + "\n</tbody>\n</table>\n"
        )
    title = w["title"].format(aid=aid, student=sub.student_id)
    return html_page(title, "".join(parts), lang=w["html_lang"])


def generate_feedback(
    course_dir: str | os.PathLike,
    assignment_id: str,
    students: Iterable[str] | None = None,
    db_url: str | None = None,
) -> list[Path]:
    """Write the feedback page of every submission (or of ``students``); return their paths.

    Students without a submission get no page (they are skipped, also when named in
    ``students``); a student id unknown to both the gradebook and the results is a ValueError.
    """
    layout = existing_course(course_dir, db_url)
    check_folder_name(assignment_id, "assignment id")
    outcomes = load_outcomes(layout.root, assignment_id, layout.db_url)
    if students is None:
        wanted = list(outcomes.submissions)
    else:
        if isinstance(students, str):
            students = [students]
        wanted = sorted(dict.fromkeys(students))
        unknown = [
            s for s in wanted if s not in outcomes.students and s not in outcomes.submissions
        ]
        if unknown:
            raise ValueError(
                f"unknown student(s) for {assignment_id}: {', '.join(map(repr, unknown))} "
                "(not in the gradebook and no results file)"
            )
    guard = leak_guard(layout, assignment_id)
    written = []
    for student_id in wanted:
        sub = outcomes.submissions.get(student_id)
        if sub is None:
            continue
        check_folder_name(student_id, "student id")
        path = layout.root / layout.feedback / student_id / assignment_id / FEEDBACK_NAME
        page = render_feedback(outcomes, sub, guard)
        write_atomic(path, page)
        # The same page where nbgrader's release_feedback looks, for exchange submissions.
        write_exchange_copies(layout, assignment_id, student_id, page, sub.timestamp)
        written.append(path)
    return written
