"""The throughput benchmark runs end to end on a small batch, and convcourse's scores equal
``nbgrader autograde``'s on every cell (a correctness test, not a timing test)."""

from __future__ import annotations

import json
import subprocess
import sys

from course_builders import REPO


def test_benchmark_runs_and_scores_equal_nbgraders(sandbox_available, tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "grading_throughput.py"),
            "--n",
            "3",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "scores: identical (3 submissions)" in run.stdout
    assert "| nbgrader autograde" in run.stdout and "| convcourse autograde" in run.stdout
    data = json.loads(out.read_text())
    assert data["n"] == 3 and data["differences"] == []
    assert data["nbgrader_s"] > 0 and data["convcourse_s"] > 0
