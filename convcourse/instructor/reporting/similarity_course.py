"""``convcourse similarity``: a course's submissions compared (see :mod:`.similarity`), as an
HTML page with the matching lines side by side, a short text table and JSON.

The answer cells are the solution cells of the instructor's notebooks (``load_spec``); a
student's copy of one is found by its nbgrader grade id (the last copy, as nbgrader keeps), or,
when the student's notebook lost that cell's metadata, by the first line of its starter code
(``def corr2d(X, K):``) among the cells without a grade id -- never by position, which a student
shifts by adding a cell.  A notebook that cannot be read is listed, never fatal.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.pages import escape as _e
from convcourse.instructor.reporting.pages import html_page
from convcourse.instructor.reporting.similarity import (
    COMMON_MIN,
    COMMON_SHARE,
    DEFAULT_THRESHOLD,
    AnswerCell,
    K,
    Result,
    W,
    find_similar,
)

__all__ = [
    "answer_cells",
    "collect_answers",
    "page_path",
    "result_json",
    "run_similarity",
    "similarity_page",
    "similarity_section",
    "text_table",
]


def page_path(layout: CourseLayout, assignment: str) -> Path:
    """Where the page goes by default: beside the class report (``reports/``)."""
    return layout.root / "reports" / f"{assignment}-similarity.html"


def answer_cells(layout: CourseLayout, assignment: str) -> list[AnswerCell]:
    """The solution cells of the assignment's notebooks, with starter code and solution."""
    from convcourse.instructor.authoring.spec import load_spec

    spec = load_spec(layout, assignment)
    cells = []
    for name, notebook in spec.notebooks.items():
        path = layout.source_dir(assignment) / f"{name}.ipynb"
        raw = json.loads(path.read_text(encoding="utf-8"))
        solutions = {}
        for cell in raw.get("cells", []):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            source = cell.get("source", "")
            solutions[gid] = "".join(source) if isinstance(source, list) else source
        for cell in notebook.cells:
            if cell.role == "solution" and cell.cell_type == "code":
                solution = solutions.get(cell.grade_id, "")
                cells.append(AnswerCell(name, cell.grade_id, cell.student_source, solution))
    return cells


def collect_answers(layout: CourseLayout, assignment: str, cells: list[AnswerCell]):
    """(student -> (notebook, grade id) -> source, student -> why not compared)."""
    from convcourse.instructor.intake.notebook_io import load_submission

    notebooks = sorted({c.notebook for c in cells})
    answers: dict[str, dict[tuple[str, str], str]] = {}
    unreadable: dict[str, str] = {}
    for student in layout.students(assignment):
        folder = layout.submission_dir(student, assignment)
        found: dict[tuple[str, str], str] = {}
        problems = []
        for name in notebooks:
            path = folder / f"{name}.ipynb"
            if not path.is_file():
                problems.append(f"{name}.ipynb: not submitted")
                continue
            loaded = load_submission(path)
            if loaded.nb is None:
                problems.append(f"{name}.ipynb: {loaded.detail}")
                continue
            found.update(_answers_in(loaded.nb, name, [c for c in cells if c.notebook == name]))
        if problems:
            unreadable[student] = "; ".join(problems)
        if found:
            answers[student] = found
    return answers, unreadable


def _answers_in(nb: dict, name: str, cells: list[AnswerCell]) -> dict[tuple[str, str], str]:
    by_id: dict[str, str] = {}
    untracked: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell["metadata"].get("nbgrader")
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid:
            by_id[gid] = cell["source"]  # the last copy counts, as in nbgrader
        else:
            untracked.append(cell["source"])
    out = {}
    for cell in cells:
        source = by_id.get(cell.grade_id)
        if source is None:
            first = _first_line(cell.starter)
            source = next((s for s in untracked if first and _first_line(s) == first), None)
        if source is not None:
            out[(name, cell.grade_id)] = source
    return out


