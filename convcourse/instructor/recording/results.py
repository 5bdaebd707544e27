"""The grader's results file: one JSON file per submission, and its single definition.

``<course>/.grading/results/<assignment>/<student>.json`` is written last for a submission
(after its autograded notebook and its gradebook rows), so it is the "done" mark a rerun looks
for (:func:`up_to_date`); ``convcourse status`` prints it, and the export, the feedback pages and
the report read it beside the gradebook.  It is plain JSON, UTF-8, written atomically.

Schema 2 (``SCHEMA``), every key always present unless said otherwise:

- ``schema`` (2), ``assignment_id``, ``student_id``;
- ``status``: one of ``STATUSES`` (the submission's worst notebook), ``status_detail``: why,
  in words (the notes of ingest and planning appended);
- ``score``, ``max_score``: automatic points (withheld and hand-graded cells count 0);
- ``notebooks``: notebook name -> ``{status, status_detail, score, max_score, cells,
  manual_cells}`` and, for a notebook that was run, ``language`` (the edition, ``"en"`` or
  ``"zh"``, from the kernel it names: it chooses the language of messages and feedback, never a
  score); each cell ``{grade_id, exercise, points, max_points, passed, misconception,
  message}`` plus ``withheld: true`` and ``evidence: [...]`` when its points are withheld;
- ``evidence``: every piece of evidence of tampering, ``{kind: "static", cell, line, what}`` or
  ``{kind: "runtime", step, what}``; ``withheld``: the grade ids withheld for review;
- ``duration_s``, ``graded_at`` (UTC, ISO 8601), ``sandboxed``;
- ``submission_hash``, ``spec_fingerprint``, ``grader_version``: what the "done" mark is for;
- ``timestamp`` (the submission time from the LMS, or None), ``timestamp_source`` (``"lms"``,
  ``"file"`` or None), ``late`` (the LMS's flag, or None): set by the batch, from ingest;
- ``grader_error`` (only when true): the grader itself failed; the next run retries it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from convcourse.instructor.files import write_atomic
from convcourse.instructor.layout import CourseLayout

__all__ = [
    "SCHEMA",
    "GRADER_VERSION",
    "STATUSES",
    "worst",
    "build",
    "write",
    "read",
    "read_all",
    "problem",
    "up_to_date",
    "text",
]

SCHEMA = 2
#: Bumped whenever grading changes what a submission would get: older results are regraded.
GRADER_VERSION = "2"
#: Statuses from best to worst.
STATUSES = ("graded", "missing", "invalid", "timeout", "memory", "crashed", "refused")


def worst(statuses: list[tuple[str, str]]) -> tuple[str, str]:
    """A submission's status from its notebooks' ``(status, detail)``: the worst status, with
    every notebook's detail."""
    if not statuses:
        return "missing", "the assignment has no notebooks"
    status = max(statuses, key=lambda sd: STATUSES.index(sd[0]))[0]
    return status, "; ".join(d for _, d in statuses if d)


def build(
    *,
    assignment_id: str,
    student_id: str,
    status: str,
    status_detail: str,
    score: float,
    max_score: float,
    notebooks: dict,
    evidence: list,
    duration_s: float,
    submission_hash: str,
    spec_fingerprint: str,
    sandboxed: bool,
    timestamp: str | None,
    grader_error: bool = False,
) -> dict:
    """A results file's content (see the module docstring)."""
    withheld = [
        c["grade_id"] for nb in notebooks.values() for c in nb.get("cells", []) if c.get("withheld")
    ]
    result = {
        "schema": SCHEMA,
        "assignment_id": assignment_id,
        "student_id": student_id,
        "status": status,
        "status_detail": status_detail,
        "score": round(score, 6),
        "max_score": max_score,
        "duration_s": round(duration_s, 3),
        "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "notebooks": notebooks,
        "evidence": evidence,
        "withheld": withheld,
        "submission_hash": submission_hash,
        "spec_fingerprint": spec_fingerprint,
        "grader_version": GRADER_VERSION,
        "sandboxed": sandboxed,
        "timestamp": timestamp,
        "timestamp_source": None,
        "late": None,
    }
    if grader_error:
        result["grader_error"] = True
    return result


def text(result: dict) -> str:
    """The file's text (raises if the content cannot be stored)."""
    out = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    out.encode("utf-8")
    return out


def write(layout: CourseLayout, result: dict, content: str | None = None) -> Path:
    """Write the results file of ``result`` atomically (``content``: its :func:`text`)."""
    path = layout.results_file(result["assignment_id"], result["student_id"])
    return write_atomic(path, content if content is not None else text(result))


def problem(data, student_id: str, assignment_id: str, name: str = "") -> str:
    """Why ``data`` is not a usable results file for this student and assignment ('' if it is)."""
    where = f"results file {name}: " if name else ""
    if not isinstance(data, dict):
        return where + "not a JSON object"
    if data.get("schema") != SCHEMA:
        return where + f"schema {data.get('schema')!r}, expected {SCHEMA}"
    if data.get("student_id", student_id) != student_id:
        return where + f"it is for student {data.get('student_id')!r}"
    if data.get("assignment_id", assignment_id) != assignment_id:
        return where + f"it is for assignment {data.get('assignment_id')!r}"
    return ""


def read(path: Path, student_id: str, assignment_id: str) -> tuple[dict | None, str]:
    """(the results, "") or (None, why the file is unusable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "not graded yet"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"results file {Path(path).name}: not valid JSON: {err}"
    why = problem(data, student_id, assignment_id, Path(path).name)
    return (None, why) if why else (data, "")


def read_all(layout: CourseLayout, assignment_id: str) -> dict[str, tuple[dict | None, str]]:
    """student id -> :func:`read` of every results file of ``assignment_id``."""
    folder = layout.results_dir(assignment_id)
    found: dict[str, tuple[dict | None, str]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        if not path.name.startswith("."):  # an editor's or the grader's temporary file
            found[path.stem] = read(path, path.stem, assignment_id)
    return found


def up_to_date(
    layout: CourseLayout, assignment_id: str, student_id: str, submission_hash: str, fingerprint
) -> bool:
    """Whether the submission was graded, as it is now, by this grader, against this version
    of the instructor's notebook, without a failure of the grader's own."""
    data, _why = read(layout.results_file(assignment_id, student_id), student_id, assignment_id)
    return (
        data is not None
        and data.get("submission_hash") == submission_hash
        and data.get("spec_fingerprint") == fingerprint
        and data.get("grader_version") == GRADER_VERSION
        and not data.get("grader_error")
    )
