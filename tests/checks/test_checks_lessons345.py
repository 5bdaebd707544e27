"""The exercises added to lessons 03-05: correct answers in several styles pass on visible and
hidden cases, the expected values are the lessons' numbers, and the messages say what to do."""

from __future__ import annotations

import pytest
import torch
from impls_lessons345 import CORRECT_LESSONS345, diagonal_edge_responses, lr_limit

import convcourse.checks as checks
from convcourse.checks import EXERCISES, CheckFailed
from convcourse.images import diagonal_edge_image, edge_image

CORRECT = [(e, fn) for e, fns in CORRECT_LESSONS345.items() for fn in fns]


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
@pytest.mark.parametrize(
    "exercise_id, answer", CORRECT, ids=[f"{e}:{fn.__name__}" for e, fn in CORRECT]
)
def test_correct_answers_pass(exercise_id, answer, seed):
    ex = EXERCISES[exercise_id]
    outcome = ex.run({ex.symbols[0]: answer}, seed=seed, hidden=seed is not None)
    assert outcome.verdict.passed, outcome.verdict.message
    assert outcome.verdict.message.startswith("✔")


def test_every_added_exercise_belongs_to_its_lesson():
    lessons = checks.LESSON_EXERCISES
    assert {"input-grad", "receptive-field"} <= set(lessons["03_conv_layer"])
    assert {"diagonal-edges", "integral-kernel"} <= set(lessons["04_kernels_as_detectors"])
    assert "lr-limit" in lessons["05_learning_a_kernel"]
    assert set(CORRECT_LESSONS345) <= set(EXERCISES)


def test_the_6x8_problem_has_curvatures_12_and_60_and_limit_one_thirtieth():
    # Lesson 5 says so in words: AᵀA = [[18, 12], [12, 18]], H = 2AᵀA has eigenvalues 12 and 60.
    X = edge_image().double()
    A = X.unfold(0, 1, 1).unfold(1, 2, 1).reshape(-1, 2)
    assert torch.equal(A.T @ A, torch.tensor([[18.0, 12.0], [12.0, 18.0]], dtype=torch.float64))
    assert torch.allclose(torch.linalg.eigvalsh(2 * A.T @ A), torch.tensor([12.0, 60.0]).double())
    lesson = [c for c in EXERCISES["lr-limit"].cases() if c.kind == "lr_lesson"]
    assert len(lesson) == 1
    assert lr_limit(lesson[0].data["X"], lesson[0].data["kernel_shape"]) == pytest.approx(1 / 30)


def test_gradient_descent_really_diverges_just_above_the_limit():
    # The closed form the lesson teaches: the error along the steep direction is multiplied by
    # 1 - lr * 60 per step.  At 0.03 training converges, at 0.034 it ends above where it started.
    F = torch.nn.functional
    X = edge_image().double()[None, None]
    Y = F.conv2d(X, torch.tensor([[[[1.0, -1.0]]]], dtype=torch.float64))

    def losses(lr, steps=40):
        K = torch.tensor([[[[0.0, 0.5]]]], dtype=torch.float64, requires_grad=True)
        out = []
        for _ in range(steps):
            loss = ((F.conv2d(X, K) - Y) ** 2).sum()
            (grad,) = torch.autograd.grad(loss, K)
            K = (K - lr * grad).detach().requires_grad_(True)
            out.append(float(loss.detach()))
        return out

    converging, diverging = losses(0.03), losses(0.034)
    assert converging[-1] < 1e-3 * converging[0]
    assert diverging[-1] > diverging[0]
    assert min(diverging) < diverging[0] / 2  # it falls first (the flat direction), then grows


def test_the_diagonal_answer_matches_a_correlation_of_the_lesson_image():
    # The hand-built answer is what the library computes on images.diagonal_edge_image.
    for n in (2, 5, 8):
        X = diagonal_edge_image(n)[None, None]
        K = torch.tensor([[[[1.0, -1.0]]]])
        library = (
            torch.nn.functional.conv2d(X, K)[0, 0],
            torch.nn.functional.conv2d(X.transpose(2, 3), K)[0, 0],
            torch.nn.functional.conv2d(X, K.transpose(2, 3))[0, 0],
        )
        for mine, theirs in zip(diagonal_edge_responses(n), library, strict=True):
            assert torch.equal(mine, theirs)


def test_messages_name_the_case_and_the_rule_without_giving_the_answer():
    def sums(kernel_shapes):
        return (sum(h for h, _ in kernel_shapes), sum(w for _, w in kernel_shapes))

    with pytest.raises(CheckFailed) as info:
        checks.check_receptive_field(sums)
    text = str(info.value)
    assert "rf_no_overlap" in text and "Your answer is the sum of the kernel sizes." in text

    def never_averages(m, average=False):
        return torch.ones((1, m))

    with pytest.raises(CheckFailed) as info:
        checks.check_integral_kernel(never_averages, seed=4, hidden=True)
    assert info.value.misconception == "integral_scale"
    assert "On a hidden case" in str(info.value)


def test_the_kernel_1d_message_gives_no_kernel_of_the_lesson():
    with pytest.raises(CheckFailed) as info:
        checks.check_horizontal_edge_kernel(torch.tensor([1.0, -1.0]))
    text = str(info.value)
    assert info.value.misconception == "kernel_1d"
    assert "[[1], [-1]]" not in text and "[[1, -1]]" not in text
    assert "torch.tensor([[a], [b]])" in text


@pytest.mark.parametrize(
    "value",
    [float("nan"), "0.03", [0.03], torch.tensor([0.03, 0.04])],
    ids=["nan", "text", "list", "two-values"],
)
def test_lr_limit_needs_one_finite_number(value):
    with pytest.raises(CheckFailed) as info:
        checks.check_lr_limit(lambda X, kernel_shape: value)
    assert info.value.misconception in {"nan_output", "wrong_type"}


def test_lr_limit_accepts_a_one_element_tensor():
    def as_tensor(X, kernel_shape):
        return torch.tensor(lr_limit(X, kernel_shape))

    checks.check_lr_limit(as_tensor)
