"""The grader's own record of what ``convcourse ingest`` brought in: ``.grading/ingest/<a>.json``.

It lives outside ``submitted/``, so nothing a student hands in can change it.  It accumulates:
every ingest adds a run to ``ingests`` and, for each student whose submission it stored (or found
unchanged with new facts), an entry to ``students[<id>]`` -- which export, which files, which
identity and LMS id, which submission time and where that time came from.  The last entry of a
student describes what is in their ``submitted/`` folder now; the autograder takes the
submission time from there (:func:`submission_times`), never from the submitted files.

    {"schema": 2, "assignment_id": "...",
     "ingests": [{"n": 1, "at": "...", "export": "...", "export_sha256": "...", "lms": "canvas",
                  "written": [...], "unchanged": [...], "refused": [...], "notes": [...],
                  "warnings": [...]}],
     "identities": {"canvas:101": {"name": "smithjohn_101", "lms-id": "101"}},
     "students": {"smithjohn_101": [{"ingest": 1, "identity": "canvas:101", "lms_id": "101",
                  "lms_name": "smithjohn", "files": [{"source": "...", "stored_as": "...",
                  "sha256": "..."}], "timestamp": "2026-11-20T14:00:00+00:00",
                  "timestamp_source": "lms", "late": true}]}}

``timestamp_source`` is ``"lms"`` (the LMS's own record of the submission), ``"file"`` (the
file's time in a plain folder or zip, when nothing better exists) or ``null`` (unknown).
``late`` is the LMS's late flag: ``true``/``false``, or ``null`` where the export has none.
The file is written atomically (a reader sees the old or the new version, never half), under a
lock so that two ingests of one assignment cannot lose each other's runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

from convcourse.instructor.files import write_json
from convcourse.instructor.layout import CourseLayout

__all__ = [
    "MANIFEST_SCHEMA",
    "SubmissionTime",
    "iso_utc",
    "load_manifest",
    "locked",
    "manifest_path",
    "save_manifest",
    "submission_times",
]

MANIFEST_SCHEMA = 2
TIME_SOURCES = ("lms", "file")


@dataclass(frozen=True)
class SubmissionTime:
    """When a submission was handed in, as far as the grader knows, and how it knows."""

    timestamp: str | None = None  # ISO 8601 with a UTC offset
    source: str | None = None  # "lms", "file" or None (see the module docstring)
    late: bool | None = None  # the LMS's late flag; None where the LMS says nothing

    def as_json(self) -> dict:
        return {"timestamp": self.timestamp, "timestamp_source": self.source, "late": self.late}


def manifest_path(layout: CourseLayout, assignment_id: str) -> Path:
    return layout.root / ".grading" / "ingest" / f"{assignment_id}.json"


def _empty(assignment_id: str) -> dict:
    return {
        "schema": MANIFEST_SCHEMA,
        "assignment_id": assignment_id,
        "ingests": [],
        "identities": {},
        "students": {},
    }


def load_manifest(layout: CourseLayout, assignment_id: str) -> dict:
    """The record of ``assignment_id`` (an empty one when there is none yet).

    A manifest of the first format (one ingest, no history) is kept under ``"legacy"``.
    """
    path = manifest_path(layout, assignment_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _empty(assignment_id)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the ingest record {path} is unreadable ({exc}); move it away") from None
    if not isinstance(data, dict):
        raise ValueError(f"the ingest record {path} is not a JSON object; move it away")
    if data.get("schema") != MANIFEST_SCHEMA:
        fresh = _empty(assignment_id)
        fresh["legacy"] = [data]
        return fresh
    for key, kind in (("ingests", list), ("identities", dict), ("students", dict)):
        if not isinstance(data.get(key), kind):
            data[key] = kind()
    return data


def save_manifest(layout: CourseLayout, assignment_id: str, data: dict) -> Path:
    """Write the record atomically (temporary file, flush, rename, flush of the folder)."""
    return write_json(manifest_path(layout, assignment_id), data)


@contextlib.contextmanager
def locked(layout: CourseLayout, assignment_id: str):
    """Hold the assignment's ingest lock (one ingest at a time reads and rewrites the record)."""
    path = manifest_path(layout, assignment_id).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _time_of(entry) -> SubmissionTime | None:
    if not isinstance(entry, dict):
        return None
    timestamp = entry.get("timestamp")
    source = entry.get("timestamp_source")
    late = entry.get("late")
    if not isinstance(timestamp, str) or not timestamp:
        timestamp = None
    if source not in TIME_SOURCES or timestamp is None:
        source = None
    return SubmissionTime(timestamp, source, late if isinstance(late, bool) else None)


def submission_times(layout: CourseLayout, assignment_id: str) -> dict[str, SubmissionTime]:
    """``student -> SubmissionTime`` of the submissions now in ``submitted/`` (last ingest of
    each student).  Students that were never ingested are absent; an unreadable record gives
    an empty answer rather than a guess."""
    try:
        data = load_manifest(layout, assignment_id)
    except ValueError:
        return {}
    out: dict[str, SubmissionTime] = {}
    for student, history in data["students"].items():
        if isinstance(history, list) and history:
            when = _time_of(history[-1])
            if when is not None:
                out[student] = when
    return out


def iso_utc(value) -> str:
    """An aware datetime as the record writes times: ISO 8601 in UTC, to the second."""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")
