"""Due dates and per-student extensions: what nbgrader lacks a configuration for.

nbgrader keeps an assignment's due date in the gradebook (``nbgrader db assignment add
--duedate``, or the formgrader) and a student's extension on their submission, but has no
configuration file for either.  convcourse reads both from the course, in ``nbgrader_config.py``::

    c.Deadlines.duedates = {"02_cross_correlation": "2026-11-20T23:59:00+01:00"}
    c.Deadlines.timezone = "Europe/Berlin"        # optional: for times written without offset
    c.Deadlines.extensions_file = "extensions.csv"  # the default (relative to the course)

and the extensions CSV (UTF-8, a header row; other columns, such as a note, are not read)::

    student_id,assignment,due,extra_hours
    alice,02_cross_correlation,2026-11-22T12:00:00+01:00,
    bob,02_cross_correlation,,48

Each row gives ``due`` (the student's new due date) or ``extra_hours`` (hours added to the
assignment's due date), never both.  Times are ISO 8601 with a UTC offset (``Z`` or ``+01:00``),
or without one when ``c.Deadlines.timezone`` names the zone they are in; a date alone is
refused (start or end of the day?).  Every problem -- a missing column, a bad time, a duplicate
row, an unknown assignment or student -- is an error that names the file and line; no row is
ever skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Dict, Unicode
from traitlets.config import Configurable

from convcourse.instructor.layout import ConfigError, CourseLayout, nbgrader_config

__all__ = [
    "CourseDeadlines",
    "DeadlineError",
    "Deadlines",
    "Extension",
    "load_deadlines",
    "parse_time",
    "read_extensions",
]

EXTENSION_COLUMNS = ("student_id", "assignment", "due", "extra_hours")
MAX_PROBLEMS_SHOWN = 20
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DeadlineError(ConfigError):
    """A due date or an extension cannot be used (exit code 2, as every configuration error)."""


class Deadlines(Configurable):
    """Due dates and extensions of a convcourse course (``c.Deadlines.*``)."""

    duedates = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="Assignment id -> due date (ISO 8601, with a UTC offset unless timezone is set).",
    ).tag(config=True)
    timezone = Unicode(
        "", help="IANA time zone (e.g. Europe/Berlin) of the times written without an offset."
    ).tag(config=True)
    extensions_file = Unicode(
        "extensions.csv", help="CSV of per-student extensions, relative to the course folder."
    ).tag(config=True)


@dataclass(frozen=True)
class Extension:
    """One row of the extensions file: a new due date or extra hours for one student."""

    student_id: str
    assignment: str
    line: int
    due: dt.datetime | None = None  # aware
    extra_hours: float | None = None

    def delta(self, assignment_due: dt.datetime | None) -> dt.timedelta:
        """The extension as nbgrader stores it: a time added to the assignment's due date."""
        if self.extra_hours is not None:
            return dt.timedelta(hours=self.extra_hours)
        if assignment_due is None:
            raise DeadlineError(
                f"line {self.line}: {self.student_id} gets a new due date for {self.assignment}, "
                "which has no due date itself; set c.Deadlines.duedates or give extra_hours"
            )
        # Negative when the assignment's due date was moved past this one: the caller decides.
        return self.due - assignment_due

    def describe(self) -> str:
        if self.extra_hours is not None:
            return f"{self.extra_hours:g} extra hours"
        return f"due {self.due.isoformat()}"


@dataclass
class CourseDeadlines:
    """The due dates and extensions of a course, read and checked."""

    duedates: dict[str, dt.datetime] = field(default_factory=dict)  # aware, UTC
    # None: no extensions file, so the extensions in the gradebook are left as they are.
    extensions: dict[tuple[str, str], Extension] | None = None
    extensions_path: Path | None = None

    def extensions_of(self, assignment_id: str) -> dict[str, Extension] | None:
        if self.extensions is None:
            return None
        return {s: e for (s, a), e in self.extensions.items() if a == assignment_id}

    def check_students(self, known: set[str]) -> None:
        """Refuse extensions for students the course has never seen (typos, wrong ids)."""
        if not self.extensions:
            return
        problems = [
            f"line {e.line}: unknown student {e.student_id!r} (not in the gradebook and no "
            "folder in submitted/)"
            for e in sorted(self.extensions.values(), key=lambda e: e.line)
            if e.student_id not in known
        ]
        if problems:
            raise _error(self.extensions_path, problems)


def _zone(name: str):
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeadlineError(
            f"c.Deadlines.timezone = {name!r} is not a time zone (use an IANA name such as "
            "'Europe/Berlin' or 'America/New_York')"
        ) from None


def parse_time(text: str, zone=None) -> dt.datetime:
    """An ISO 8601 time as an aware UTC datetime; ValueError saying what is wrong."""
    value = (text or "").strip()
    if not value:
        raise ValueError("empty time")
    if _DATE_ONLY.match(value):
        raise ValueError(f"{value!r} is a date without a time (write e.g. {value}T23:59:00+00:00)")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-11-20T23:59:00+01:00)"
        ) from None
    if when.tzinfo is None:
        if zone is None:
            raise ValueError(
                f"{value!r} has no UTC offset (add one, e.g. +01:00 or Z, or set "
                "c.Deadlines.timezone)"
            )
        when = when.replace(tzinfo=zone)
    return when.astimezone(dt.UTC)


