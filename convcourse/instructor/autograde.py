"""Grading a batch: find submissions, skip what is done, grade the rest, record every outcome.

Per submission the grader's process reads the submitted folder (regular files only, bounded),
hands a self-contained :class:`~convcourse.instructor.task.GradeTask` to a worker -- a local
slot with its own sandbox, or a Dask worker -- and, back in this process, writes in this order:

1. the gradebook (one commit), 2. the autograded notebook, 3. the results file (atomically).

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
import queue
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from convcourse.instructor.assignment import (
    AssignmentSpec,
    load_spec,
    slot_setup,
    source_fingerprint,
)
from convcourse.instructor.gradebook import GradebookWriter
from convcourse.instructor.ingest_record import SubmissionTime, submission_times
from convcourse.instructor.layout import SAFE_ID, ConfigError, CourseLayout
from convcourse.instructor.sandbox import DEFAULT_PRELOAD, Limits, Sandbox
from convcourse.instructor.task import (
    GRADER_VERSION,
    GradeTask,
    TaskOutcome,
    grade_submission,
    run_on_worker,
)

__all__ = ["BatchOptions", "BatchSummary", "autograde", "read_submission", "write_json_atomic"]

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
        return "\n".join(lines)


def write_json_atomic(path: Path, data) -> None:
    """Write JSON so that a reader (or a crash) sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_submission(
    folder: Path, when: SubmissionTime | None = None
) -> tuple[dict[str, bytes], str, list[str], str | None]:
    """Files of a submission folder (regular files only, bounded), their hash, notes, timestamp.

    The folder is only read: symbolic links (which could point at the grader's secrets) and
    special files are skipped and noted.  The timestamp is ``when``'s: the grader's own record
    of the submission, kept outside ``submitted/`` by ``convcourse ingest``
    (:func:`~convcourse.instructor.ingest_record.submission_times`).  A ``timestamp.txt`` in
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


def _up_to_date(layout, assignment_id, fingerprint, student, sub_hash, in_gradebook) -> bool:
    path = layout.results_file(assignment_id, student)
    if (in_gradebook is not None and student not in in_gradebook) or not path.exists():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        data.get("submission_hash") == sub_hash
        and data.get("spec_fingerprint") == fingerprint
        and data.get("grader_version") == GRADER_VERSION
        and not data.get("grader_error")
    )


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
    times = submission_times(layout, assignment_id)
    read = {
        s: read_submission(layout.submission_dir(s, assignment_id), times.get(s)) for s in students
    }
    fingerprint = source_fingerprint(layout, assignment_id)
    done_before = {
        s
        for s in students
        if not options.force
        and _up_to_date(layout, assignment_id, fingerprint, s, read[s][1], None)
    }
    imports, prelude = slot_setup(layout, assignment_id)
    preload = tuple(dict.fromkeys((*DEFAULT_PRELOAD, *imports)))
    pool = None
    todo = len(students) - len(done_before)
    if not options.scheduler and todo:
        # Start the sandboxes first: they boot while the grader imports torch and nbgrader,
        # reads the instructor notebook and opens the gradebook.
        pool = _LocalPool(options, preload, prelude, layout.log_dir(), min(options.workers, todo))
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
            pool = _LocalPool(
                options, preload, prelude, layout.log_dir(), min(options.workers, len(tasks))
            )
        if not tasks:
            results = iter(())
        elif options.scheduler:
            results = _dask_results(tasks, options, preload)
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


class DiskFull(OSError):
    """The disk holding the course folder or the gradebook is full: the batch stops here."""


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
        outcome.autograded = _scrub(outcome.autograded)
        result = outcome.result = _scrub(result)
        texts = _autograded_texts(outcome)
        results_text = _json_text(result)
    except Exception as exc:  # noqa: BLE001 - unwritable content: this submission's problem
        outcome = _grader_failure(task, exc, "the grader could not write its results")
        result = outcome.result
        result.update(kept)
        texts, results_text = {}, _json_text(result)
    try:
        _write_autograded(layout, spec, task, texts)
        try:
            writer.record(spec, task.student_id, outcome.grades, task.timestamp)
        except Exception as exc:  # noqa: BLE001 - one submission's record must not stop the rest
            if _disk_full(exc):
                raise DiskFull(28, f"the gradebook's disk is full: {exc}"[:300]) from None
            outcome = _grader_failure(task, exc, "the gradebook refused this submission")
            result = outcome.result
            result.update(kept)
            results_text = _json_text(result)
        _write_text_atomic(layout.results_file(spec.assignment_id, task.student_id), results_text)
    except DiskFull:
        raise
    except OSError as exc:
        if _disk_full(exc):
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


def _scrub(value):
    """``value`` with every lone surrogate in its strings replaced (U+FFFD)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _disk_full(exc: BaseException) -> bool:
    import errno

    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _json_text(data) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _autograded_texts(outcome: TaskOutcome) -> dict[str, str]:
    """Each autograded notebook as the text nbformat writes (raises if it cannot be written)."""
    import nbformat

    texts = {}
    for name, nb in outcome.autograded.items():
        text = nbformat.writes(nbformat.from_dict(nb), version=4)
        text.encode("utf-8")  # a lone surrogate fails here, before anything is written
        texts[name] = text
    return texts


