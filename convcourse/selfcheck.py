"""Check every lesson the way the grader runs it: ``python3 course.py check``.

Each lesson notebook of ``notebooks/`` runs from top to bottom in a fresh kernel (the course's
kernel, *Python 3 (convcourse)*, in the lesson's folder, as nbgrader runs it), and each graded
test cell (nbgrader metadata: ``grade`` set, not an answer cell) is classified:

- **passed**: the cell ran without an error;
- **not yet written**: the answer it tests still raises ``NotImplementedError`` (or the check
  says so: its verdict is ``not_implemented``);
- **failing**: any other error; the check's one-line reason is shown.

One lesson that cannot run (unreadable file, a kernel that dies) does not stop the others.  The
visible tests are the ones in the notebook; the grader also runs hidden tests with other inputs,
so passing here is necessary for the points, not a promise of them.  Nothing here knows an
answer: it only runs the notebooks and reads their errors.

    python -m convcourse.selfcheck                 # every lesson of notebooks/
    python -m convcourse.selfcheck 02_cross_correlation --timeout 300 --json results.json

Exit status: 0 when every lesson could be run or reported (whatever the results), 1 when the
tool itself failed (no lessons found, the course's kernel is not installed), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from convcourse.editions import DEFAULT, EDITIONS, kernel_name, language_of_kernel

__all__ = [
    "PASSED",
    "FAILING",
    "NOT_WRITTEN",
    "TestResult",
    "LessonResult",
    "graded_tests",
    "lesson_notebooks",
    "classify",
    "run_lesson",
    "report",
    "main",
]

PASSED, FAILING, NOT_WRITTEN = "passed", "failing", "not yet written"
KERNEL_NAME = kernel_name(DEFAULT)  # registered by `course.py setup`
NOT_IMPLEMENTED = "not_implemented"  # the checks' verdict for an answer still being a stub
# Asked of the kernel right after a test cell failed: the check's verdict, if it was a check.
_VERDICT_QUERY = "getattr(getattr(__import__('sys'), 'last_value', None), 'misconception', None)"
_REASON_CHARS = 160


@dataclass
class TestResult:
    """One graded test cell: its grade id, points, status and (when failing) the reason."""

    grade_id: str
    points: float
    status: str = FAILING
    reason: str = ""


@dataclass
class LessonResult:
    """The tests of one lesson notebook, or why the notebook could not be run."""

    lesson: str
    tests: list[TestResult] = field(default_factory=list)
    problem: str = ""
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tests)


def lesson_notebooks(notebooks: Path, only: list[str] | None = None) -> list[Path]:
    """The lessons: every folder ``<id>/`` of ``notebooks`` holding ``<id>.ipynb``, sorted."""
    found = sorted(
        p / f"{p.name}.ipynb"
        for p in Path(notebooks).iterdir()
        if (p / f"{p.name}.ipynb").is_file()
    )
    if only:
        unknown = sorted(set(only) - {p.parent.name for p in found})
        if unknown:
            names = ", ".join(p.parent.name for p in found) or "none"
            raise SystemExit(f"no such lesson: {', '.join(unknown)} (lessons: {names})")
        found = [p for p in found if p.parent.name in only]
    return found


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def graded_tests(nb) -> dict[int, TestResult]:
    """Cell index -> result slot for each graded test cell (graded code, not an answer cell)."""
    tests = {}
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            name = str(meta.get("grade_id") or f"cell {index}")
            name = name.removeprefix("test-")
            tests[index] = TestResult(name, float(meta.get("points") or 0))
    return tests


def _one_line(text: str) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"


def classify(outputs: list, verdict: str | None = None) -> tuple[str, str]:
    """(status, reason) of a test cell from its outputs and the check's verdict key, if any.

    A check's error message starts with ``✗ <exercise>:`` and its verdict's title
    (``Wrong values  [wrong_values]``): the title is the reason shown.
    """
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return PASSED, ""
    ename, evalue = str(errors[-1].get("ename", "")), str(errors[-1].get("evalue", ""))
    if ename == "NotImplementedError" or verdict == NOT_IMPLEMENTED:
        return NOT_WRITTEN, ""
    if verdict is None and f"[{NOT_IMPLEMENTED}]" in evalue:  # the check's text says it
        return NOT_WRITTEN, ""
    line = _one_line(evalue)
    if line.startswith("✗") and ":" in line:
        return FAILING, line.split(":", 1)[1].strip() or ename
    return FAILING, f"{ename}: {line}" if line else ename


def _cell_error(cell, index: int) -> str:
    """A sentence for the first error of a cell that is not a test (often the cause of the
    failing tests below it), or ''; cells are counted from 1 at the top, markdown included.
    NotImplementedError is no error here: an answer not written yet, or a cell that uses it."""
    for out in cell.outputs:
        if out.get("output_type") == "error":
            ename = str(out.get("ename", ""))
            if ename == "NotImplementedError":
                return ""
            line = _one_line(out.get("evalue", ""))
            return f"cell {index + 1} (not a test) raised {ename}" + (f": {line}" if line else "")
    return ""


def _literal(reply: dict | None) -> str | None:
    """The check's verdict key from the kernel's reply to ``_VERDICT_QUERY``."""
    try:
        found = reply["content"]["user_expressions"]["verdict"]
        value = ast.literal_eval(found["data"]["text/plain"]) if found["status"] == "ok" else None
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


async def _run(nb, tests: dict[int, TestResult], folder: Path, timeout: float) -> str:
    """Execute ``nb`` cell by cell, filling ``tests``; return a problem sentence or ''."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbclient.util import ensure_async

    # The edition's kernel (the Chinese one shows the checks' messages in Chinese); any kernel
    # that is not the course's is replaced by the English one, as the grader ignores it too.
    kernel = kernel_name(language_of_kernel(nb.metadata.get("kernelspec", {}).get("name")))
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=timeout,
        interrupt_on_timeout=True,  # a cell that hangs fails; the lesson goes on
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    done, first_error = -1, ""
    try:
        # The kernel's own log lines (its start-up warnings) are noise here: results come back
        # as messages, and a kernel that dies is reported below.
        async with client.async_setup_kernel(stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                await client.async_execute_cell(cell, index)
                done = index
                if index not in tests:
                    first_error = first_error or _cell_error(cell, index)
                    continue
                verdict = None
                if any(o.get("output_type") == "error" for o in cell.outputs):
                    msg_id = await ensure_async(
                        client.kc.execute(
                            "",
                            silent=True,
                            store_history=False,
                            user_expressions={"verdict": _VERDICT_QUERY},
                        )
                    )
                    verdict = _literal(await client.async_wait_for_reply(msg_id))
                tests[index].status, tests[index].reason = classify(cell.outputs, verdict)
    except DeadKernelError:
        problem = "the kernel stopped (out of memory, or the code ended the process)"
    except TimeoutError:
        problem = f"a cell did not finish within {timeout:g} s and could not be interrupted"
    else:
        return first_error
    for index, test in tests.items():
        if index > done:
            test.status, test.reason = FAILING, f"not run: {problem}"
    return problem


def _run_sync(coroutine):
    """``asyncio.run``, also from a thread whose event loop is already running (in a program
    that embeds this check, e.g. a test session): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="convcourse-selfcheck")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def run_lesson(path: Path, timeout: float = 120.0) -> LessonResult:
    """Run one lesson notebook in a fresh kernel and classify its graded test cells."""
    import nbformat

    result = LessonResult(path.parent.name)
    start = time.monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # any unreadable notebook: say so, go on with the others
        result.problem = f"cannot read {path.name}: {type(exc).__name__}: {_one_line(exc)}"
        return result
    tests = graded_tests(nb)
    if not tests:
        result.problem = "no graded test cells found (were they deleted?)"
    try:
        result.problem = _run_sync(_run(nb, tests, path.parent, timeout)) or result.problem
    except Exception as exc:
        from jupyter_client.kernelspec import NoSuchKernel

        if isinstance(exc, NoSuchKernel):
            raise
        result.problem = f"could not run the notebook: {type(exc).__name__}: {_one_line(exc)}"
        for test in tests.values():
            if test.status == FAILING and not test.reason:
                test.reason = "not run"
    result.tests = list(tests.values())
    result.seconds = time.monotonic() - start
    return result


def _symbol(status: str) -> str:
    return {PASSED: "✔", FAILING: "✗", NOT_WRITTEN: "·"}[status]


def lesson_lines(result: LessonResult) -> list[str]:
    """The lines printed for one lesson as soon as it has run."""
    head = (
        f"{result.lesson}: {result.count(PASSED)} passed, {result.count(FAILING)} failing, "
        f"{result.count(NOT_WRITTEN)} not yet written  ({result.seconds:.0f} s)"
    )
    lines = [head]
    if result.problem:
        lines.append(f"  ! {result.problem}")
    width = max((len(t.grade_id) for t in result.tests), default=0)
    for test in result.tests:
        line = f"  {_symbol(test.status)} {test.grade_id:<{width}}  {test.status}"
        lines.append(line + (f": {test.reason}" if test.reason else ""))
    return lines


def report(results: list[LessonResult]) -> str:
    """The closing table: one row per lesson, then the total."""
    rows = [(r.lesson, r.count(PASSED), r.count(FAILING), r.count(NOT_WRITTEN)) for r in results]
    total = ("total", *(sum(row[i] for row in rows) for i in (1, 2, 3)))
    width = max(len(row[0]) for row in [*rows, total])
    header = f"{'lesson':<{width}}  {'passed':>6}  {'failing':>7}  {'not yet written':>15}"
    lines = [header, "-" * len(header)]
    for row in [*rows, None, total]:
        if row is None:
            lines.append("-" * len(header))
            continue
        lines.append(f"{row[0]:<{width}}  {row[1]:>6}  {row[2]:>7}  {row[3]:>15}")
    failing, todo = total[2], total[3]
    if failing:
        lines.append("\nFailing tests: run that test cell in JupyterLab for the whole message.")
    if todo:
        lines.append(
            "Not yet written: replace `raise NotImplementedError()` in the answer cell above "
            "each of those tests."
        )
    if not failing and not todo:
        lines.append(
            "\nEvery visible test passes. The grader also runs hidden tests with other inputs."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m convcourse.selfcheck",
        description="Run every lesson like the grader and list its tests: passed, failing, "
        "not yet written.",
    )
    parser.add_argument("lessons", nargs="*", help="only these lessons (default: all)")
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        help="the lessons' folder (default: notebooks/, or notebooks/<lang>/ with --lang)",
    )
    parser.add_argument(
        "--lang",
        choices=sorted(EDITIONS),
        default=DEFAULT,
        help="the edition: its lessons' folder and its kernel (zh: messages in Chinese)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per cell")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.notebooks is None:
        args.notebooks = Path("notebooks") if args.lang == DEFAULT else Path("notebooks", args.lang)
    if not args.notebooks.is_dir():
        print(f"no lessons: {args.notebooks} is not a folder", file=sys.stderr)
        return 1
    paths = lesson_notebooks(args.notebooks, args.lessons)
    if not paths:
        print(f"no lesson notebooks found in {args.notebooks}", file=sys.stderr)
        return 1
    # Figures are drawn without a screen and the explorers show static pictures, as in grading.
    os.environ.setdefault("CONVCOURSE_STATIC", "1")
    print(f"Running {len(paths)} lesson(s) as the grader will (fresh kernel, top to bottom).")
    results = []
    from jupyter_client.kernelspec import NoSuchKernel

    for number, path in enumerate(paths, 1):
        print(f"[{number}/{len(paths)}] {path.parent.name} ...", flush=True)
        try:
            result = run_lesson(path, args.timeout)
        except NoSuchKernel:
            print(
                f"the course's kernel ({kernel_name(args.lang)}) is not installed: run "
                "`python3 course.py setup`",
                file=sys.stderr,
            )
            return 1
        results.append(result)
        print("\n".join(lesson_lines(result)), flush=True)
    print()
    print(report(results))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
