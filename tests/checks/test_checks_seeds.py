"""Per-student seeds: hidden cases differ between students, are reproducible, and stay apart
from the visible ones."""

from __future__ import annotations

import pytest
import torch

from convcourse.checks import EXERCISES, GRADED_EXERCISES, student_seed
from convcourse.checks.seeds import DEFAULT_SEED, ENV_SALT, ENV_STUDENT, student_id


def _fingerprint(cases) -> str:
    def plain(v):
        if isinstance(v, torch.Tensor):
            return (str(v.dtype), v.tolist())
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in sorted(v.items())}
        return v

    return repr([(c.kind, plain(c.data)) for c in cases])


@pytest.fixture(autouse=True)
def no_student(monkeypatch):
    monkeypatch.delenv(ENV_STUDENT, raising=False)
    monkeypatch.delenv(ENV_SALT, raising=False)


def test_seed_from_environment_variable(monkeypatch):
    monkeypatch.setenv(ENV_STUDENT, "alice")
    alice = student_seed()
    monkeypatch.setenv(ENV_STUDENT, "bob")
    bob = student_seed()
    monkeypatch.setenv(ENV_STUDENT, "alice")
    assert student_seed() == alice != bob
    assert isinstance(alice, int) and 0 <= alice < 2**32


def test_seed_from_the_autograded_folder(tmp_path, monkeypatch):
    folder = tmp_path / "course" / "autograded" / "alice" / "02_cross_correlation"
    folder.mkdir(parents=True)
    assert student_id(folder) == "alice"
    from_folder = student_seed(folder)
    monkeypatch.chdir(folder)
    assert student_seed() == from_folder
    monkeypatch.setenv(ENV_STUDENT, "alice")
    assert student_seed(tmp_path) == from_folder  # same student, same seed, either way


def test_seed_changes_with_the_instructor_salt(monkeypatch):
    monkeypatch.setenv(ENV_STUDENT, "alice")
    plain = student_seed()
    monkeypatch.setenv(ENV_SALT, "s3cret")
    assert student_seed() != plain


def test_default_seed_outside_autograding(tmp_path):
    assert student_id(tmp_path) is None
    assert student_seed(tmp_path) == DEFAULT_SEED
    # A folder named autograded without a student and assignment below it is not enough.
    (tmp_path / "autograded").mkdir()
    assert student_seed(tmp_path / "autograded") == DEFAULT_SEED


ALL = GRADED_EXERCISES


@pytest.mark.parametrize("exercise_id", sorted(ALL))
def test_hidden_cases_depend_on_the_seed_and_are_reproducible(exercise_id):
    ex = ALL[exercise_id]
    prints = [_fingerprint(ex.cases(seed, hidden=True)) for seed in range(1, 6)]
    assert prints[0] == _fingerprint(ex.cases(1, hidden=True))
    assert len(set(prints)) >= 4  # small integer draws may coincide now and then
    assert all("hidden" in c.tags for c in ex.cases(1, hidden=True))


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_visible_cases_are_fixed_and_differ_from_hidden(exercise_id):
    ex = EXERCISES[exercise_id]
    visible = _fingerprint(ex.cases())
    assert visible == _fingerprint(ex.cases(123)) == _fingerprint(ex.cases(None, hidden=False))
    assert visible != _fingerprint(ex.cases(1, hidden=True))


def test_visible_cases_hold_the_lessons_worked_example():
    cases = EXERCISES["corr2d"].cases()
    example = [c for c in cases if c.kind == "lesson_example"][0]
    assert example.data["X"].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert example.data["K"].tolist() == [[0, 1], [2, 3]]
    edge = [c for c in cases if c.kind == "lesson_edge"][0]
    assert tuple(edge.data["X"].shape) == (6, 8)


def test_correlation_cases_cover_the_geometry():
    for hidden in (False, True):
        cases = EXERCISES["corr2d"].cases(9, hidden=hidden)
        shapes = [(tuple(c.data["X"].shape), tuple(c.data["K"].shape)) for c in cases]
        assert any(k == (1, 1) for _, k in shapes)
        assert any(x == k for x, k in shapes)
        assert any(x[0] != x[1] for x, _ in shapes)
        assert any(k[0] != k[1] for _, k in shapes)
        assert any(not c.data["X"].is_floating_point() for c in cases)
        assert any(x[0] * x[1] > 100 for x, _ in shapes)
        sizes = [c.size() for c in cases]
        assert sizes == sorted(sizes)


def test_hidden_run_uses_student_seed(monkeypatch):
    from checks_impls import corr2d_loop

    monkeypatch.setenv(ENV_STUDENT, "carol")
    outcome = EXERCISES["corr2d"].run({"corr2d": corr2d_loop}, hidden=True)
    expected = _fingerprint(EXERCISES["corr2d"].cases(student_seed(), hidden=True))
    assert _fingerprint(outcome.cases) == expected