def _write_autograded(layout, spec, task: GradeTask, texts: dict[str, str]) -> None:
    folder = layout.autograded_dir(task.student_id, spec.assignment_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        _write_text_atomic(folder / f"{name}.ipynb", text)
    for name in spec.notebooks:
        if name not in texts:
            (folder / f"{name}.ipynb").unlink(missing_ok=True)
    if task.timestamp:
        _write_text_atomic(folder / "timestamp.txt", task.timestamp + "\n")


# -------------------------------------------------------------------------------- executors


class _LocalPool:
    """Worker slots on this machine, each a thread with its own sandbox (started at once, so
    they boot while the caller prepares; bwrap's die-with-parent follows the thread that
    started it, so each sandbox lives in its slot's thread)."""

    def __init__(self, options: BatchOptions, preload, prelude, log_dir: Path, slots: int):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.todo: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.threads = [
            threading.Thread(
                target=self._slot,
                args=(
                    Sandbox(
                        sandboxed=options.sandboxed,
                        preload=preload,
                        prelude=prelude,
                        log_path=log_dir / f"slot-{n}.log",
                    ),
                ),
                daemon=True,
            )
            for n in range(max(1, slots))
        ]
        for t in self.threads:
            t.start()

    def _slot(self, sandbox: Sandbox) -> None:
        try:
            try:
                sandbox.start()
            except Exception:  # noqa: BLE001 - grade_submission retries and reports it
                sandbox.close()
            while True:
                item = self.todo.get()
                if item is None:
                    return
                task, notes = item
                try:
                    outcome = grade_submission(task, sandbox)
                except BaseException as exc:  # noqa: BLE001 - reported, the batch goes on
                    outcome = _grader_failure(task, exc)
                self.done.put((task, notes, outcome))
        finally:
            sandbox.close()

    def run(self, tasks):
        for item in tasks:
            self.todo.put(item)
        for _ in range(len(tasks)):
            yield self.done.get()

    def close(self) -> None:
        for _ in self.threads:
            self.todo.put(None)
        for t in self.threads:
            t.join(timeout=30)


def _dask_results(tasks, options: BatchOptions, preload):
    """Grade on a Dask cluster: the same task function, one sandbox per worker thread."""
    from distributed import Client, as_completed

    scheduler = options.scheduler
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    if not isinstance(client, Client):
        client = Client(client)  # a cluster object
        own = True
    try:
        by_key = {}
        futures = []
        for task, notes in tasks:
            future = client.submit(run_on_worker, task, preload, pure=False)
            by_key[future.key] = (task, notes)
            futures.append(future)
        for future in as_completed(futures):
            task, notes = by_key[future.key]
            try:
                outcome = future.result()
            except BaseException as exc:  # noqa: BLE001
                outcome = _grader_failure(task, exc)
            yield task, notes, outcome
    finally:
        if own:
            client.close()


def _grader_failure(
    task: GradeTask, exc: BaseException, what: str = "the grader failed"
) -> TaskOutcome:
    """An outcome for a submission the grader itself failed on (retried by the next run)."""
    detail = f"{what}: {type(exc).__name__}: {str(exc)[:500]}"
    result = {
        "schema": 1,
        "assignment_id": task.spec.assignment_id,
        "student_id": task.student_id,
        "status": "crashed",
        "status_detail": detail[:2000],
        "score": 0.0,
        "max_score": task.spec.auto_max_score,
        "duration_s": 0.0,
        "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "notebooks": {},
        "evidence": [],
        "withheld": [],
        "submission_hash": task.submission_hash,
        "spec_fingerprint": task.spec.fingerprint,
        "grader_version": GRADER_VERSION,
        "grader_error": True,
        "sandboxed": task.sandboxed,
        "timestamp": task.timestamp,
    }
    grades = {name: {"missing": True} for name in task.spec.notebooks}
    return TaskOutcome(result, {}, grades)
