"""Bringing submissions in: a folder, or the zip file an LMS exports, into nbgrader's layout.

    submitted/<student_id>/<assignment>/<notebook>.ipynb

What the LMS exports carry (read from their source code; ``--lms auto`` recognises them):

- **Canvas** ("Download Submissions", ``lib/content_zipper.rb``): one flat file per uploaded
  file, ``<name>[_LATE]_<user id>_<file id>_<file name>``.  ``<name>`` is the sortable name
  ("Doe, Jane") lower-cased with every non-word character removed (``doejane``; letters outside
  ASCII stay, in whatever Unicode form they were typed); with anonymous grading there is no name
  and the user id is ``anon_<id>``.  ``LATE`` is Canvas's own late flag for the submission.
  ``<file id>`` is the attachment id, handed out in upload order.  A file uploaded again under
  the same name is renamed ``name-1.ext``, ``name-2.ext``, ... by Canvas.  The zip's entry times
  are rubyzip's default, the moment the zip was built: **no submission time**.
- **Moodle** ("Download all submissions", ``mod/assign``): in folders (the default)
  ``<full name>_<participant id>_assignsubmission_<plugin>_/<file>``, or flat
  ``<full name>_<participant id>_assignsubmission_<plugin>_<file>``.  ``_`` in names becomes a
  space; with blind marking the name is ``Participant``.  The participant id is unique within
  the assignment (not across assignments).  No late flag.  Entry times: since Moodle 3.11 the zip
  is streamed and every entry has the download time; before, the time the file's content first
  entered Moodle's file store.  Neither is the submission time.
- **Plain**: ``<student>/<notebook>.ipynb``, ``<student>/<assignment>/<notebook>.ipynb`` or
  ``<student>.ipynb``.

Who is who.  Names are compared after Unicode NFC normalisation.  When the export has an LMS id
(Canvas user id, Moodle participant id) that id alone decides who is the same person.  The
student id is the name part (``doejane``; ``jane_doe`` for Moodle's "Jane Doe"), the LMS id with
``--id-from lms-id``, or the course's id from a roster CSV (``--roster``: a ``student_id`` column
and any of ``lms_id``, ``name``, ``email``, ``login``; a row with an ``lms_id`` matches only that
LMS user).  Two people never share a folder: when different people get the same id (two
"smithjohn", two "Jane Doe", ids equal but for letter case), each gets the id plus their LMS id
(``smithjohn_101``) -- or, in plain layouts, plus a short hash of the name -- with a warning and
exit code 1; the choice is recorded and reused by later ingests, so ids stay stable.  With a
roster, a person the roster cannot tell apart from another is refused instead (exit 1).

Several copies of one file (Canvas's ``-1``, ``-2``; a browser's `` (2)``): the highest number
wins, compared as numbers (``-10`` after ``-2``); where numbers tie or are absent, the LMS's
upload order (Canvas's file id), then the file's own time.  The note says which file was kept.

Submission times come only from the LMS: the CSV given as ``times`` (``--times``), with an id
column (``lms_id``, ``user_id`` -- as in Canvas's submissions API -- ``participant_id``,
``identifier``, or ``student_id``), a time column (``submitted_at``, ``timestamp`` or
``submission_time``; ISO 8601 with a UTC offset) and optionally ``late`` (``timestamp_source``
"lms").  Without it, a plain folder or zip gives the newest stored file's own time (zip: the
extended-timestamp field in UTC, else the DOS time as this machine's local time; folder: the
modification time; ``timestamp_source`` "file"), and a Canvas or Moodle export gives none (see
above), though Canvas's late flag is kept.  Nothing a student wrote is believed: a
``timestamp.txt`` in a submission is dropped with a note.  The times, the late flags and the
history of every ingest are recorded outside ``submitted/`` by
:mod:`convcourse.instructor.intake.ingest_record`, where the autograder reads them.

The input is only ever read.  Zip entries never choose where anything is written (no
zip-slip): the destination is built from the sanitized student id and file name.  Entries that
are links, encrypted, nested too deep, too many, too large, or that inflate suspiciously (zip
bombs) are refused with a note, and decompression stops at the byte limit whatever the header
claims.  A student's notebook is stored under the assignment's notebook name (when there is
exactly one), byte for byte.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from convcourse.instructor.intake.archive import (
    Budget,
    Entry,
    IngestLimits,
    folder_entries,
    zip_entries,
)
from convcourse.instructor.intake.ingest_names import (
    Who,
    clean_name,
    detect_lms,
    identify,
    resubmission,
    student_id_from_name,
)
from convcourse.instructor.intake.ingest_people import (
    IngestError,
    Roster,
    assign_ids,
    load_lms_times,
)
from convcourse.instructor.intake.ingest_record import (
    SubmissionTime,
    iso_utc,
    load_manifest,
    locked,
    save_manifest,
)
from convcourse.instructor.layout import SAFE_ID, CourseLayout

__all__ = [
    "IngestLimits",
    "IngestReport",
    "ingest",
    "load_lms_times",
    "student_id_from_name",
    "IngestError",
]


@dataclass
class Item:
    """One file of one student, found in the input."""

    student: str
    name: str  # the file name the student gave it (sanitized)
    data: bytes
    source: str  # where it came from in the input
    late: bool | None = None
    order: int | None = None
    file_time: dt.datetime | None = None
    who: Who | None = None


@dataclass
class IngestReport:
    assignment_id: str
    written: dict[str, list[str]] = field(default_factory=dict)  # student -> files
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # problems that need a person (exit 1)
    late: list[str] = field(default_factory=list)  # students the LMS marked late
    times: dict[str, SubmissionTime] = field(default_factory=dict)  # student -> time, source
    lms: str = ""

    def exit_code(self) -> int:
        return 1 if self.refused or self.warnings else 0

    def text(self) -> str:
        lines = [
            f"{self.assignment_id} ({self.lms}): {len(self.written)} submission(s) written, "
            f"{len(self.unchanged)} unchanged, {len(self.refused)} file(s) refused"
        ]
        lines += [f"  WARNING: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  refused {entry}: {why}" for entry, why in self.refused]
        if self.late:
            lines.append(f"  marked late by the LMS: {', '.join(sorted(self.late))}")
        # Names come from the export: never let one drive the terminal (escape sequences).
        return "\n".join(_shown(line) for line in lines)


def _shown(text: str) -> str:
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


_STUDENT_TIMESTAMP = "timestamp.txt"  # nbgrader's name for the submission time; never believed


# ---------------------------------------------------------------------- who submitted what


def ingest(
    layout: CourseLayout,
    assignment_id: str,
    source: Path,
    *,
    lms: str = "auto",
    roster: Path | None = None,
    id_from: str = "name",
    times: Path | None = None,
    limits: IngestLimits | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Copy the submissions in ``source`` (zip or folder) into ``submitted/``."""
    if not SAFE_ID.match(assignment_id):
        raise IngestError(f"invalid assignment id {assignment_id!r}")
    source = Path(source)
    if not source.exists():
        raise IngestError(f"{source} does not exist")
    limits = limits or IngestLimits()
    report = IngestReport(assignment_id)
    budget = Budget(limits)
    if source.is_dir():
        entries = list(folder_entries(source, budget, report))
    elif zipfile.is_zipfile(source):
        entries = list(zip_entries(source, budget, report, "", 0))
    else:
        raise IngestError(f"{source} is neither a folder nor a zip file")
    report.lms = detect_lms([e.source for e in entries]) if lms == "auto" else lms
    table = Roster(roster) if roster else None
    lms_times = load_lms_times(times) if times else None
    mode = "roster" if table is not None else id_from
    with contextlib.nullcontext() if dry_run else locked(layout, assignment_id):
        try:
            manifest = load_manifest(layout, assignment_id)
        except ValueError as exc:
            raise IngestError(str(exc)) from None
        found: list[tuple[Entry, Who]] = []
        people: dict[str, Who] = {}
        spellings: dict[str, set[str]] = {}
        for entry in entries:
            who = identify(entry.source, report.lms, assignment_id)
            if who is None:
                report.refused.append((entry.source, f"does not follow the {report.lms} naming"))
                continue
            found.append((entry, who))
            people.setdefault(who.identity, who)
            spellings.setdefault(who.identity, set()).add(_raw_top(entry.source))
        for identity, raw in sorted(spellings.items()):
            if len(raw) > 1 and identity.startswith("plain:"):
                report.warnings.append(
                    f"{len(raw)} folders spell the name {identity[6:]!r} in different Unicode "
                    "forms: taken as one student (the same name); check that they are"
                )
        ids = assign_ids(people, table, mode, manifest["identities"], report.warnings)
        items: list[Item] = []
        for entry, who in found:
            student, why = ids[who.identity]
            if student is None:
                report.refused.append((entry.source, f"{why} ({who.name or who.lms_id!r})"))
                continue
            items.append(
                Item(
                    student,
                    clean_name(who.file),
                    entry.data,
                    entry.source,
                    who.late,
                    who.order,
                    entry.file_time,
                    who,
                )
            )
        _bring_in(layout, assignment_id, source, report, items, lms_times, manifest, dry_run)
        if not dry_run:
            _record_run(layout, assignment_id, source, report, manifest, mode, ids, people)
    return report


