"""Lesson 04, the kernel of an integral (d2l-zh's exercise): a running sum or a running average.

``integral_kernel(m, average)`` returns the one-row kernel with which corr2d adds up (or
averages) the m neighbouring pixels x[i, j], …, x[i, j + m − 1] of every row.  The judge looks at
the kernel's response on a random image and names the usual mistakes: a column instead of a row,
a square window, one pixel too many or too few, the sum where the average was asked (or back).
"""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.inputs import small_ints
from convcourse.checks.messages import t
from convcourse.checks.render import named_block, shape_text
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.oracle import xcorr2d

__all__ = ["INTEGRAL_KERNEL", "check_integral_kernel"]

SECTION = "detectors"


def _cases(seed, hidden):
    gen, rnd = case_random(seed, "integral-kernel")
    if hidden:
        ms = rnd.sample(range(2, 10), 4)
        pairs = [(ms[0], False), (ms[1], False), (ms[2], True), (ms[3], True)]
    else:
        pairs = [(1, False), (3, False), (2, True), (4, True)]
    cases = []
    for m, average in pairs:
        # A test image: each row of the response is checked against the row's running sums.
        X = small_ints(gen, (3, m + 4), 0, 10)
        kind = "running_average" if average else "running_sum"
        cases.append(Case(kind, {"m": m, "average": average, "X": X}))
    return cases


def _probe(objs, case, limit):
    fn = objs["integral_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, case.data["m"], case.data["average"], limit=limit)
    return {"call": call.facts(), "output": describe(call.value)}


def _running(X: torch.Tensor, m: int, average: bool) -> torch.Tensor:
    """The running sums (or averages) of m neighbours along each row, without a kernel."""
    windows = dg.as_float(X).unfold(1, m, 1)
    return windows.mean(-1) if average else windows.sum(-1)


def _judge(case, obs):
    symbol = "integral_kernel"
    problem = dg.callable_problem(obs, symbol, section=SECTION)
    if problem:
        return problem
    m, average, X = case.data["m"], case.data["average"], case.data["X"]
    context = t("detail.case_call", label=case.label, call=f"{symbol}({m}, {average})")
    problem = dg.call_problem(obs["call"], symbol, context=context, section=SECTION)
    out = obs["output"]
    problem = problem or dg.output_problem(
        out, symbol, context=context, section=SECTION, want="kernel"
    )
    if problem:
        return problem
    K = dg.as_float(out["tensor"])
    shown = context + "\n" + "\n".join(named_block(symbol, K))
    if K.dim() != 2 or K.numel() == 0:
        detail = t("detail.kernel_not_2d", symbol=symbol, shape=shape_text(K.shape))
        key = "kernel_1d" if K.dim() == 1 else "wrong_shape"
        return Verdict.failure(key, shown + "\n" + detail, section=SECTION)
    if dg.nonfinite(K):
        return Verdict.failure("nan_output", shown, section=SECTION)
    if tuple(K.shape) != (1, m):
        detail = t("detail.shape_other", got=shape_text(K.shape), want=shape_text((1, m)))
        if tuple(K.shape) == (m, 1):
            key = "integral_wrong_axis"
        elif tuple(K.shape) == (m, m):
            key = "integral_box"
        elif K.shape[0] == 1 and abs(K.shape[1] - m) == 1:
            key = "integral_window_length"
        else:
            key = "wrong_shape"
        return Verdict.failure(key, shown + "\n" + detail, section=SECTION)
    want = _running(X, m, average)
    got = xcorr2d(dg.as_float(X), K)
    if dg.same(got, want):
        return Verdict.ok()
    shown += "\n" + dg.case_text(case, ["X"]) + "\n" + dg.expected_got(want, got)
    if m > 1 and dg.same(got, _running(X, m, not average)):
        other = "detail.integral_sum_not_mean" if average else "detail.integral_mean_not_sum"
        return Verdict.failure("integral_scale", shown + "\n" + t(other), section=SECTION)
    return Verdict.failure(
        "wrong_values", shown + "\n" + t("detail.integral_values"), section=SECTION
    )


INTEGRAL_KERNEL = Exercise(
    id="integral-kernel",
    lesson=SECTION,
    symbols=("integral_kernel",),
    make_cases=_cases,
    probe_case=_probe,
    judge_case=_judge,
    time_limit=5.0,
    check_name="check_integral_kernel",
    forbids=EXERCISE_RULES["integral-kernel"],
)


def check_integral_kernel(integral_kernel, *, seed: int | None = None, hidden: bool = False):
    """Check ``integral_kernel(m, average)``: the 1×m kernel of a running sum (or average)."""
    check(INTEGRAL_KERNEL, {"integral_kernel": integral_kernel}, seed=seed, hidden=hidden)