def load_deadlines(layout: CourseLayout, known_assignments: set[str] | None = None):
    """Read ``c.Deadlines`` from the course's ``nbgrader_config.py`` and its extensions file."""
    try:
        config = nbgrader_config(layout.root)
        settings = Deadlines(config=config)
    except Exception as exc:  # noqa: BLE001 - a traitlets type error in the user's config
        raise DeadlineError(f"c.Deadlines in nbgrader_config.py: {exc}") from None
    zone = _zone(settings.timezone)
    assignments = set(layout.assignments()) if known_assignments is None else known_assignments
    duedates: dict[str, dt.datetime] = {}
    problems = []
    for assignment, text in sorted(settings.duedates.items()):
        if assignment not in assignments:
            problems.append(f"c.Deadlines.duedates names an unknown assignment {assignment!r}")
            continue
        try:
            duedates[assignment] = parse_time(text, zone)
        except ValueError as exc:
            problems.append(f"c.Deadlines.duedates[{assignment!r}]: {exc}")
    if problems:
        raise DeadlineError("; ".join(problems))
    deadlines = CourseDeadlines(duedates=duedates)
    path = Path(settings.extensions_file)
    if not path.is_absolute():
        path = layout.root / path
    configured = "extensions_file" in config.get("Deadlines", {})
    if path.is_file():
        deadlines.extensions = read_extensions(path, assignments, zone)
        deadlines.extensions_path = path
    elif configured:
        raise DeadlineError(f"c.Deadlines.extensions_file: {path} does not exist")
    return deadlines


def read_extensions(path: Path, assignments: set[str], zone=None) -> dict:
    """``(student_id, assignment) -> Extension`` from the CSV at ``path`` (see the module doc).

    Raises DeadlineError listing every bad line, so that one pass fixes the file.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from a spreadsheet is fine
    except UnicodeDecodeError:
        raise DeadlineError(f"{path}: not UTF-8 text (save it as CSV UTF-8)") from None
    except OSError as exc:
        raise DeadlineError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if header is None:
        raise DeadlineError(f"{path}: empty file (it needs the header row {_header_hint()})")
    columns = [h.strip().lower() for h in header]
    missing = [c for c in ("student_id", "assignment") if c not in columns]
    if missing or not ({"due", "extra_hours"} & set(columns)):
        need = missing + ([] if {"due", "extra_hours"} & set(columns) else ["due or extra_hours"])
        raise DeadlineError(
            f"{path} line 1: missing column(s) {', '.join(need)} (the header must name "
            f"{_header_hint()})"
        )
    twice = sorted({c for c in columns if c in EXTENSION_COLUMNS and columns.count(c) > 1})
    if twice:
        raise DeadlineError(f"{path} line 1: column(s) {', '.join(twice)} appear twice")
    index = {c: columns.index(c) for c in EXTENSION_COLUMNS if c in columns}
    out: dict[tuple[str, str], Extension] = {}
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in index.items()}
        try:
            ext = _extension(cells, line, assignments, zone)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        key = (ext.student_id, ext.assignment)
        if key in out:
            problems.append(
                f"line {line}: a second extension for {ext.student_id} on {ext.assignment} "
                f"(the first is on line {out[key].line}; keep one row)"
            )
            continue
        out[key] = ext
    if problems:
        raise _error(path, problems)
    return out


def _extension(cells: dict, line: int, assignments: set[str], zone) -> Extension:
    student, assignment = cells.get("student_id", ""), cells.get("assignment", "")
    due_text, hours_text = cells.get("due", ""), cells.get("extra_hours", "")
    if not student:
        raise ValueError("empty student_id")
    if not assignment:
        raise ValueError("empty assignment")
    if assignment not in assignments:
        known = ", ".join(sorted(assignments)) or "none"
        raise ValueError(f"unknown assignment {assignment!r} (the course has: {known})")
    if due_text and hours_text:
        raise ValueError("both due and extra_hours are given; keep one")
    if not due_text and not hours_text:
        raise ValueError("neither due nor extra_hours is given")
    if due_text:
        try:
            due = parse_time(due_text, zone)
        except ValueError as exc:
            raise ValueError(f"due: {exc}") from None
        return Extension(student, assignment, line, due=due)
    try:
        hours = float(hours_text)
    except ValueError:
        raise ValueError(f"extra_hours: {hours_text!r} is not a number") from None
    if not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"extra_hours: {hours_text!r} must be a positive number of hours")
    return Extension(student, assignment, line, extra_hours=hours)


def _header_hint() -> str:
    return "student_id, assignment and due and/or extra_hours"


def _error(path, problems: list[str]) -> DeadlineError:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return DeadlineError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + tail)
