"""Every instructor notebook runs from top to bottom, fast, with its checked outputs unchanged.

nbval runs in lax mode: every cell must run without error, and the cells marked
``# NBVAL_CHECK_OUTPUT`` (deterministic, seeded output) must reproduce the text output stored in
the instructor notebook, after the sanitizers of ``nbval_sanitize.cfg`` (addresses, timings,
devices, temporary paths).  Outputs of the other cells (figures, timings, widgets) are not
compared.  The hidden tests run too, with the default seed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from course_facts import INDEX, LESSONS, ROOT, SOLUTIONS, source_path, tool_env

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
# The budget: all notebooks together in under two minutes on two CPU cores.
BUDGET_S = 120


def run_nbval(paths: list[Path]) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--nbval-lax",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(SANITIZE),
        "--durations=8",
        *map(str, paths),
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=10 * BUDGET_S
    )
    return proc, time.perf_counter() - start


@pytest.mark.slow
def test_all_instructor_notebooks_run_clean_within_the_budget():
    paths = [SOLUTIONS / INDEX] + [source_path(lesson) for lesson in LESSONS]
    proc, seconds = run_nbval(paths)
    report = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, report
    assert " passed" in proc.stdout and "failed" not in proc.stdout, report
    print(f"nbval on {len(paths)} notebooks: {seconds:.1f} s\n{report}")
    assert seconds < BUDGET_S, f"the notebooks took {seconds:.0f} s (budget {BUDGET_S} s)"


@pytest.mark.slow
def test_checked_outputs_are_compared_and_sanitized(tmp_path):
    # The strict part must be able to fail, and the sanitizers must forgive what changes by
    # itself: run nbval with the same options on a notebook built for the purpose.
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    def checked(source, printed):
        cell = new_code_cell("# NBVAL_CHECK_OUTPUT\n" + source, execution_count=1)
        cell.outputs = [new_output("stream", name="stdout", text=printed)]
        return cell

    nb = new_notebook(
        cells=[
            checked("print(1 + 1)", "3\n"),
            checked(
                "print('took 12.5 ms, object at 0x7f00deadbeef')",
                "took 3 ms, object at 0x7f11aaaa0000\n",
            ),
            new_code_cell("print('not checked')"),
        ]
    )
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    proc, _ = run_nbval([path])
    out = proc.stdout
    assert proc.returncode != 0, out
    assert "1 failed, 2 passed" in out, out
    assert "Cell 0" in out and "3" in out
