"""The instructor's report on one assignment: a single self-contained HTML file.

``build_report`` writes ``<course_dir>/reports/<assignment_id>.html`` (or ``out``) with summary
numbers, per-exercise pass rates (bar chart and table), a score histogram (chart and table), the
most frequent misconceptions, the slowest submissions, the late submissions (due date, lateness,
penalty, where each time came from), the submissions with problems and, when
something was submitted, the most similar pairs (``similarity_course``).  Charts are PNG images
embedded as base64 (matplotlib's Agg canvas, Okabe-Ito colours, titles, axis labels and alt
text); every chart has a table with the same numbers.

Definitions used in the report:
- a *submission* is a gradebook submission or a grader results file of the assignment;
- a submission is *graded* when its status is ``graded`` (the grader ran it to the end, or
  nbgrader alone scored it when there is no results file); the others are listed as problems;
- pass rates and score statistics are over graded submissions; an exercise *passes* when the
  grader's verdict says so (full autograded points when there is no verdict);
- misconception counts are over all submissions, one count per failed exercise.
"""

from __future__ import annotations

import base64
import io
import os
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from convcourse.instructor.files import write_atomic
from convcourse.instructor.layout import existing_course
from convcourse.instructor.reporting.outcomes import (
    UNREADABLE,
    AssignmentOutcomes,
    load_outcomes,
)
from convcourse.instructor.reporting.pages import (
    STATUS_TEXT,
    check_folder_name,
    html_page,
    misconception_info,
)
from convcourse.instructor.reporting.pages import escape as _e

__all__ = ["ExerciseStats", "exercise_stats", "build_report", "SLOWEST_SHOWN"]

SLOWEST_SHOWN = 10
HISTOGRAM_BINS = 10
# Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
BLUE, ORANGE = "#0072B2", "#E69F00"
# What each status means, for the instructor (the feedback pages word them for students).
REPORT_STATUS = {
    **STATUS_TEXT,
    UNREADABLE: "the results file cannot be read (see detail); grade this submission again",
}


class ExerciseStats:
    """Pass counts of one autograded exercise over the graded submissions."""

    def __init__(self, notebook: str, grade_id: str, exercise: str, max_score: float):
        self.notebook, self.grade_id, self.exercise = notebook, grade_id, exercise
        self.max_score = max_score
        self.passed = 0
        self.graded = 0
        self.misconceptions: Counter[str] = Counter()

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def exercise_stats(outcomes: AssignmentOutcomes) -> list[ExerciseStats]:
    """Pass counts per autograded cell, in the assignment's cell order."""
    stats = {
        (nb, gid): ExerciseStats(nb, gid, ex, mx)
        for nb, gid, ex, manual, mx in outcomes.cells
        if not manual
    }
    for sub in outcomes.graded_submissions():
        for key in stats:
            stats[key].graded += 1
        for c in sub.cells:
            entry = stats.get((c.notebook, c.grade_id))
            if entry is None:
                continue
            if c.outcome() is True:
                entry.passed += 1
            elif c.misconception:
                entry.misconceptions[c.misconception] += 1
    return list(stats.values())


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _figure_html(fig, alt: str, caption: str) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure>\n<img src="data:image/png;base64,{data}" alt="{_e(alt)}">\n'
        f"<figcaption>{_e(caption)}</figcaption>\n</figure>\n"
    )


def _table(caption: str, head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """An HTML table; cells are escaped here, columns in ``numeric`` are right-aligned."""
    th = "".join(f"<th scope='col'>{_e(h)}</th>" for h in head)
    body = "\n".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{_e(v)}</td>" if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table>\n<caption>{_e(caption)}</caption>\n<thead><tr>{th}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n"
    )


