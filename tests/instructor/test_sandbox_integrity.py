"""``convcourse.instructor.sandbox.inside.integrity``: the snapshot covers every check module."""

from __future__ import annotations

import sys

import convcourse.checks  # noqa: F401 - loads every check module, as the zygote does
from convcourse.instructor.sandbox.inside import integrity


def test_every_loaded_module_of_the_course_is_watched():
    snapshot = integrity.take()
    course = [n for n in sys.modules if n == "convcourse" or n.startswith("convcourse.checks")]
    assert "convcourse.checks.correlation" in course and "convcourse.checks.signals" in course
    assert set(course) <= set(snapshot.modules)


def test_a_patched_function_of_a_new_check_module_is_reported(monkeypatch):
    from convcourse.checks import correlation, signals

    snapshot = integrity.take()
    assert integrity.check(snapshot) == []
    monkeypatch.setattr(correlation, "probe_correlation", lambda *a, **k: {"forged": True})
    monkeypatch.setattr(signals, "check_corr1d", lambda *a, **k: None)
    found = integrity.check(snapshot)
    assert "convcourse.checks.correlation.probe_correlation was replaced or removed" in found
    assert "convcourse.checks.signals.check_corr1d was replaced or removed" in found


def test_a_changed_entry_of_the_exercise_registry_is_reported(monkeypatch):
    import dataclasses

    from convcourse import checks

    snapshot = integrity.take()
    forged = dataclasses.replace(checks.EXERCISES["corr2d"], probe_case=lambda *a: {})
    monkeypatch.setitem(checks.GRADED_EXERCISES, "corr2d", forged)
    object.__setattr__(checks.EXERCISES["convolve2d"], "judge_case", lambda *a: None)
    try:
        found = integrity.check(snapshot)
    finally:
        object.__setattr__(
            checks.EXERCISES["convolve2d"],
            "judge_case",
            snapshot.registries["EXERCISES"][2]["convolve2d"]["judge_case"],
        )
    assert "the exercise 'corr2d' of convcourse.checks.GRADED_EXERCISES was changed" in found
    assert "the exercise 'convolve2d' of convcourse.checks.EXERCISES was changed" in found
    monkeypatch.setitem(checks.EXERCISES, "extra", forged)
    assert any("EXERCISES was replaced or changed" in f for f in integrity.check(snapshot))
