"""Evidence and free points: what the static scan and the run found, applied to test results.

``scan`` runs the grader's static analysis (``scan.py``) on a planned submission;
``apply_evidence`` turns its report and the run's own evidence into results: an answer that
reaches forbidden code earns nothing; tests that ran after evidence of tampering are withheld
for the instructor's review (SECURITY.md says why and how).
"""

from __future__ import annotations

import dataclasses

from convcourse.instructor.authoring.spec import NotebookSpec
from convcourse.instructor.judging.verdicts import CellResult
from convcourse.instructor.sandbox.inside import protocol

__all__ = ["scan", "apply_evidence", "answer_id"]


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def scan(plan, nb_spec: NotebookSpec):
    """The static analysis of the submitted code (scan.py), outside the sandbox."""
    from convcourse.instructor.authoring.spec import all_exercises
    from convcourse.instructor.judging.scan import ScanCell, ScanReport, Target, scan_submission

    released = {_normal(text) for text in nb_spec.released_code}
    cells = [
        ScanCell(step["i"], step["source"], _normal(step["source"]) in released)
        for step in plan.steps
        if step["kind"] == "code"
    ]
    positions = {step["step"]: step["i"] for step in plan.steps if step["kind"] == "test"}
    exercises = all_exercises()
    targets = []
    for grade_id, calls in nb_spec.tests.items():
        if grade_id not in positions:
            continue
        for call in calls:
            forbids = frozenset(getattr(exercises.get(call.exercise), "forbids", ()) or ())
            targets.append(Target(call.exercise, tuple(call.args), positions[grade_id], forbids))
    try:
        return scan_submission(cells, targets)
    except Exception as exc:  # noqa: BLE001 - code the analysis cannot read is itself evidence
        from convcourse.instructor.judging.scan import Finding

        what = f"the grader could not analyse the code ({type(exc).__name__}: {exc})"[:300]
        import traceback

        _log_scan_failure(traceback.format_exc())
        return ScanReport([Finding(cells[0].index if cells else 0, None, "tampering", what)], {})


def _log_scan_failure(text: str) -> None:
    """The traceback of a scan that failed, for whoever debugs the grader (stderr)."""
    import sys

    print(f"convcourse: the static scan failed:\n{text}", file=sys.stderr)


def apply_evidence(results: list[CellResult], nb_spec: NotebookSpec, plan, report, record):
    """Test results after the evidence: answers that use forbidden code earn nothing; tests
    that ran after tampering are withheld for the instructor's review.  Returns the new
    results and the evidence as plain data for the results file."""
    positions = {step["step"]: step["i"] for step in plan.steps if step["kind"] == "test"}
    found: list[dict] = []
    tampering = list(report.tampering) if report is not None else []
    for f in tampering:
        found.append({"kind": "static", "cell": f.cell, "line": f.line, "what": f.what})
    runtime: dict = {}
    for entry in (record.evidence if record is not None else []) or []:
        step = entry.get("step")
        found.append({"kind": "runtime", "step": step, "what": entry.get("what")})
        runtime.setdefault(step, []).append(str(entry.get("what")))
    first = report.first_tampering_cell() if report is not None else None
    out = []
    for result in results:
        position = positions.get(result.grade_id)
        reasons: list[str] = []
        if first is not None and position is not None and position > first:
            reasons += [f"cell {f.cell + 1}: {f.what}" for f in tampering if f.cell < position][:5]
        reasons += runtime.get(result.grade_id, [])
        if None in runtime and result.ran:
            reasons += runtime[None]
        env = _env_evidence(result, record)
        reasons += env
        found += [{"kind": "runtime", "step": result.grade_id, "what": w} for w in env]
        forbidden = _forbidden(result, nb_spec, report)
        if reasons:
            result = dataclasses.replace(
                result,
                points=0.0,
                passed=False,
                misconception="withheld",
                message=f"{result.exercise}: points withheld for the instructor's review: "
                + "; ".join(dict.fromkeys(reasons)),
                withheld=True,
                evidence=list(dict.fromkeys(reasons)),
            )
        elif forbidden:
            result = dataclasses.replace(
                result,
                points=0.0,
                passed=False,
                misconception=forbidden[0][0],
                message=f"{result.exercise}: earns no points: "
                + "; ".join(dict.fromkeys(w for _, w in forbidden))
                + ". The exercise asks you to write this yourself (see its rules).",
            )
        out.append(result)
    return out, found


def _forbidden(result: CellResult, nb_spec: NotebookSpec, report) -> list[tuple[str, str]]:
    """(misconception, sentence) for every forbidden reference of the cell's exercises."""
    if report is None:
        return []
    from convcourse.checks.rules import MISCONCEPTIONS as keys

    out = []
    for call in nb_spec.tests.get(result.grade_id, []):
        for f in report.forbidden.get(call.exercise, []):
            where = f"cell {f.cell + 1}" + (f", line {f.line}" if f.line else "")
            out.append((keys.get(f.rule, f.rule), f"{f.what} ({where})"))
    return out


def _env_evidence(result: CellResult, record) -> list[str]:
    """What the test's probe found changed in the interpreter before it probed."""
    if record is None:
        return []
    probe = record.probes.get(result.grade_id)
    if probe is None:
        return []
    for _, frame in probe.frames:
        if isinstance(frame, dict) and frame.get("t") == protocol.TEST:
            env = frame.get("env")
            if isinstance(env, list):
                return [f"before the test ran, {str(w)[:200]}" for w in env[:5]]
    return []


def answer_id(nb_spec: NotebookSpec, test_grade_id: str) -> str | None:
    cell = nb_spec.answer_cell(test_grade_id)
    return cell.grade_id if cell is not None else None
