"""Lesson 03, backpropagation through a cross-correlation: the gradient with respect to the input.

For ``L = Σ dY ⊙ (X ⋆ K)`` the input's gradient is the *full* convolution of ``dY`` with ``K``:
the cross-correlation of ``dY``, padded with ``k − 1`` zeros on every side, with ``K`` flipped.
The judge computes it with the library's cross-correlation (``convcourse.oracle``) and names
the usual mistakes: the kernel not flipped, the valid part only, height and width swapped.
"""

from __future__ import annotations

from functools import partial

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.correlation import probe_correlation
from convcourse.checks.inputs import by_size, shape_tags, small_ints
from convcourse.checks.messages import t
from convcourse.checks.render import shape_text
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.oracle import xcorr2d

__all__ = ["INPUT_GRAD", "check_input_grad"]

SECTION = "grad"
_NAMES = ("dY", "K")


def _cases(seed, hidden):
    gen, rnd = case_random(seed, "input-grad")
    if hidden:
        geometry = [
            ("one_by_one", (rnd.randint(2, 3), rnd.randint(2, 4)), (1, 1)),
            ("grad_small", (rnd.randint(2, 3), rnd.randint(2, 3)), (2, 2)),
            ("grad_wide", (rnd.randint(2, 4), rnd.randint(4, 6)), (1, rnd.randint(2, 3))),
            ("grad_tall", (rnd.randint(3, 5), rnd.randint(2, 3)), (rnd.randint(2, 3), 2)),
            ("grad_square", (3, 3), (3, 3)),
        ]
    else:
        geometry = [
            ("one_by_one", (2, 3), (1, 1)),
            ("grad_small", (2, 2), (2, 2)),
            ("grad_wide", (3, 5), (1, 3)),
            ("grad_tall", (4, 2), (3, 2)),
            ("grad_square", (3, 3), (3, 3)),
        ]
    cases = []
    for kind, dY_shape, K_shape in geometry:
        dY = small_ints(gen, dY_shape, -2, 3)
        K = small_ints(gen, K_shape, -3, 5)
        while K.numel() > 1 and torch.equal(K, torch.flip(K, (0, 1))):
            K = small_ints(gen, K_shape, -3, 5)  # a flipped kernel must look different
        n = (dY_shape[0] + K_shape[0] - 1, dY_shape[1] + K_shape[1] - 1)
        cases.append(Case(kind, {"dY": dY, "K": K}, shape_tags(n, K_shape)))
    return by_size(cases)


def _padded(dY: torch.Tensor, k_h: int, k_w: int) -> torch.Tensor:
    """``dY`` with ``k_h − 1`` rows and ``k_w − 1`` columns of zeros added on every side."""
    o_h, o_w = dY.shape
    out = torch.zeros((o_h + 2 * (k_h - 1), o_w + 2 * (k_w - 1)), dtype=torch.float64)
    out[k_h - 1 : k_h - 1 + o_h, k_w - 1 : k_w - 1 + o_w] = dg.as_float(dY)
    return out


def _expected(dY: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """∂L/∂X for L = Σ dY ⊙ (X ⋆ K): the padded dY cross-correlated with the flipped K."""
    k_h, k_w = K.shape
    return xcorr2d(_padded(dY, k_h, k_w), torch.flip(dg.as_float(K), (0, 1)))


def _judge(case, obs):
    symbol = "input_grad"
    problem = dg.callable_problem(obs, symbol, section=SECTION)
    if problem:
        return problem
    dY, K = case.data["dY"], case.data["K"]
    context = dg.case_text(case, list(_NAMES))
    problem = dg.call_problem(obs["call"], symbol, context=context, section=SECTION)
    if problem:
        return problem
    expected = _expected(dY, K)
    out = obs["output"]
    problem = dg.output_problem(out, symbol, context=context, section=SECTION, expected=expected)
    problem = problem or dg.modified_problem(
        obs["modified"], symbol, context=context, section=SECTION
    )
    if problem:
        return problem
    got = out["tensor"]
    shown = context + "\n" + dg.expected_got(expected, got)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", shown, section=SECTION)
    want = tuple(expected.shape)
    if tuple(got.shape) != want:
        g = tuple(int(s) for s in got.shape)
        valid = (dY.shape[0] - K.shape[0] + 1, dY.shape[1] - K.shape[1] + 1)
        detail = t("detail.shape_other", got=shape_text(g), want=shape_text(want))
        if g in {tuple(dY.shape), valid}:
            key = "grad_not_full"
        elif g == want[::-1]:
            key = "swapped_hw"
        else:
            key = "wrong_shape"
        return Verdict.failure(key, shown + "\n" + detail, section=SECTION)
    if dg.same(got, expected):
        return Verdict.ok()
    k_h, k_w = K.shape
    unflipped = xcorr2d(_padded(dY, k_h, k_w), dg.as_float(K))
    if dg.same(got, unflipped):
        return Verdict.failure(
            "input_grad_unflipped",
            shown + "\n" + t("detail.grad_unflipped"),
            section=SECTION,
            expected=expected,
            got=got,
        )
    if want[0] == want[1] and dg.same(got, expected.T) and not dg.same(expected, expected.T):
        return Verdict.failure(
            "swapped_hw", shown + "\n" + t("detail.values_transposed"), section=SECTION
        )
    return Verdict.failure(
        "wrong_values",
        shown + "\n" + t("detail.input_grad_values"),
        section=SECTION,
        expected=expected,
        got=got,
    )


INPUT_GRAD = Exercise(
    id="input-grad",
    lesson=SECTION,
    symbols=("input_grad",),
    make_cases=_cases,
    probe_case=partial(probe_correlation, symbol="input_grad", names=_NAMES),
    judge_case=_judge,
    time_limit=10.0,
    check_name="check_input_grad",
    forbids=EXERCISE_RULES["input-grad"],
)


def check_input_grad(input_grad, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``input_grad(dY, K)``: dL/dX for L = sum(dY * corr2d(X, K)), computed by hand."""
    check(INPUT_GRAD, {"input_grad": input_grad}, seed=seed, hidden=hidden)
