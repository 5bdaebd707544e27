"""The command line: help everywhere, exit codes, and a batch that is killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from course_builders import ASSIGNMENT, REPO, make_course, submit

from convcourse.instructor.cli import COMMANDS, main

sys.path.insert(0, str(REPO / "benchmarks"))
import grading_throughput  # noqa: E402


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: convcourse {command}" in text and len(text) > 200


def test_top_level_help_shows_the_round(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for command in ("release", "ingest", "autograde", "feedback", "export", "report"):
        assert f"convcourse {command}" in text
    assert "exit codes" in text


def test_usage_errors_exit_with_2(tmp_path, capsys):
    root = make_course(tmp_path / "course")
    assert main(["autograde", "no_such_lesson", "--course", str(root), "--no-sandbox"]) == 2
    assert "unknown assignment 'no_such_lesson'" in capsys.readouterr().err
    assert main(["autograde", ASSIGNMENT, "--course", str(root), "--workers", "0"]) == 2
    assert main(["autograde", ASSIGNMENT, "--course", str(tmp_path / "nope")]) == 2
    assert main(["ingest", ASSIGNMENT, str(tmp_path / "missing.zip"), "--course", str(root)]) == 2
    submit(root, "alice", {"x.txt": b""})
    code = main(
        ["autograde", ASSIGNMENT, "--course", str(root), "--student", "bob", "--no-sandbox"]
    )
    assert code == 2 and "no submission of" in capsys.readouterr().err


def _batch_course(root: Path, n: int) -> Path:
    make_course(root)
    nb = grading_throughput.honest_notebook(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for student, data in grading_throughput.make_batch(nb, n, seed=7).items():
        submit(root, student, {f"{ASSIGNMENT}.ipynb": data})
    return root


def _cli(root: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "convcourse.instructor.cli",
        "autograde",
        ASSIGNMENT,
        "--course",
        str(root),
        "--workers",
        "2",
        "--no-progress",
        *extra,
    ]


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _gradebook(root: Path) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            out[sub.student.id] = {
                g.name: (g.auto_score, g.needs_manual_grade) for g in sub.notebooks[0].grades
            }
    return out


def _results(root: Path) -> dict:
    folder = root / ".grading" / "results" / ASSIGNMENT
    out = {}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        out[path.stem] = (
            data["status"],
            data["score"],
            [(c["grade_id"], c["points"]) for c in data["notebooks"][ASSIGNMENT]["cells"]],
        )
    return out


def _events(root: Path) -> list[dict]:
    path = root / ".grading" / "journal" / f"{ASSIGNMENT}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _sandbox_processes() -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    uid = next(int(x.split()[1]) for x in f if x.startswith("Uid:"))
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read()
            except (OSError, StopIteration):
                continue
            if uid >= 2**20 or b"convcourse-grader/worker.py" in cmd:
                found.append(entry)
    return found


N = 10


def test_killed_mid_batch_it_resumes_to_the_same_gradebook(sandbox_available, tmp_path):
    reference = _batch_course(tmp_path / "reference", N)
    run = subprocess.run(_cli(reference), env=_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{N} graded" in run.stdout

    crashed = _batch_course(tmp_path / "crashed", N)
    proc = subprocess.Popen(
        _cli(crashed),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if sum(e["event"] == "graded" for e in _events(crashed)) >= 3:
            break
        assert proc.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the grader and everything it started
    proc.wait()
    graded_before = sum(e["event"] == "graded" for e in _events(crashed))
    assert 3 <= graded_before < N
    time.sleep(1)
    assert _sandbox_processes() == []  # the sandboxes died with the grader

    resumed = subprocess.run(_cli(crashed), env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    starts = [e for e in _events(crashed) if e["event"] == "batch-start"]
    assert starts[-1]["skipped"] >= graded_before - 1  # at most the one cut mid-write redone
    assert _gradebook(crashed) == _gradebook(reference)
    assert _results(crashed) == _results(reference)

    again = subprocess.run(_cli(crashed), env=_env(), capture_output=True, text=True)
    assert again.returncode == 0 and f"{N} unchanged (skipped)" in again.stdout


def test_regrading_one_student_is_one_command(sandbox_available, tmp_path):
    root = _batch_course(tmp_path / "course", 3)
    assert subprocess.run(_cli(root), env=_env(), capture_output=True).returncode == 0
    before = _gradebook(root)
    path = root / "submitted" / "s001" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "corr2d":
            cell["source"] = "def corr2d(X, K):\n    return X\n"
    path.write_text(json.dumps(nb))
    run = subprocess.run(
        _cli(root, "--student", "s001"), env=_env(), capture_output=True, text=True
    )
    assert run.returncode == 0 and "1 graded" in run.stdout  # the changed submission only
    after = _gradebook(root)
    assert after["s001"]["test-corr2d"] == (0.0, False)
    assert {k: v for k, v in after.items() if k != "s001"} == {
        k: v for k, v in before.items() if k != "s001"
    }
    forced = subprocess.run(
        _cli(root, "--student", "s000", "--force"), env=_env(), capture_output=True, text=True
    )
    assert forced.returncode == 0 and "1 graded" in forced.stdout
    assert _gradebook(root) == after