def _raw_top(path: str) -> str:
    """The name part of a plain entry as the input spells it (before NFC)."""
    parts = PurePosixPath(path.split("!")[0]).parts
    return parts[0] if len(parts) > 1 else parts[0].rpartition(".")[0]


def _bring_in(layout, assignment_id, source, report, items, lms_times, manifest, dry_run) -> None:
    """Arrange, store and record each student's files."""
    expected = _expected_notebooks(layout, assignment_id)
    by_student: dict[str, list[Item]] = {}
    for item in items:
        by_student.setdefault(item.student, []).append(item)
    if report.lms in ("canvas", "moodle") and lms_times is None and by_student:
        report.notes.append(
            f"a {report.lms} export carries no submission times (its zip entry times are when "
            "the zip was made): timestamps left empty; give the LMS's times with --times"
        )
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    number = len(manifest["ingests"]) + 1
    for student, student_items in sorted(by_student.items()):
        own = [i for i in student_items if i.name.lower() != _STUDENT_TIMESTAMP]
        ignored = [
            {"source": i.source, "why": "the student's own timestamp.txt"}
            for i in student_items
            if i.name.lower() == _STUDENT_TIMESTAMP
        ]
        if ignored:
            report.notes.append(
                f"{student}: ignored the submission's own timestamp.txt (submission times "
                "come from the LMS, never from the student's files)"
            )
        kept, dropped = _arrange(student, own, expected, report)
        ignored += dropped
        when = _submission_time(student, student_items, kept, report.lms, lms_times)
        report.times[student] = when
        if when.late:
            report.late.append(student)
        files = {name: item.data for name, item in kept.items()}
        if dry_run:
            report.written[student] = sorted(files)
            continue
        if _store(layout, assignment_id, student, files):
            report.written[student] = sorted(files)
        else:
            report.unchanged.append(student)
        who = student_items[0].who
        entry = {
            "ingest": number,
            "at": at,
            "export": str(source.resolve()),
            "identity": who.identity if who else None,
            "lms_id": who.lms_id if who else None,
            "lms_name": who.name if who else None,
            "files": [
                {
                    "source": item.source,
                    "stored_as": name,
                    "sha256": hashlib.sha256(item.data).hexdigest(),
                }
                for name, item in sorted(kept.items())
            ],
            "ignored": ignored,
            **when.as_json(),
        }
        history = manifest["students"].setdefault(student, [])
        if not history or _facts(history[-1]) != _facts(entry):
            history.append(entry)