def _first_line(source: str) -> str:
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def run_similarity(layout: CourseLayout, assignment: str, threshold: float = DEFAULT_THRESHOLD):
    """Compare every submission of ``assignment``; the result carries the time it took."""
    start = time.perf_counter()
    cells = answer_cells(layout, assignment)
    answers, unreadable = collect_answers(layout, assignment, cells)
    result = find_similar(answers, cells, threshold)
    result.unreadable = unreadable
    result.seconds = time.perf_counter() - start
    return result


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _cells_text(pair) -> str:
    return ", ".join(f"{gid} {_pct(score)}" for (_, gid), score in sorted(pair.cells.items()))


def text_table(result: Result, assignment: str) -> str:
    lines = [
        f"similarity of {assignment}: {result.compared} students compared, {len(result.pairs)} "
        f"pair(s) at or above {_pct(result.threshold)} ({result.seconds:.1f} s)"
    ]
    if result.pairs:
        lines.append(f"{'score':>5}  {'shared':>6}  {'student':20} {'student':20} cells")
        for p in result.pairs:
            lines.append(f"{_pct(p.score):>5}  {p.shared:>6}  {p.a:20} {p.b:20} {_cells_text(p)}")
    for student, why in sorted(result.unreadable.items()):
        lines.append(f"not compared: {student}: {why}")
    for student, gids in sorted(result.solution_like.items()):
        lines.append(f"close to the instructor's solution: {student} ({', '.join(gids)})")
    return "\n".join(lines)


def result_json(result: Result, assignment: str) -> dict:
    return {
        "assignment": assignment,
        "threshold": result.threshold,
        "compared": result.compared,
        "seconds": round(result.seconds, 3),
        "pairs": [
            {
                "a": p.a,
                "b": p.b,
                "score": p.score,
                "shared": p.shared,
                "cells": {f"{nb}/{gid}": s for (nb, gid), s in sorted(p.cells.items())},
            }
            for p in result.pairs
        ],
        "not_compared": dict(sorted(result.unreadable.items())),
        "solution_like": dict(sorted(result.solution_like.items())),
    }


def _side(source: str, marked: list[int]) -> str:
    rows = []
    marks = set(marked)
    for number, line in enumerate(source.splitlines(), 1):
        text = f"{number:>3} {_e(line)}"
        rows.append(f"<mark>&#9654;{text}</mark>" if number in marks else f" {text}")
    return "<pre>" + "\n".join(rows) + "</pre>"


