"""Predict-then-run questions: a prediction is checked (right, wrong with a hint, missing,
unreadable) without ever raising or revealing the expected value, and the expected values are
the lessons' own results."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from convcourse.checks import check_prediction
from convcourse.checks.messages import TEXT_EN
from convcourse.checks.predictions import QUESTIONS

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def _said(capsys, question, value) -> str:
    assert check_prediction(question, value) is None  # nothing for the notebook to display
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "one line"
    return out


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_every_question_answers_right_wrong_missing_and_unreadable(capsys, question):
    expected = QUESTIONS[question].expected()
    assert _said(capsys, question, expected).startswith("✔ Right")
    missing = _said(capsys, question, None)
    assert missing.startswith("✎") and TEXT_EN[f"prediction.{question}.asks"] in missing
    wrong = expected[0] + 7 if isinstance(expected, tuple) else expected * 3 + 7
    if isinstance(expected, tuple):
        wrong = (wrong, expected[1])
    said = _said(capsys, question, wrong)
    assert said.startswith("✗ Not quite") and TEXT_EN[f"prediction.{question}.hint"] in said
    shown = str(expected) if isinstance(expected, tuple) else f"{expected:g}"
    assert shown not in said.replace(str(wrong), ""), "a wrong prediction never shows the answer"
    assert _said(capsys, question, "no idea").startswith("?")
    assert _said(capsys, question, float("nan")).startswith("?")


def test_numbers_are_right_within_the_tolerance_only(capsys):
    factor = 10**12 / 1999**2  # lesson 1: about 2.5e5
    for value in (2.5e5, 250_000, torch.tensor(2.4e5), 3e5 * 0.9):
        assert _said(capsys, "l01-invariance-factor", value).startswith("✔")
    for value in (1e6, 4e6, 1e5, True):
        assert not _said(capsys, "l01-invariance-factor", value).startswith("✔")
    assert abs(QUESTIONS["l01-invariance-factor"].expected() - factor) < 1e-6
    assert not _said(capsys, "l02-nonzeros", 35).startswith("✔"), "counts are exact"
    assert _said(capsys, "l01-shifted-peak", [4, 4]).startswith("✔")
    assert _said(capsys, "l01-shifted-peak", (4.5, 4)).startswith("?")


def test_an_unknown_question_is_a_programming_error():
    with pytest.raises(ValueError, match="no prediction question"):
        check_prediction("l09-nothing", 1)


def test_the_expected_values_are_the_lessons_results():
    # Lesson 2, section 4: the 4x16 matrix of a 3x3 kernel (1..9) on a 4x4 input.
    K = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    M = F.conv2d(torch.eye(16).reshape(16, 1, 4, 4), K).reshape(16, 4).T
    assert QUESTIONS["l02-nonzeros"].expected() == int((M != 0).sum())
    # Lesson 2, section 5: an impulse at (2, 2) of a 5x5 image.
    impulse = torch.zeros(1, 1, 5, 5)
    impulse[0, 0, 2, 2] = 1
    assert QUESTIONS["l02-impulse"].expected() == float(F.conv2d(impulse, K)[0, 0, 0, 0])
    # Lesson 1: the pattern detector's peak moves with the pattern.
    pattern = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    X = torch.zeros(10, 10)
    X[4:7, 4:7] = pattern
    Y = F.conv2d(X[None, None], pattern[None, None])[0, 0]
    peak = divmod(int(torch.argmax(Y)), Y.shape[1])
    assert QUESTIONS["l01-shifted-peak"].expected() == peak


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_lessons_ask_each_question_once_before_a_revealing_cell():
    asked = {}
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        cells = _cells(path)
        for i, cell in enumerate(cells):
            source = "".join(cell["source"])
            for question, name in re.findall(r'check_prediction\("([\w-]+)", (\w+)\)', source):
                asked[question] = asked.get(question, 0) + 1
                before = "".join(cells[i - 1]["source"])
                assert cells[i - 1]["cell_type"] == "code" and f"{name} = None" in before
                assert path.parent.name.startswith(QUESTIONS[question].lesson)
                assert cells[i + 1]["cell_type"] == "code", "a cell that reveals the answer"
                assert not cell.get("metadata", {}).get("nbgrader"), "never graded"
    assert asked == {question: 1 for question in QUESTIONS}
