"""Grading a batch: find submissions, skip what is done, grade the rest, record every outcome.

Per submission the grader's process reads the submitted folder (regular files only, bounded),
hands a self-contained :class:`~convcourse.instructor.grading.task.GradeTask` to a worker -- a local
slot with its own sandbox, or a Dask worker -- and, back in this process, writes in this order:

1. the autograded notebook, 2. the gradebook (one commit), 3. the results file (atomically).

At the end of every run the due date, the extensions and the late penalties are written for
every submission of the assignment (``recording/lateness.py``); a bad due date, extensions
file or penalty setting stops the run before anything is graded.

The results file is the "done" mark.  A rerun skips a student whose results file exists for the
same submitted bytes, the same instructor notebook and grader version, and whose submission the
gradebook has -- so killing the grader at any moment and running it again finishes the batch
with the same gradebook, and an unchanged batch costs nothing.  ``force`` regrades.  Every
event is appended to a journal (``.grading/journal/<assignment>.jsonl``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from convcourse.instructor.authoring.spec import (
    AssignmentSpec,
    load_spec,
    slot_setup,
    source_fingerprint,
)
from convcourse.instructor.files import DiskFull, disk_full
from convcourse.instructor.grading.task import (
    GradeTask,
    grader_failure,
)
from convcourse.instructor.grading.workers import LocalPool, dask_results
from convcourse.instructor.intake.ingest_record import SubmissionTime, submission_times
from convcourse.instructor.layout import SAFE_ID, ConfigError, CourseLayout
from convcourse.instructor.recording import results as results_file
from convcourse.instructor.recording.autograded import autograded_texts, scrub, write_autograded
from convcourse.instructor.recording.gradebook import GradebookWriter
from convcourse.instructor.sandbox import DEFAULT_PRELOAD, Limits

__all__ = ["BatchOptions", "BatchSummary", "autograde", "read_submission"]

MAX_SUBMISSION_BYTES = 64 * 2**20
MAX_SUBMISSION_FILES = 200


@dataclass
class BatchOptions:
    students: list[str] | None = None
    force: bool = False
    workers: int = 2
    scheduler: str | None = None  # a Dask scheduler address, or a distributed.Client / cluster
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    progress: bool = True


@dataclass
class BatchSummary:
    assignment_id: str
    graded: dict[str, str] = field(default_factory=dict)  # student -> status
    skipped: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    lateness: object = None  # recording.lateness.LatenessSummary, once applied

    @property
    def problems(self) -> dict[str, str]:
        return {s: st for s, st in self.graded.items() if st != "graded"}

    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def text(self) -> str:
        counts = Counter(self.graded.values())
        parts = [f"{n} {status}" for status, n in sorted(counts.items())]
        if self.skipped:
            parts.append(f"{len(self.skipped)} unchanged (skipped)")
        lines = [
            f"{self.assignment_id}: {', '.join(parts) or 'nothing to grade'} "
            f"in {self.seconds:.1f} s"
        ]
        for student, status in sorted(self.problems.items()):
            lines.append(f"  {student}: {status} - {self.details.get(student, '')}")
        if self.lateness is not None:
            lines.extend(self.lateness.text())
        return "\n".join(lines)


def read_submission(
    folder: Path, when: SubmissionTime | None = None
) -> tuple[dict[str, bytes], str, list[str], str | None]:
    """Files of a submission folder (regular files only, bounded), their hash, notes, timestamp.

    The folder is only read: symbolic links (which could point at the grader's secrets) and
    special files are skipped and noted.  The timestamp is ``when``'s: the grader's own record
    of the submission, kept outside ``submitted/`` by ``convcourse ingest``
    (:func:`~convcourse.instructor.intake.ingest_record.submission_times`).  A ``timestamp.txt`` in
    the folder was written by whoever handed it in, so it is never believed (skipped, noted).
    The hash covers the record too, so a corrected time or late flag is recorded again.
    """
    files: dict[str, bytes] = {}
    notes: list[str] = []
    total = 0
    if folder.is_dir():
        for root, dirs, names in os.walk(folder, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in (".ipynb_checkpoints", "__pycache__"))
            for name in sorted(names):
                path = Path(root) / name
                rel = path.relative_to(folder).as_posix()
                if path.is_symlink() or not path.is_file():
                    notes.append(f"{rel} skipped (not a regular file)")
                    continue
                if rel == "timestamp.txt":
                    notes.append(
                        "timestamp.txt ignored (the submission time comes from the ingest "
                        "record, never from the submitted files)"
                    )
                    continue
                size = path.stat().st_size
                if len(files) >= MAX_SUBMISSION_FILES or total + size > MAX_SUBMISSION_BYTES:
                    notes.append(f"{rel} skipped (submission over the size or file limit)")
                    continue
                files[rel] = path.read_bytes()
                total += size
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    if when is not None:
        digest.update(b"\0when\0" + json.dumps(when.as_json(), sort_keys=True).encode())
    return files, digest.hexdigest()[:24], notes, when.timestamp if when else None


def _note_time(result: dict, when: SubmissionTime | None) -> None:
    """Say in the results where the submission time came from ("lms", "file" or None) and
    what the LMS's late flag was (None: the LMS said nothing), for the grades export."""
    result["timestamp_source"] = when.source if when else None
    result["late"] = when.late if when else None


class _Journal:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **fields) -> None:
        entry = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, **fields}
        self.file.write(json.dumps(entry) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def autograde(layout: CourseLayout, assignment_id: str, options: BatchOptions) -> BatchSummary:
    """Grade the submissions of ``assignment_id``; see the module docstring."""
    started = time.perf_counter()
    if not SAFE_ID.match(assignment_id):
        raise ConfigError(f"invalid assignment id {assignment_id!r}")
    if not layout.source_dir(assignment_id).is_dir():
        load_spec(layout, assignment_id)  # raises the "unknown assignment" error
    known = layout.students(assignment_id)
    if options.students:
        unknown = [s for s in options.students if s not in known]
        if unknown:
            raise ConfigError(
                f"no submission of {assignment_id} for {', '.join(unknown)} in "
                f"{layout.root / layout.submitted}"
            )
        students = list(dict.fromkeys(options.students))
    else:
        students = known
    summary = BatchSummary(assignment_id)
    deadlines, policy = _deadlines_and_policy(layout)  # a bad setting stops us before grading
    times = submission_times(layout, assignment_id)
    read = {
        s: read_submission(layout.submission_dir(s, assignment_id), times.get(s)) for s in students
    }
    fingerprint = source_fingerprint(layout, assignment_id)
    done_before = {
        s
        for s in students
        if not options.force
        and results_file.up_to_date(layout, assignment_id, s, read[s][1], fingerprint)
    }
    imports, prelude = slot_setup(layout, assignment_id)
    preload = tuple(dict.fromkeys((*DEFAULT_PRELOAD, *imports)))
    pool = None
    todo = len(students) - len(done_before)
    if not options.scheduler and todo:
        # Start the sandboxes first: they boot while the grader imports torch and nbgrader,
        # reads the instructor notebook and opens the gradebook.
        pool = LocalPool(options, preload, prelude, layout.log_dir(), min(options.workers, todo))
    _one_thread()
    try:
        spec = load_spec(layout, assignment_id)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    writer = journal = None
    try:
        writer = GradebookWriter(layout.db_url, layout.course_id)
        journal = _Journal(layout.journal_file(assignment_id))
        writer.register(layout, spec)
        lateness = _plan_lateness(writer, layout, assignment_id, deadlines, policy)
        in_gradebook = set(writer.scores(assignment_id))
        tasks = []
        for student in students:
            files, sub_hash, notes, timestamp = read.pop(student)
            if student in done_before and student in in_gradebook:
                summary.skipped.append(student)
                continue
            task = GradeTask(
                spec=spec,
                student_id=student,
                files=files,
                submission_hash=sub_hash,
                limits=options.limits,
                sandboxed=options.sandboxed,
                timestamp=timestamp,
            )
            tasks.append((task, notes))
        journal.write(
            "batch-start",
            assignment=assignment_id,
            to_grade=len(tasks),
            skipped=len(summary.skipped),
            workers=options.workers,
            dask=bool(options.scheduler),
            sandboxed=options.sandboxed,
        )
        if tasks and pool is None and not options.scheduler:
            pool = LocalPool(
                options, preload, prelude, layout.log_dir(), min(options.workers, len(tasks))
            )
        if not tasks:
            results = iter(())
        elif options.scheduler:
            results = dask_results(tasks, options, preload)
        else:
            results = pool.run(tasks)
        bar = _progress(len(tasks), assignment_id, options.progress)
        try:
            for task, notes, outcome in results:
                _note_time(outcome.result, times.get(task.student_id))
                _finish(layout, spec, writer, journal, task, notes, outcome, summary)
                bar.update(1)
        finally:
            bar.close()
        # Every submission, graded now or before: a changed due date, extension, policy or
        # manual grade is reflected by running the command again.
        from convcourse.instructor.recording.lateness import apply_lateness

        summary.lateness = apply_lateness(writer.gb, lateness, times)
        journal.write("lateness", assignment=assignment_id, **summary.lateness.as_json())
        summary.seconds = time.perf_counter() - started
        journal.write(
            "batch-end",
            graded=len(summary.graded),
            problems=len(summary.problems),
            seconds=round(summary.seconds, 2),
        )
    finally:
        if pool is not None:
            pool.close()
        if journal is not None:
            journal.close()
        if writer is not None:
            writer.close()
    return summary


def _deadlines_and_policy(layout: CourseLayout):
    """The course's due dates, extensions file and late-penalty plugin (ConfigError if bad)."""
    from convcourse.instructor.layout import nbgrader_config
    from convcourse.instructor.recording.deadlines import load_deadlines
    from convcourse.instructor.recording.late_policy import load_policy

    deadlines = load_deadlines(layout)
    try:
        policy = load_policy(nbgrader_config(layout.root))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return deadlines, policy


def _plan_lateness(writer, layout, assignment_id, deadlines, policy):
    from convcourse.instructor.recording.lateness import plan_lateness

    return plan_lateness(writer.gb, layout, assignment_id, deadlines, policy)


def _one_thread() -> None:
    """Judging is many small tensor operations beside busy sandboxes: threads only contend."""
    import torch

    torch.set_num_threads(1)


def _progress(total: int, label: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=f"grading {label}",
        unit="sub",
        disable=not enabled or total == 0,
        file=sys.stderr,
        mininterval=0.2 if sys.stderr.isatty() else 2.0,
        dynamic_ncols=True,
    )


def _finish(layout, spec: AssignmentSpec, writer, journal, task, notes, outcome, summary) -> None:
    """Record one outcome so that the gradebook, the autograded notebook and the results file
    agree, whatever fails: everything is serialised first (a notebook that cannot be written
    becomes this submission's grader failure, never the batch's), then written in the order
    autograded notebook, gradebook, results file.  The results file is the "done" mark: a crash
    between any two writes leaves a submission without it, which the next run regrades and
    rewrites whole."""
    result = outcome.result
    if notes:
        extra = "; ".join(notes)
        result["status_detail"] = "; ".join(d for d in (result["status_detail"], extra) if d)
    # What ingest knew about the time survives a grader failure below.
    kept = {k: result[k] for k in ("timestamp_source", "late") if k in result}
    try:
        # Student text (outputs, error messages) may hold what UTF-8 cannot store.
        outcome.autograded = scrub(outcome.autograded)
        result = outcome.result = scrub(result)
        texts = autograded_texts(outcome.autograded)
        results_text = results_file.text(result)
    except Exception as exc:  # noqa: BLE001 - unwritable content: this submission's problem
        outcome = grader_failure(task, exc, "the grader could not write its results")
        result = outcome.result
        result.update(kept)
        texts, results_text = {}, results_file.text(result)
    try:
        write_autograded(layout, spec, task, texts)
        try:
            writer.record(spec, task.student_id, outcome.grades, task.timestamp)
        except Exception as exc:  # noqa: BLE001 - one submission's record must not stop the rest
            if disk_full(exc):
                raise DiskFull(28, f"the gradebook's disk is full: {exc}"[:300]) from None
            outcome = grader_failure(task, exc, "the gradebook refused this submission")
            result = outcome.result
            result.update(kept)
            results_text = results_file.text(result)
        results_file.write(layout, result, results_text)
    except DiskFull:
        raise
    except OSError as exc:
        if disk_full(exc):
            raise DiskFull(
                exc.errno, f"the disk is full while recording {task.student_id}: {exc.strerror}"
            ) from None
        raise
    summary.graded[task.student_id] = result["status"]
    summary.details[task.student_id] = result["status_detail"]
    journal.write(
        "graded",
        student=task.student_id,
        status=result["status"],
        score=result["score"],
        hash=task.submission_hash,
        seconds=result["duration_s"],
    )