def similarity_page(result: Result, assignment: str) -> str:
    """The whole page: the pairs, then each pair's matching lines side by side."""
    parts = [
        f"<h1>Similar submissions of {_e(assignment)}</h1>\n",
        f"<p>{result.compared} students compared; {len(result.pairs)} pair(s) whose score is "
        f"at least {_pct(result.threshold)}. The score is the share of the smaller answer's "
        "code fingerprints (winnowing of normalised tokens: names, literals, comments and "
        "spacing do not count; statement order neither) that the other answer has too, "
        "weighted by rarity, over the answer cells both students answered. The starter code, "
        "the instructor's solution and code that more than "
        f"max({COMMON_MIN}, {_pct(COMMON_SHARE)} of the students) share are not counted "
        f"(k = {K} tokens, window {W}). A high score is a reason to look, not a verdict: "
        "short exercises have few ways to be written.</p>\n",
    ]
    if result.pairs:
        rows = "\n".join(
            f"<tr><td class='num'>{i}</td><td>{_e(p.a)}</td><td>{_e(p.b)}</td>"
            f"<td class='num'><a href='#pair-{i}'>{_pct(p.score)}</a></td>"
            f"<td class='num'>{p.shared}</td><td>{_e(_cells_text(p))}</td></tr>"
            for i, p in enumerate(result.pairs, 1)
        )
        parts.append(
            "<table>\n<caption>Pairs at or above the threshold, most similar first</caption>\n"
            "<thead><tr><th scope='col'>#</th><th scope='col'>student</th>"
            "<th scope='col'>student</th><th scope='col'>score</th>"
            "<th scope='col'>shared fingerprints</th><th scope='col'>cells (score)</th></tr>"
            f"</thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"
        )
    else:
        parts.append("<p>No pair reaches the threshold.</p>\n")
    for i, p in enumerate(result.pairs, 1):
        parts.append(f"<h2 id='pair-{i}'>{i}. {_e(p.a)} and {_e(p.b)}: {_pct(p.score)}</h2>\n")
        parts.append("<p>Matching lines are marked &#9654; and highlighted.</p>\n")
        for key in sorted(p.lines):
            lines_a, lines_b = p.lines[key]
            src_a = result.sources.get(p.a, {}).get(key, "")
            src_b = result.sources.get(p.b, {}).get(key, "")
            parts.append(
                f"<table>\n<caption>{_e(key[0])}: cell {_e(key[1])} "
                f"({_pct(p.cells.get(key, 0.0))})</caption>\n"
                f"<thead><tr><th scope='col'>{_e(p.a)}</th><th scope='col'>{_e(p.b)}</th>"
                f"</tr></thead>\n<tbody><tr><td>{_side(src_a, lines_a)}</td>"
                f"<td>{_side(src_b, lines_b)}</td></tr></tbody>\n</table>\n"
            )
    if result.solution_like:
        rows = "\n".join(
            f"<tr><td>{_e(s)}</td><td>{_e(', '.join(g))}</td></tr>"
            for s, g in sorted(result.solution_like.items())
        )
        parts.append(
            "<h2>Close to the instructor's solution</h2>\n<table>\n<caption>Answers whose "
            "code is mostly the instructor's solution (not compared with each other on "
            "it)</caption>\n<thead><tr><th scope='col'>student</th><th scope='col'>cells</th>"
            f"</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"
        )
    if result.unreadable:
        rows = "\n".join(
            f"<tr><td>{_e(s)}</td><td>{_e(why)}</td></tr>"
            for s, why in sorted(result.unreadable.items())
        )
        parts.append(
            "<h2>Not compared</h2>\n<table>\n<caption>Submissions that could not be read "
            "(in full or in part)</caption>\n<thead><tr><th scope='col'>student</th>"
            f"<th scope='col'>why</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"
        )
    return html_page(f"Similar submissions of {assignment}", "".join(parts))


REPORT_PAIRS = 10


def similarity_section(layout: CourseLayout, assignment: str, folder: Path) -> str:
    """The class report's section: the most similar pairs, and a link to the page when it was
    written into ``folder`` (the report's).  Empty when nothing was submitted."""
    if not layout.students(assignment):
        return ""
    head = "<h2>Similar submissions</h2>\n"
    try:
        result = run_similarity(layout, assignment)
    except (OSError, ValueError) as exc:  # SpecError, an unreadable instructor notebook
        return head + f"<p class='note'>Not compared: {_e(exc)}</p>\n"
    page = page_path(layout, assignment)
    if page.parent.resolve() == Path(folder).resolve() and page.is_file():
        more = f"<a href='{_e(page.name)}'>the similarity page</a> (as last written)"
    else:
        more = f"the page written by <code>convcourse similarity {_e(assignment)}</code>"
    text = (
        f"<p>{result.compared} students compared; {len(result.pairs)} pair(s) with a score of "
        f"at least {_pct(result.threshold)}; {len(result.solution_like)} student(s) with an "
        f"answer close to the instructor's solution; {len(result.unreadable)} submission(s) "
        f"not compared. The matching lines side by side: {more}.</p>\n"
    )
    rows = "\n".join(
        f"<tr><td>{_e(p.a)}</td><td>{_e(p.b)}</td><td class='num'>{_pct(p.score)}</td>"
        f"<td>{_e(_cells_text(p))}</td></tr>"
        for p in result.pairs[:REPORT_PAIRS]
    )
    table = (
        f"<table>\n<caption>The {min(len(result.pairs), REPORT_PAIRS)} most similar pairs"
        "</caption>\n<thead><tr><th scope='col'>student</th><th scope='col'>student</th>"
        "<th scope='col'>score</th><th scope='col'>cells (score)</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>\n"
        if result.pairs
        else ""
    )
    return head + text + table
