"""Every named misconception: a deliberately wrong answer proves that the check names it."""

from __future__ import annotations

import pytest
from checks_impls import WRONG

import convcourse.checks as checks
from convcourse.checks import EXERCISES, MISCONCEPTION_KEYS, CheckFailed
from convcourse.checks.messages import misconception
from convcourse.checks.render import matrix_lines, shape_text

# The mistakes the issue lists, by catalogue key.
ISSUE_MISCONCEPTIONS = {
    "flipped_kernel",  # true convolution instead of cross-correlation
    "off_by_one",  # output shape n - k or n - k + 2
    "swapped_hw",  # height and width swapped
    "square_only",  # only works for square inputs or kernels
    "hardcoded_example",  # hard-coded to the 6x8 example
    "int_truncation",  # an integer image in, a truncated output out
    "modified_input",  # in place
    "not_a_tensor",  # a numpy array or a list instead of a tensor
    "wrong_device",
    "missing_bias",
    "bias_shape",
    "not_parameter",  # weight or bias absent from parameters()
    "breaks_autograd",  # detach, .item(), numpy round trip, torch.no_grad
    "no_zero_grad",
    "wrong_direction",
    "diverges",
    "index_mapping",  # k = i - a instead of k = i + a
    "library_conv",  # F.conv2d / nn.Conv2d where your own code is asked for
}

# Keys exercised by test_checks_robustness.py rather than by a wrong answer in WRONG.
ROBUSTNESS_KEYS = {
    "raised",
    "timeout",
    "not_implemented",
    "not_defined",
    "wrong_type",
    "returned_none",
    "nan_output",
    "internal_error",
    "too_slow",
    "wrong_shape",
    "wrong_values",
}


def _check_function(exercise_id: str):
    return getattr(checks, EXERCISES[exercise_id].check_name)


@pytest.mark.parametrize("wrong", WRONG, ids=lambda w: w.name)
def test_check_names_the_misconception(wrong):
    hidden = wrong.seed is not None
    with pytest.raises(CheckFailed) as info:
        _check_function(wrong.exercise)(*wrong.objs.values(), seed=wrong.seed, hidden=hidden)
    failure = info.value
    assert failure.misconception == wrong.key, str(failure)
    assert misconception(wrong.key).title in str(failure)
    assert failure.verdict.misconception == wrong.key
    # IPython shows this instead of a traceback into convcourse.
    lines = failure._render_traceback_()
    assert lines[0] == "CheckFailed:"
    assert any(misconception(wrong.key).title in line for line in lines)


def test_every_issue_misconception_has_a_wrong_answer():
    named = {w.key for w in WRONG}
    assert ISSUE_MISCONCEPTIONS <= named, ISSUE_MISCONCEPTIONS - named


def test_every_catalogue_key_is_exercised():
    named = {w.key for w in WRONG} | ROBUSTNESS_KEYS
    assert MISCONCEPTION_KEYS <= named, MISCONCEPTION_KEYS - named


def test_every_exercise_names_some_mistake():
    assert {w.exercise for w in WRONG} == set(EXERCISES)


def test_breaking_autograd_names_the_cause():
    from checks_impls import corr2d_item, corr2d_no_grad, corr2d_numpy_round_trip

    for fn, cause in (
        (corr2d_item, ".item()"),
        (corr2d_no_grad, "torch.no_grad()"),
        (corr2d_numpy_round_trip, ".numpy()"),
    ):
        with pytest.raises(CheckFailed) as info:
            checks.check_corr2d(fn)
        assert cause in str(info.value)


def test_failure_shows_the_smallest_failing_case_expected_and_got():
    from checks_impls import corr2d_flipped

    with pytest.raises(CheckFailed) as info:
        checks.check_corr2d(corr2d_flipped)
    text = str(info.value)
    assert "expected" in text and "got" in text
    assert "Why:" in text and "Hint:" in text and "Lesson 02" in text
    # The first failing case in size order is the one shown.
    outcome = EXERCISES["corr2d"].run({"corr2d": corr2d_flipped})
    failing = [c for c, v in zip(outcome.cases, outcome.verdicts, strict=True) if not v.passed]
    assert failing[0].label in text


def test_hidden_failure_names_the_mistake_but_shows_no_values():
    from checks_impls import corr2d_flipped

    with pytest.raises(CheckFailed) as info:
        checks.check_corr2d(corr2d_flipped, seed=3, hidden=True)
    text = str(info.value)
    assert "(hidden tests)" in text.splitlines()[0]
    assert info.value.misconception == "flipped_kernel"
    assert "On a hidden case" in text and "expected" not in text
    outcome = EXERCISES["corr2d"].run({"corr2d": corr2d_flipped}, seed=3, hidden=True)
    shown = [c for c in outcome.cases if c.label in text]
    assert shown
    for case in shown:  # the shapes are named, no row of values is printed
        assert f"X {shape_text(case.data['X'].shape)}" in text
        assert all(line.strip() not in text for line in matrix_lines(case.data["X"]))
    assert info.value.verdict.expected is None