def _facts(entry: dict) -> dict:
    """What an ingest says about a student, without when it said it."""
    return {k: v for k, v in entry.items() if k not in ("ingest", "at")}


def _submission_time(student, items, kept, lms, lms_times) -> SubmissionTime:
    """The LMS's time when known; else, for plain inputs, the newest stored file's own time."""
    late = any(i.late for i in items) if lms == "canvas" else None
    recorded = lms_times.get(items[0].who, student) if lms_times else None
    if recorded is not None:
        late = recorded.late if recorded.late is not None else late
        if recorded.timestamp:
            return SubmissionTime(recorded.timestamp, "lms", late)
    if lms == "plain":
        file_times = [i.file_time for i in kept.values() if i.file_time is not None]
        if file_times:
            return SubmissionTime(iso_utc(max(file_times)), "file", late)
    return SubmissionTime(None, None, late)


def _record_run(layout, assignment_id, source, report, manifest, id_from, ids, people) -> None:
    digest = None
    if source.is_file():
        h = hashlib.sha256()
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
    manifest["ingests"].append(
        {
            "n": len(manifest["ingests"]) + 1,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "export": str(source.resolve()),
            "export_sha256": digest,
            "lms": report.lms,
            "id_from": id_from,
            "written": sorted(report.written),
            "unchanged": sorted(report.unchanged),
            "refused": [{"source": s, "why": w} for s, w in report.refused],
            "notes": report.notes,
            "warnings": report.warnings,
        }
    )
    for identity, (sid, _) in ids.items():
        if sid is not None and identity in people:
            manifest["identities"].setdefault(identity, {})[id_from] = sid
    save_manifest(layout, assignment_id, manifest)


