"""Grading one submission: a self-contained task (plain data in, plain data out).

:func:`grade_submission` needs only a :class:`GradeTask` -- the instructor's assignment spec, the
submitted files' bytes, the student id and the limits -- and a :class:`Sandbox`; it touches no
course folder and no database.  That is what lets the same function run in a local pool of
worker slots or on Dask workers (``run_on_worker`` keeps one sandbox per worker thread).  The
caller writes the outcome: autograded notebooks, gradebook, results file.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from convcourse.editions import language_of_kernel
from convcourse.instructor.authoring.spec import AssignmentSpec, NotebookSpec
from convcourse.instructor.intake.notebook_io import (
    DEFAULT_MAX_NOTEBOOK_MB,
    load_submission_bytes,
    plan_submission,
)
from convcourse.instructor.judging import evidence as evidence_rules
from convcourse.instructor.judging.timing import speed_level
from convcourse.instructor.judging.verdicts import CellResult, StudentCases, judge_test_cell
from convcourse.instructor.recording import results as results_file
from convcourse.instructor.recording.autograded import autograded_notebook
from convcourse.instructor.sandbox import Limits, RunRecord, Sandbox, SandboxError
from convcourse.instructor.sandbox.inside import protocol

__all__ = [
    "GradeTask",
    "TaskOutcome",
    "grade_submission",
    "grader_failure",
    "run_on_worker",
    "needs_timing",
]

MAX_EXTRA_FILES = 50
MAX_EXTRA_BYTES = 20 * 2**20
_MEMORY_WORDS = (
    "MemoryError",
    "can't allocate memory",
    "not enough memory",
    "out of memory",
    "Cannot allocate memory",
)


@dataclass
class GradeTask:
    spec: AssignmentSpec
    student_id: str
    files: dict[str, bytes]  # the submission folder: relative path -> bytes
    submission_hash: str
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    max_notebook_mb: float = DEFAULT_MAX_NOTEBOOK_MB
    timestamp: str | None = None


@dataclass
class TaskOutcome:
    result: dict  # the results file (recording/results.py)
    autograded: dict[str, dict]  # notebook name -> autograded notebook (nbformat 4 dict)
    grades: dict[str, dict]  # notebook name -> {"scores": {gid: float|None}, "answered": {...}}


def _find_notebook(files: dict[str, bytes], name: str, allow_rename: bool):
    """The submitted file for notebook ``name`` (and a note), or None.  A differently cased
    name is accepted; so is any other name when it is the only notebook of a one-notebook
    assignment ("Copy of ...", "... (1).ipynb")."""
    want = f"{name}.ipynb"
    if want in files:
        return want, ""
    notebooks = [p for p in files if p.endswith(".ipynb") and ".ipynb_checkpoints" not in p]
    lower = [p for p in notebooks if p.lower() == want.lower()]
    if len(lower) == 1:
        return lower[0], f"notebook submitted as {lower[0]!r}; graded as {want}"
    if allow_rename and len(notebooks) == 1:
        return notebooks[0], f"notebook submitted as {notebooks[0]!r}; graded as {want}"
    return None, ""


def grade_submission(task: GradeTask, sandbox: Sandbox) -> TaskOutcome:
    started = time.perf_counter()
    spec = task.spec
    notebooks_json, autograded, grades = {}, {}, {}
    statuses: list[tuple[str, str]] = []
    evidence: list[dict] = []
    score = 0.0
    claimed: set[str] = set()
    for name, nb_spec in spec.notebooks.items():
        available = {k: v for k, v in task.files.items() if k not in claimed}
        path, rename_note = _find_notebook(available, name, len(spec.notebooks) == 1)
        if path is None:
            detail = f"no notebook submitted (expected {name}.ipynb)"
            statuses.append(("missing", detail))
            notebooks_json[name] = _zero_notebook(nb_spec, "missing", detail)
            grades[name] = {"missing": True, "scores": {}, "answered": {}}
            continue
        claimed.add(path)
        loaded = load_submission_bytes(task.files[path], task.max_notebook_mb)
        notes = ([rename_note] if rename_note else []) + loaded.notes
        if loaded.nb is None:
            detail = "; ".join([*notes, loaded.detail]) if notes else loaded.detail
            statuses.append(("invalid", detail))
            notebooks_json[name] = _zero_notebook(nb_spec, "invalid", detail)
            grades[name] = {"missing": True, "scores": {}, "answered": {}}
            continue
        plan = plan_submission(loaded.nb, nb_spec)
        notes += plan.notes
        report = evidence_rules.scan(plan, nb_spec)
        # The edition only chooses the language of the messages (the same spec grades both):
        # read from the kernel the notebook names, which a student may change at no gain.
        lang = submission_language(loaded.nb)
        from convcourse.checks.messages import using_language

        with using_language(lang):
            status, detail, cells, cell_outputs, record = _run_notebook(
                task, nb_spec, plan, sandbox, lang
            )
            cells, found = evidence_rules.apply_evidence(cells, nb_spec, plan, report, record)
        evidence += found
        detail = "; ".join([d for d in (detail, *notes) if d])
        statuses.append((status, detail))
        nb_score = sum(c.points for c in cells)
        score += nb_score
        notebooks_json[name] = {
            "status": status,
            "status_detail": detail,
            "language": lang,
            "score": nb_score,
            "max_score": nb_spec.auto_max_score,
            "cells": [c.as_json() for c in cells],
            "manual_cells": [c.grade_id for c in nb_spec.cells if c.role in ("manual", "task")],
        }
        autograded[name] = autograded_notebook(loaded.nb, plan, cells, cell_outputs)
        grades[name] = {
            "missing": False,
            "scores": {c.grade_id: c.points for c in cells},
            "answered": plan.answered,
            # Withheld for review: 0 until the instructor grades it; the evidence is shown on
            # the answer cell the test checks (nbgrader keeps comments on answer cells).
            "review": {
                c.grade_id: (evidence_rules.answer_id(nb_spec, c.grade_id), "; ".join(c.evidence))
                for c in cells
                if c.withheld
            },
        }
    status, detail = results_file.worst(statuses)
    result = results_file.build(
        assignment_id=spec.assignment_id,
        student_id=task.student_id,
        status=status,
        status_detail=detail,
        score=score,
        max_score=spec.auto_max_score,
        notebooks=notebooks_json,
        evidence=evidence,
        duration_s=time.perf_counter() - started,
        submission_hash=task.submission_hash,
        spec_fingerprint=spec.fingerprint,
        sandboxed=task.sandboxed,
        timestamp=task.timestamp,
        # Not the student's doing: the next run retries.
        grader_error=any(d.startswith(_SANDBOX_FAILED) for _, d in statuses),
    )
    return TaskOutcome(result, autograded, grades)


_SANDBOX_FAILED = "the grader's sandbox failed"
# Exit codes of the grader's own code in the notebook process (inside/zygote.py).
_WORKER_EXITS = {
    70: "the grader's worker code failed in the notebook process",
    71: "the notebook process received no cells",
    72: "the seccomp filter could not be installed",
    73: "the notebook process could not write its results",
}


def _zero_notebook(nb_spec: NotebookSpec, status: str, detail: str) -> dict:
    cells = [
        CellResult(
            g,
            (c[0].exercise if c else g),
            0.0,
            nb_spec.cell(g).points,
            False,
            None,
            f"not graded: {detail}",
            ran=False,
        ).as_json()
        for g, c in nb_spec.tests.items()
    ]
    return {
        "status": status,
        "status_detail": detail,
        "score": 0.0,
        "max_score": nb_spec.auto_max_score,
        "cells": cells,
        "manual_cells": [c.grade_id for c in nb_spec.cells if c.role in ("manual", "task")],
    }


def _extra_files(task: GradeTask) -> tuple[dict, list[str]]:
    """Other files of the submission (with the instructor's files on top, as nbgrader does)."""
    files, notes = {}, []
    total = 0
    for rel, data in sorted(task.files.items()):
        if rel.endswith(".ipynb"):
            continue
        if len(files) >= MAX_EXTRA_FILES or total + len(data) > MAX_EXTRA_BYTES:
            notes.append(f"file {rel} not copied (too many or too large files)")
            continue
        files[rel] = data
        total += len(data)
    files.update(task.spec.files)
    return files, notes


def submission_language(nb: dict) -> str:
    """The edition a submitted notebook belongs to, from the kernel its metadata names."""
    kernelspec = nb.get("metadata", {}).get("kernelspec")
    name = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    return language_of_kernel(name if isinstance(name, str) else None)


def _run_notebook(task: GradeTask, nb_spec: NotebookSpec, plan, sandbox: Sandbox, lang="en"):
    """Run the plan in the sandbox; judge each test cell.  Returns status, detail, results."""
    import numpy as np

    # The sandbox's zygote also times the speed yardstick (timing.py).
    cases = StudentCases(nb_spec, task.student_id, sandbox=sandbox)
    files, file_notes = _extra_files(task)
    prelude = sandbox.prelude_cells if plan.prelude_ok else None
    if sandbox.prelude != tuple(nb_spec.prelude):
        prelude = None
    request = {
        "cells": plan.steps,
        "prelude_skip": len(prelude) if prelude is not None else 0,
        # No test's inputs here: each test's probe process gets them, and only them, after the
        # zygote verified it (inside/zygote.py); the notebook process never holds them.
        "files": {k: np.frombuffer(v, dtype=np.uint8) for k, v in files.items()},
        "env": {"CONVCOURSE_STUDENT_ID": task.student_id, "CONVCOURSE_LANG": lang},
    }
    record = None
    error = ""
    for attempt in range(2):
        try:
            if not sandbox.alive():
                sandbox.start()
            record = sandbox.run(request, cases, task.limits)
            break
        except (SandboxError, RuntimeError) as exc:
            error = str(exc)
            sandbox.close()
            record = None
            if attempt == 1:
                break
    if record is None:
        results = [
            judge_test_cell(
                g,
                nb_spec.cell(g).points,
                cases,
                f"not graded: the grader's sandbox failed ({error})",
            )
            for g in nb_spec.tests
        ]
        return "crashed", f"{_SANDBOX_FAILED}: {error}", results, {}, None
    status, detail, results, outputs = _interpret(task, nb_spec, plan, cases, record)
    detail = "; ".join(d for d in (detail, *file_notes) if d)
    if prelude is not None:  # the zygote ran these cells: their outputs are the same for all
        steps = [s for s in plan.steps if s.get("prelude")]
        for step, done in zip(steps, prelude, strict=False):
            outputs.setdefault(step["i"], done)
    return status, detail, results, outputs, record


def _interpret(task, nb_spec, plan, cases, record: RunRecord):
    frames = [f for _, f in record.frames if isinstance(f, dict)]
    outputs: dict[int, dict] = {}
    current = None
    ended = False
    memory_cell = None
    unstarted: dict = {}  # test steps whose probe could not be forked
    for frame in frames:
        kind = frame.get("t")
        if kind == protocol.START:
            current = frame.get("i")
        elif kind == protocol.CELL and isinstance(frame.get("i"), int):
            outputs.setdefault(frame["i"], frame)
            error = str(frame.get("error") or "")
            if memory_cell is None and any(w in error for w in _MEMORY_WORDS):
                memory_cell = frame["i"]
            current = None
        elif kind == protocol.BEGIN:
            current = ("test", frame.get("step"))
            if frame.get("error"):
                unstarted[frame.get("step")] = str(frame["error"])[:200]
        elif kind == protocol.END:
            ended = True
    exit_info = record.exit or {}
    where = _where(plan, current)
    limits = task.limits
    memory = record.memory or {}
    if record.protocol_error:
        status, detail = "crashed", f"{record.protocol_error}{where}"
    elif memory.get("oom_kills"):
        status = "memory"
        detail = f"killed for using more than its {limits.memory_mb} MB of memory{where}"
    elif exit_info.get("timed_out"):
        status, detail = "timeout", f"timed out after {limits.timeout_s:g} s{where}"
    elif exit_info.get("signal") == 24:  # SIGXCPU
        status, detail = "timeout", f"used more than its CPU time limit{where}"
    elif not ended:
        sig, code = exit_info.get("signal"), exit_info.get("exit_code")
        if exit_info.get("error"):
            status, detail = "crashed", f"the grader's sandbox failed: {exit_info['error']}"
        elif sig == 9 and memory_cell is None and _near_memory_limit(exit_info, limits):
            status, detail = "memory", f"killed for using too much memory{where}"
        elif sig:
            name = {9: "SIGKILL", 11: "SIGSEGV", 6: "SIGABRT", 7: "SIGBUS"}.get(sig, "")
            status, detail = "crashed", f"the notebook's process was killed by signal {sig}"
            detail += f" ({name}){where}" if name else where
        elif code in _WORKER_EXITS:
            # The grader's own code in the notebook process failed: not the student's doing.
            status = "crashed"
            detail = f"{_SANDBOX_FAILED}: {_WORKER_EXITS[code]} (exit code {code}){where}"
        else:
            status, detail = (
                "crashed",
                f"the notebook ended its own process (exit code {code}){where}",
            )
    elif memory_cell is not None:
        status = "memory"
        detail = f"ran out of memory (limit {limits.memory_mb} MB) in cell {memory_cell + 1}"
    else:
        status, detail = "graded", ""
    not_run = f"not run: {detail}" if detail else "not run"
    results = []
    for grade_id in nb_spec.tests:
        why = not_run
        if grade_id in record.probes and grade_id not in cases.tests:
            why = "the test's process ended before it answered" + (f" ({detail})" if detail else "")
        elif grade_id in unstarted:
            why = f"the test could not start ({unstarted[grade_id]}): too many processes"
        results.append(judge_test_cell(grade_id, nb_spec.cell(grade_id).points, cases, why))
    return status, detail, results, outputs


def _near_memory_limit(exit_info: dict, limits: Limits) -> bool:
    """Whether a SIGKILL looks like the kernel's out-of-memory killer (a large resident set)."""
    rss_mb = (exit_info.get("maxrss_kb") or 0) / 1024
    return rss_mb > 0.8 * limits.memory_mb


def _needs_timing(nb_spec: NotebookSpec) -> bool:
    return any(speed_level(c.exercise) for calls in nb_spec.tests.values() for c in calls)


def needs_timing(spec: AssignmentSpec) -> bool:
    """Whether the assignment has speed checks (the grader then calibrates its clock)."""
    return any(_needs_timing(nb) for nb in spec.notebooks.values())


def _where(plan, current) -> str:
    if current is None:
        return ""
    if isinstance(current, tuple):
        return f" in test cell {current[1]}"
    return f" in cell {current + 1}"


def grader_failure(
    task: GradeTask, exc: BaseException, what: str = "the grader failed"
) -> TaskOutcome:
    """An outcome for a submission the grader itself failed on (retried by the next run)."""
    detail = f"{what}: {type(exc).__name__}: {str(exc)[:500]}"
    result = results_file.build(
        assignment_id=task.spec.assignment_id,
        student_id=task.student_id,
        status="crashed",
        status_detail=detail[:2000],
        score=0.0,
        max_score=task.spec.auto_max_score,
        notebooks={},
        evidence=[],
        duration_s=0.0,
        submission_hash=task.submission_hash,
        spec_fingerprint=task.spec.fingerprint,
        sandboxed=task.sandboxed,
        timestamp=task.timestamp,
        grader_error=True,
    )
    grades = {name: {"missing": True} for name in task.spec.notebooks}
    return TaskOutcome(result, {}, grades)


# ------------------------------------------------------------------------- on a Dask worker

_local = threading.local()


def run_on_worker(task: GradeTask, preload: tuple[str, ...]) -> TaskOutcome:
    """Grade ``task`` with this worker thread's sandbox (started on first use, then reused)."""
    sandbox = getattr(_local, "sandbox", None)
    prelude = task.spec.prelude()
    key = (task.sandboxed, preload, prelude)
    if sandbox is None or getattr(_local, "key", None) != key:
        if sandbox is not None:
            sandbox.close()
        sandbox = Sandbox(sandboxed=task.sandboxed, preload=preload, prelude=prelude)
        sandbox.start()
        _local.sandbox, _local.key = sandbox, key
    return grade_submission(task, sandbox)