def _pass_rate_chart(stats: list[ExerciseStats], n_graded: int) -> str:
    from matplotlib.figure import Figure

    labels = [s.exercise for s in stats]
    rates = [100 * s.rate for s in stats]
    fig = Figure(figsize=(8, 0.45 * len(stats) + 1.6))
    ax = fig.add_subplot()
    y = list(range(len(stats)))
    ax.barh(y, rates, color=BLUE, edgecolor="#000000", linewidth=0.6)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()  # first exercise on top, as in the notebook
    ax.set_xlim(0, 100)
    ax.set_xlabel("graded submissions that pass (%)")
    ax.set_ylabel("exercise")
    ax.set_title(f"Pass rate per exercise ({n_graded} graded submissions)")
    for yi, rate in zip(y, rates, strict=True):
        inside = rate > 85
        ax.text(
            rate - 1 if inside else rate + 1,
            yi,
            f"{rate:.0f}%",
            va="center",
            ha="right" if inside else "left",
            color="#ffffff" if inside else "#000000",
        )
    ax.grid(axis="x", color="#cccccc", linewidth=0.6)
    ax.set_axisbelow(True)
    alt = "Horizontal bar chart of the pass rate per exercise: " + "; ".join(
        f"{s.exercise} {_pct(s.rate)} ({s.passed} of {s.graded})" for s in stats
    )
    return _figure_html(fig, alt, "Share of graded submissions passing each exercise.")


