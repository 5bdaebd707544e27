"""Recording outcomes never aborts a batch: a gradebook that refuses one student, a full disk.

Two honest submissions of lesson 02, graded by the real CLI in the sandbox; the failures are
injected where the grader writes.
"""

from __future__ import annotations

import errno
import json

import pytest
from course_builders import ASSIGNMENT, make_course, submit
from grading_corpus import dumps, honest_notebook


@pytest.fixture
def course(tmp_path, sandbox_available, lesson_spec):
    spec, _ = lesson_spec
    root = make_course(tmp_path / "course")
    nb = honest_notebook(spec, root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for student in ("alice", "bob"):
        submit(root, student, {f"{ASSIGNMENT}.ipynb": dumps(nb)})
    return root


def _grade(root, *extra) -> int:
    from convcourse.instructor import cli

    return cli.main(["autograde", ASSIGNMENT, "--course", str(root), "--workers", "1", *extra])


def _results(root, student) -> dict:
    path = root / ".grading" / "results" / ASSIGNMENT / f"{student}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_gradebook_that_refuses_one_student_stops_only_that_one(course, monkeypatch):
    from convcourse.instructor.recording import gradebook

    real = gradebook.GradebookWriter.record

    def record(self, spec, student_id, grades, timestamp=None):
        if student_id == "bob":
            raise RuntimeError("the gradebook refused bob")
        return real(self, spec, student_id, grades, timestamp)

    monkeypatch.setattr(gradebook.GradebookWriter, "record", record)
    assert _grade(course) == 1
    assert _results(course, "alice")["status"] == "graded"
    bob = _results(course, "bob")
    assert bob["status"] == "crashed" and bob["grader_error"] is True
    assert "the gradebook refused this submission" in bob["status_detail"]
    monkeypatch.setattr(gradebook.GradebookWriter, "record", real)
    # The next run retries the grader's failure, and only it.
    assert _grade(course) == 0
    assert _results(course, "bob")["status"] == "graded"


def test_a_full_disk_is_one_clear_line_and_exit_1(course, monkeypatch, capsys):
    from convcourse.instructor.recording import autograded

    def full(path, text, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # The first thing written for a submission: its autograded notebook.
    monkeypatch.setattr(autograded, "write_atomic", full)
    code = _grade(course)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert [line for line in err if "Traceback" in line] == []
    assert any("no space left on the disk" in line for line in err), err
    monkeypatch.undo()
    assert _grade(course) == 0  # once there is room, the same command finishes the batch
