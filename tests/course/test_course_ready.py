"""``convcourse.lessons.ready``: a demonstration cell that needs an unwritten answer says so.

The released stubs raise ``NotImplementedError``; a cell run before its exercise's cell meets an
undefined name.  Either way one sentence names the function and the exercise instead of a
traceback, and a working answer passes silently.
"""

from __future__ import annotations

import pytest

from convcourse.lessons import ready


def stub(X, K):
    raise NotImplementedError()


def test_a_working_answer_is_ready_and_nothing_is_printed(capsys):
    assert ready("corr2d", "Exercise 2.2", lambda: [[19.0]]) is True
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "attempt, says",
    [
        (lambda: stub(1, 2), "is not written yet"),
        (lambda: corr2d(1, 2), "is not defined yet"),  # noqa: F821 -- the point of the case
    ],
    ids=["stub", "cell-not-run"],
)
def test_an_unwritten_answer_says_what_to_do_first(capsys, attempt, says):
    assert ready("corr2d", "Exercise 2.2", attempt) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "one sentence, no traceback"
    assert "your corr2d from Exercise 2.2" in out and says in out
    assert "write it first" in out and out.rstrip().endswith("then run this cell again.")
    # Where the answer comes from elsewhere (pasted from an earlier lesson), the cell says so.
    assert ready("corr2d", "lesson 2", attempt, todo="paste it into the cell above") is False
    out = capsys.readouterr().out
    assert "paste it into the cell above, then" in out and "write it" not in out


@pytest.mark.parametrize(
    "attempt, says",
    [
        (lambda: 1 / 0, "raised ZeroDivisionError: division by zero"),
        (lambda: None, "returned None"),
        (lambda: helper_of_theirs(), "raised NameError"),  # noqa: F821 -- their own bug
    ],
    ids=["raises", "returns-none", "own-name-error"],
)
def test_a_broken_answer_points_to_its_test_cell(capsys, attempt, says):
    assert ready("corr2d", "Exercise 2.2", attempt) is False
    out = capsys.readouterr().out
    assert says in out and "its test cell" in out and "not written" not in out
    assert ready("corr2d", "lesson 2", attempt, todo="paste it above") is False
    assert "paste" not in capsys.readouterr().out, "a broken answer is to be fixed, not pasted"