def _histogram(scores: list[float], max_score: float) -> tuple[str, list[list[str]]]:
    from matplotlib.figure import Figure

    top = max_score if max_score > 0 else max(scores + [1.0])
    width = top / HISTOGRAM_BINS
    edges = [i * width for i in range(HISTOGRAM_BINS + 1)]
    counts = [0] * HISTOGRAM_BINS
    for s in scores:
        index = min(int(s / width + 1e-9), HISTOGRAM_BINS - 1) if width else 0
        counts[max(index, 0)] += 1
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    ax.bar(edges[:-1], counts, width=width, align="edge", color=ORANGE, edgecolor="#000000")
    ax.set_xlim(0, top)
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("number of submissions")
    ax.set_title(f"Score distribution ({len(scores)} graded submissions)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    rows = []
    for i, count in enumerate(counts):
        closing = "]" if i == HISTOGRAM_BINS - 1 else ")"
        rows.append([f"[{edges[i]:g}, {edges[i + 1]:g}{closing}", str(count)])
    alt = "Histogram of scores: " + "; ".join(f"{r[0]}: {r[1]}" for r in rows)
    return _figure_html(fig, alt, "Scores of the graded submissions."), rows


def _nothing_graded(outcomes: AssignmentOutcomes, problem_html: str) -> str:
    n = len(outcomes.submissions)
    return (
        f"<h1>Report on {_e(outcomes.assignment_id)}</h1>\n"
        "<h2>Nothing graded yet</h2>\n"
        f"<p class='note'>No submission of {_e(outcomes.assignment_id)} has been graded yet "
        f"({n} submission{'s' if n != 1 else ''} found, "
        f"{len(outcomes.students)} student{'s' if len(outcomes.students) != 1 else ''} in the "
        "gradebook). Run the autograder, then build this report again.</p>\n" + problem_html
    )


def _problems(outcomes: AssignmentOutcomes) -> str:
    bad = [s for s in outcomes.submissions.values() if not s.graded]
    if not bad:
        return "<h2>Submissions with problems</h2>\n<p>None: every submission was graded.</p>\n"
    counts = Counter(s.status for s in bad)
    summary = ", ".join(f"{status or 'no status'}: {n}" for status, n in sorted(counts.items()))
    rows = [
        [s.student_id, s.status or "no status", REPORT_STATUS.get(s.status, ""), s.status_detail]
        for s in sorted(bad, key=lambda s: (s.status, s.student_id))
    ]
    return (
        f"<h2>Submissions with problems</h2>\n<p>{len(bad)} submission(s) not graded "
        f"({_e(summary)}).</p>\n"
        + _table(
            "Submissions whose status is not graded",
            ["student", "status", "meaning", "detail"],
            rows,
            set(),
        )
    )


def _report_body(outcomes: AssignmentOutcomes) -> str:
    aid = outcomes.assignment_id
    graded = outcomes.graded_submissions()
    problems = _problems(outcomes)
    if not graded:
        return _nothing_graded(outcomes, problems)

    scores = [s.score for s in graded]
    max_score = outcomes.max_score or max(s.results_max_score or 0.0 for s in graded)
    mean, median = statistics.fmean(scores), statistics.median(scores)
    rel = (lambda x: f" ({100 * x / max_score:.0f}%)") if max_score else (lambda x: "")
    pending = sum(1 for s in outcomes.submissions.values() if s.needs_manual_grade)
    summary_rows = [
        ["students in the gradebook", str(len(outcomes.students))],
        ["submissions", str(len(outcomes.submissions))],
        ["graded submissions", str(len(graded))],
        ["submissions with problems", str(len(outcomes.submissions) - len(graded))],
        ["submissions waiting for manual grading", str(pending)],
        ["maximum score", f"{max_score:g}"],
        ["mean score (graded)", f"{mean:.2f}{rel(mean)}"],
        ["median score (graded)", f"{median:g}{rel(median)}"],
    ]
    parts = [
        f"<h1>Report on {_e(aid)}</h1>\n",
        "<h2>Summary</h2>\n",
        _table(f"Summary of {aid}", ["quantity", "value"], summary_rows, {1}),
    ]

    stats = exercise_stats(outcomes)
    parts.append("<h2>Pass rate per exercise</h2>\n")
    if stats:
        parts.append(_pass_rate_chart(stats, len(graded)))
        rows = []
        for s in stats:
            top = s.misconceptions.most_common(1)
            common = f"{misconception_info(top[0][0])[0]} ({top[0][1]})" if top else ""
            rows.append(
                [s.exercise, s.grade_id, str(s.passed), str(s.graded), _pct(s.rate), common]
            )
        parts.append(
            _table(
                "Pass rate per autograded exercise (graded submissions)",
                [
                    "exercise",
                    "cell",
                    "passed",
                    "graded",
                    "pass rate",
                    "most frequent misconception",
                ],
                rows,
                {2, 3, 4},
            )
        )
    else:
        parts.append("<p>This assignment has no autograded exercises.</p>\n")

    parts.append("<h2>Score distribution</h2>\n")
    chart, hist_rows = _histogram(scores, max_score)
    parts.append(chart)
    parts.append(
        _table(
            "Number of graded submissions per score range", ["score", "submissions"], hist_rows, {1}
        )
    )

    parts.append("<h2>Most frequent misconceptions</h2>\n")
    per_key: Counter[str] = Counter()
    where: dict[str, Counter[str]] = defaultdict(Counter)
    for sub in outcomes.submissions.values():
        for c in sub.cells:
            if c.misconception and c.outcome() is False:
                per_key[c.misconception] += 1
                where[c.misconception][c.exercise] += 1
    if per_key:
        rows = []
        for key, count in sorted(per_key.items(), key=lambda kv: (-kv[1], kv[0])):
            exercises = ", ".join(
                f"{ex} ({n})"
                for ex, n in sorted(where[key].items(), key=lambda kv: (-kv[1], kv[0]))
            )
            rows.append([misconception_info(key)[0], key, str(count), exercises])
        parts.append(
            _table(
                "Misconceptions behind failed exercises, most frequent first",
                ["misconception", "key", "failed exercises", "exercises (count)"],
                rows,
                {2},
            )
        )
    else:
        parts.append("<p>No misconception was recorded.</p>\n")

    parts.append("<h2>Slowest submissions</h2>\n")
    timed = [s for s in outcomes.submissions.values() if s.duration_s is not None]
    if timed:
        slow = sorted(timed, key=lambda s: (-s.duration_s, s.student_id))[:SLOWEST_SHOWN]
        rows = [[s.student_id, f"{s.duration_s:.2f}", s.status] for s in slow]
        durations = [s.duration_s for s in timed]
        parts.append(
            f"<p>Grading time over {len(timed)} submissions: median "
            f"{statistics.median(durations):.2f} s, longest {max(durations):.2f} s.</p>\n"
        )
        parts.append(
            _table(
                f"The {len(slow)} slowest submissions to grade",
                ["student", "grading time (s)", "status"],
                rows,
                {1},
            )
        )
    else:
        parts.append("<p>No grading times were recorded (no results files).</p>\n")

    parts.append(_lateness(outcomes))
    parts.append(problems)
    return "".join(parts)


def _lateness(outcomes: AssignmentOutcomes) -> str:
    """Due date, late submissions with their penalty, and the times the grader lacks."""
    from convcourse.instructor.recording.lateness import late_by_words

    subs = list(outcomes.submissions.values())
    head = "<h2>Late submissions</h2>\n"
    if outcomes.duedate is None:
        return head + (
            "<p>No due date in the gradebook: no submission counts as late (set "
            "<code>c.Deadlines.duedates</code> in nbgrader_config.py, then run the "
            "autograder again).</p>\n"
        )
    late = sorted(
        (s for s in subs if s.seconds_late), key=lambda s: (-(s.seconds_late or 0), s.student_id)
    )
    extended = sum(1 for s in subs if s.extension)
    unknown = sorted(s.student_id for s in subs if s.in_gradebook and s.timestamp is None)
    penalty = sum(s.late_penalty for s in late)
    due = outcomes.duedate.strftime("%Y-%m-%d %H:%M:%S UTC")
    text = (
        f"<p>Due {_e(due)}. {len(late)} late submission(s), {penalty:g} point(s) taken off in "
        f"all; {extended} student(s) with an extension.</p>\n"
    )
    if late:
        rows = [
            [
                s.student_id,
                s.timestamp.strftime("%Y-%m-%d %H:%M:%S") if s.timestamp else "",
                s.duedate.strftime("%Y-%m-%d %H:%M:%S") if s.duedate else "",
                late_by_words(s.seconds_late or 0),
                f"{s.late_penalty:g}",
                f"{s.raw_score:g} \u2192 {s.score:g}",
                {"lms": "the LMS", "file": "the file's own time"}.get(s.timestamp_source, ""),
            ]
            for s in late
        ]
        text += _table(
            "Late submissions, most late first (times in UTC; due with any extension)",
            ["student", "submitted", "due", "late by", "penalty", "score", "time from"],
            rows,
            {4},
        )
    if unknown:
        text += (
            f"<p class='note'>No submission time for {len(unknown)} submission(s), so they "
            f"cannot be late: {_e(', '.join(unknown))} (give the LMS's times with "
            "<code>convcourse ingest --times</code>).</p>\n"
        )
    return head + text


def _similarity(layout, assignment_id: str, folder: Path) -> str:
    """The similar submissions (``similarity_course``); nothing when nothing was submitted."""
    from convcourse.instructor.reporting.similarity_course import similarity_section

    return similarity_section(layout, assignment_id, folder)


def build_report(
    course_dir: str | os.PathLike,
    assignment_id: str,
    db_url: str | None = None,
    out: str | os.PathLike | None = None,
) -> Path:
    """Write the report on one assignment and return its path."""
    layout = existing_course(course_dir, db_url)
    check_folder_name(assignment_id, "assignment id")  # the default file name is built from it
    outcomes = load_outcomes(layout.root, assignment_id, layout.db_url)
    path = Path(out) if out is not None else layout.root / "reports" / f"{assignment_id}.html"
    if path.is_dir():
        raise IsADirectoryError(f"report path is a directory, expected an .html file: {path}")
    body = _report_body(outcomes) + _similarity(layout, assignment_id, path.parent)
    write_atomic(path, html_page(f"Report on {assignment_id}", body))
    return path