def _expected_notebooks(layout: CourseLayout, assignment_id: str) -> list[str]:
    folder = layout.source_dir(assignment_id)
    names = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    return names or [f"{assignment_id}.ipynb"]


def _newest_first(copies: list[tuple[int, Item]]) -> list[tuple[int, Item]]:
    """Highest copy number first; then the LMS's upload order, the file's time, the path."""

    def key(copy):
        n, item = copy
        t = item.file_time.timestamp() if item.file_time else float("-inf")
        order = item.order if item.order is not None else -1
        return (n, order, t, item.source)

    return sorted(copies, key=key, reverse=True)


def _why_kept(ranked: list[tuple[int, Item]]) -> str:
    (n, pick), (m, other) = ranked[0], ranked[1]
    if n != m:
        return f"copy number {n}, the highest"
    if pick.order is not None and pick.order != other.order:
        return f"uploaded last: LMS file id {pick.order}"
    if pick.file_time and pick.file_time != other.file_time:
        return f"the newest file time, {iso_utc(pick.file_time)}"
    return "the same rank: the last by its path in the export"


def _pick(student, want, copies, report, dropped) -> Item:
    ranked = _newest_first(copies)
    if len(ranked) > 1:
        report.notes.append(
            f"{student}: {len(ranked)} copies of {want}: kept {ranked[0][1].source!r} "
            f"({_why_kept(ranked)}); not used: "
            f"{', '.join(repr(i.source) for _, i in ranked[1:])}"
        )
        dropped += [{"source": i.source, "why": f"an older copy of {want}"} for _, i in ranked[1:]]
    return ranked[0][1]


def _arrange(student: str, items: list[Item], expected: list[str], report):
    """``(stored name -> item, dropped)`` for one student: notebooks under the assignment's
    names, the newest copy of each file."""
    kept: dict[str, Item] = {}
    dropped: list[dict] = []
    notebooks = [i for i in items if i.name.lower().endswith(".ipynb")]
    others = [i for i in items if not i.name.lower().endswith(".ipynb")]
    for want in expected:
        copies = [(n, i) for i in notebooks if (n := resubmission(i.name, want)) is not None]
        if not copies and len(notebooks) == 1 and len(expected) == 1:
            copies = [(0, notebooks[0])]
            report.notes.append(f"{student}: {notebooks[0].name!r} stored as {want}")
        if not copies:
            continue
        kept[want] = _pick(student, want, copies, report, dropped)
        used = {id(i) for _, i in copies}
        notebooks = [i for i in notebooks if id(i) not in used]
    rest: dict[str, list[Item]] = {}
    for item in notebooks:
        report.notes.append(f"{student}: extra notebook {item.name!r} kept beside the others")
    for item in notebooks + others:
        rest.setdefault(item.name, []).append(item)
    for name, same in rest.items():
        if name in kept:
            dropped += [{"source": i.source, "why": f"clashes with {name}"} for i in same]
            continue
        kept[name] = _pick(student, name, [(0, i) for i in same], report, dropped)
    return kept, dropped


def _store(layout: CourseLayout, assignment_id: str, student: str, files: dict) -> bool:
    """Write the student's folder atomically; False when it already holds exactly these files."""
    dest = layout.submission_dir(student, assignment_id)
    if dest.is_dir():
        present = list(dest.iterdir())
        if (
            all(not p.is_symlink() and p.is_file() for p in present)
            and {p.name: p.read_bytes() for p in present} == files
        ):
            return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{student}-", dir=dest.parent))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return True
