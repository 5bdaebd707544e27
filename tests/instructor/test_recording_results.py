"""``convcourse.instructor.recording.results``: the one definition of the results file."""

from __future__ import annotations

import json

import pytest

from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.recording import results

A, S = "02_cross_correlation", "alice"


def _result(**over) -> dict:
    args = dict(
        assignment_id=A,
        student_id=S,
        status="graded",
        status_detail="",
        score=3.0000001234,
        max_score=5.0,
        notebooks={
            f"{A}.ipynb": {
                "cells": [
                    {"grade_id": "test-corr2d", "withheld": True},
                    {"grade_id": "test-output-shape"},
                ]
            }
        },
        evidence=[{"kind": "static", "cell": 3, "line": 1, "what": "imports ctypes"}],
        duration_s=1.23456,
        submission_hash="h1",
        spec_fingerprint="f1",
        sandboxed=True,
        timestamp=None,
    )
    args.update(over)
    return results.build(**args)


@pytest.fixture
def layout(tmp_path) -> CourseLayout:
    return CourseLayout.load(tmp_path)


def test_build_has_every_documented_key_and_lists_withheld_cells():
    r = _result()
    documented = {
        "schema", "assignment_id", "student_id", "status", "status_detail", "score",
        "max_score", "notebooks", "evidence", "withheld", "duration_s", "graded_at",
        "sandboxed", "submission_hash", "spec_fingerprint", "grader_version", "timestamp",
        "timestamp_source", "late",
    }  # fmt: skip
    assert set(r) == documented  # grader_error only when true
    assert r["schema"] == results.SCHEMA and r["grader_version"] == results.GRADER_VERSION
    assert r["withheld"] == ["test-corr2d"]
    assert r["score"] == 3.0 and r["duration_s"] == 1.235
    assert _result(grader_error=True)["grader_error"] is True


def test_every_key_the_docstring_names_is_one_build_writes():
    doc = results.__doc__
    for key in _result(grader_error=True):
        assert f"``{key}``" in doc, key


def test_worst_status_wins_and_keeps_every_detail():
    assert results.worst([("graded", ""), ("timeout", "cell 4"), ("invalid", "bad json")]) == (
        "timeout",
        "cell 4; bad json",
    )
    assert results.worst([]) == ("missing", "the assignment has no notebooks")
    assert list(results.STATUSES)[0] == "graded"


def test_write_then_read_round_trips_and_leaves_no_temporary_file(layout):
    r = _result(status_detail="naïve — ünïcode")
    path = results.write(layout, r)
    assert path == layout.results_file(A, S)
    data, why = results.read(path, S, A)
    assert why == "" and data == json.loads(results.text(r))
    assert [p.name for p in path.parent.iterdir()] == [f"{S}.json"]
    assert results.read_all(layout, A) == {S: (data, "")}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"schema": 1}), "schema 1, expected 2"),
        (json.dumps({"schema": 2, "student_id": "bob"}), "for student 'bob'"),
        (json.dumps({"schema": 2, "assignment_id": "other"}), "for assignment 'other'"),
    ],
)
def test_an_unusable_file_is_refused_with_its_reason(layout, content, why):
    path = layout.results_file(A, S)
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    data, reason = results.read(path, S, A)
    assert data is None and why in reason
    assert not results.up_to_date(layout, A, S, "h1", "f1")


def test_missing_file_is_not_graded_yet(layout):
    assert results.read(layout.results_file(A, S), S, A) == (None, "not graded yet")


def test_up_to_date_only_for_the_same_submission_spec_grader_and_no_grader_error(layout):
    results.write(layout, _result())
    assert results.up_to_date(layout, A, S, "h1", "f1")
    assert not results.up_to_date(layout, A, S, "h2", "f1")  # the submission changed
    assert not results.up_to_date(layout, A, S, "h1", "f2")  # the instructor notebook changed
    results.write(layout, _result(grader_error=True))
    assert not results.up_to_date(layout, A, S, "h1", "f1")
    stale = _result()
    stale["grader_version"] = "1"
    results.write(layout, stale)
    assert not results.up_to_date(layout, A, S, "h1", "f1")


def test_text_refuses_what_cannot_be_stored():
    with pytest.raises(UnicodeEncodeError):
        results.text(_result(status_detail="\ud800"))


def test_read_all_skips_temporary_files(layout):
    results.write(layout, _result())
    (layout.results_dir(A) / ".alice.json.tmp.json").write_text("{", encoding="utf-8")
    assert set(results.read_all(layout, A)) == {S}
